"""The extract stage: decode in DataLoader workers, batch, infer, stream rows to Parquet."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

import videoxai
from videoxai.data.datasets import load_split_info
from videoxai.data.loader import make_loader
from videoxai.data.transforms import TTA, average_tta_logits
from videoxai.extract.device import autocast, pick_device
from videoxai.extract.predictions import PredictionWriter
from videoxai.io import atomic_path, read_json
from videoxai.models.base import VideoClassifier
from videoxai.models.resolve import load_resolved

log = logging.getLogger("videoxai.extract")


def ask_about(model: VideoClassifier, class_names: list[str]) -> None:
    """Make the model score the test dataset's classes (the seed's transfer analysis)."""
    if list(model.class_names) == list(class_names):
        return
    if hasattr(model, "set_class_names"):
        model.set_class_names(class_names)
        return
    raise ValueError(
        f"the model knows {len(model.class_names)} classes ({', '.join(model.class_names[:5])}, ...) but the test "
        f"dataset has {len(class_names)} ({', '.join(class_names[:5])}, ...); this model has a closed-set head "
        "and cannot take new class names: evaluate it on its training dataset or configure a class-name mapping"
    )


def model_input_spec(model: VideoClassifier, num_frames: int | None):
    spec = model.input_spec
    if num_frames is None or num_frames == spec.num_frames:
        return spec
    if getattr(model, "fixed_num_frames", True):
        raise ValueError(
            f"config 'num-frames: {num_frames}' but this model takes exactly {spec.num_frames} frames; "
            f"set num-frames to {spec.num_frames}"
        )
    return dataclasses.replace(spec, num_frames=num_frames)


def extract_predictions(
    resolved_path: str | os.PathLike[str],
    dataset: dict[str, Any],
    out_path: str | os.PathLike[str],
    *,
    options: dict[str, Any],
    batch_size: int = 16,
    num_workers: int = 2,
    num_frames: int | None = None,
    device: str = "auto",
    decoder: str = "auto",
) -> dict[str, Any]:
    """Write one Parquet row per clip of ``dataset``'s split; bad clips become error rows."""
    resolved = read_json(resolved_path)
    dev = pick_device(device)
    model = load_resolved(resolved).to(dev).eval()
    split = options["split"]
    info = open_split(dataset, split)
    class_names, samples = info.class_names, info.samples
    ask_about(model, class_names)
    if options.get("use-handcrafted-prompts"):
        use_handcrafted_prompts(model)
    spec = model_input_spec(model, num_frames)
    tta = TTA() if options.get("use-augmentation") else None
    loader = make_loader(samples, spec, batch_size=batch_size, num_workers=num_workers, decoder=decoder, tta=tta)
    k = len(class_names)
    metadata = {
        "class_names": class_names,
        "model_key": resolved["key"],
        "checkpoint_sha256": resolved["sha256"],
        "dataset": dataset["name"],
        "dataset_format": dataset["format"],
        "split": split,
        "options": options,
        "tta": tta.to_dict() if tta else None,
        "decoder": decoder,
        "missing_on_disk": len(info.missing),
        "input_spec": spec.to_dict(),
        "videoxai_version": videoxai.__version__,
    }
    log.info("extracting %d clips of %s/%s with %s on %s", len(samples), dataset["name"], split, resolved["key"], dev)
    with atomic_path(out_path) as tmp:
        writer = PredictionWriter(tmp, k, metadata)
        try:
            with torch.inference_mode(), autocast(dev):
                for batch in tqdm(loader, desc="extract", unit="batch", mininterval=2.0):
                    writer.write(_rows(model, batch, samples, class_names, dev, k, tta is not None))
        finally:
            writer.close()
    summary = {"clips": writer.rows, "errors": writer.errors, "missing_on_disk": len(info.missing)}
    if writer.errors:
        log.warning("%d of %d clips could not be decoded (status=error rows)", writer.errors, writer.rows)
    log.info("wrote %s: %s", out_path, summary)
    return summary


def open_split(dataset: dict[str, Any], split: str):
    """The split's samples; dataset options beyond the common ones go to the format reader."""
    common = {"name", "format", "root", "split-id", "generate"}
    opts = {k: v for k, v in dataset.items() if k not in common}
    return load_split_info(dataset["format"], dataset["root"], split, dataset.get("split-id", 1), **opts)


def use_handcrafted_prompts(model: VideoClassifier) -> None:
    """The seed's `use-handcrafted-prompts`: a fixed template instead of learned context."""
    if not hasattr(model, "set_handcrafted_prompts"):
        raise ValueError(
            f"use-handcrafted-prompts is on, but {model.method or type(model).__name__} has no text prompts; "
            "turn the option off for this model"
        )
    model.set_handcrafted_prompts(True)


def _rows(model, batch, samples, class_names, dev, k, tta: bool) -> dict[str, list[Any]]:
    status = list(batch["status"])
    ok = torch.tensor([s == "ok" for s in status])
    logits = np.full((len(status), k), np.nan, dtype=np.float32)
    if ok.any():
        video = batch["video"][ok].to(dev, non_blocking=True)
        out = average_tta_logits(model, video) if tta else model(video)
        logits[ok.numpy()] = out.float().cpu().numpy()
    probs = torch.from_numpy(logits).softmax(dim=1)
    conf, pred = probs.max(dim=1)
    idx = [int(i) for i in batch["index"]]
    return {
        "sample_id": [samples[i].sample_id for i in idx],
        "label": [samples[i].label for i in idx],
        "label_name": [class_names[samples[i].label] for i in idx],
        "pred": [int(p) if o else -1 for p, o in zip(pred.tolist(), ok.tolist())],
        "confidence": [float(c) if o else float("nan") for c, o in zip(conf.tolist(), ok.tolist())],
        "logits": logits,
        "frame_indices": [np.asarray(f, dtype=np.int64).reshape(-1).tolist() for f in batch["frame_indices"]],
        "padded": [bool(p) for p in batch["padded"]],
        "status": status,
        "error": [e or None for e in batch["error"]],
    }
