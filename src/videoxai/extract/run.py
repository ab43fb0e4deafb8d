"""The extract stage: decode in DataLoader workers, batch, infer, stream rows to Parquet.

The model is set up on the split by :func:`videoxai.setup.model_split.set_up`, as the explain stage sets it up.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

import videoxai
from videoxai.data.loader import make_loader
from videoxai.data.prompt_tuning_frames import PromptTuningTTA
from videoxai.data.splits import Sample
from videoxai.data.transforms import TTA, average_tta_logits
from videoxai.extract.predictions import PredictionWriter
from videoxai.io import atomic_path
from videoxai.models.base import InputSpec
from videoxai.progress import Progress
from videoxai.setup.classes import ClassMappingSource, ClassPlan
from videoxai.setup.device import autocast, compiled, precision_weights
from videoxai.setup.footprint import footprint_of_resolved
from videoxai.setup.model_split import ModelAndSplit, set_up
from videoxai.setup.resources import ExtractJob, extract_batch

log = logging.getLogger("videoxai.extract")


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
    class_mapping: ClassMappingSource | None = None,
    label_order: str = "standard",
    mem_mb: float | None = None,
    corruption_seed: int = 0,
) -> dict[str, Any]:
    """Write one Parquet row per clip of ``dataset``'s split; bad clips become error rows.

    ``options`` are the split variant's options (``split``, ``use-augmentation``,
    ``use-handcrafted-prompts``, ``num-temporal-views``: V temporal views per
    clip, None for the model's own ``input_spec.num_views``,
    ``num-spatial-views``: 1 or 3 crops of prompt-tuning models, None for the
    run's own; ``corruption``: ``{name, severity}`` of a corruption applied
    while decoding, its draws seeded by ``corruption_seed`` and each clip's
    id; see :meth:`videoxai.keys.SplitVariant.options`). ``mem_mb``,
    the job's memory budget, caps the clips per batch (up to ``batch_size``)
    where the model's footprint is known (:func:`memory_batch`). With V > 1 the
    model's ``forward`` gets ``(B, V, T, C, H, W)`` and combines the views
    (every built-in adapter averages their logits); test-time augmentation
    views are averaged here, as one ``(B x A, V, ...)`` call where the model's
    logits do not depend on its batch (else one ``(B, V, ...)`` call per
    augmentation), so the two combine as a mean over all A x V views. ``class_mapping`` ({test class:
    training class} or a CSV file) lets a closed-set model be evaluated on
    another dataset: see :mod:`videoxai.setup.classes`. ``label_order``
    ``prompt-tuning`` reproduces prompt-tuning's UCF101 label order
    (:func:`videoxai.conventions.label_order`). ``precision`` (float32 unless
    the variant sets ``bfloat16`` or ``float16``) is the forward pass's
    autocast (:func:`videoxai.setup.device.autocast`), its linear and
    convolution weights cast once for the job rather than on every forward
    (:func:`videoxai.setup.device.precision_weights`: the same logits); the
    metadata records it. ``compile`` (the variant's ``+compiled``) runs the model
    through ``torch.compile`` (:func:`videoxai.setup.device.compiled`).
    """
    split = options["split"]
    precision = options.get("precision", "float32")
    autocast(torch.device("cpu"), precision)  # a bad value fails here, before the model loads
    setup = set_up(
        resolved_path,
        dataset,
        split,
        device=device,
        decoder=decoder,
        class_mapping=class_mapping,
        handcrafted_prompts=bool(options.get("use-handcrafted-prompts")),
        num_frames=num_frames,
        num_views=options.get("num-temporal-views"),
        label_order=label_order,
        spatial_views=options.get("num-spatial-views"),
    )
    model, dev, resolved, info, plan, spec = (
        setup.model,
        setup.device,
        setup.resolved,
        setup.info,
        setup.plan,
        setup.spec,
    )
    samples, unmapped = setup.samples, setup.unmapped
    _log_class_mapping(resolved["key"], plan, unmapped)
    tta = tta_for(spec) if options.get("use-augmentation") else None
    compile_model = bool(options.get("compile"))
    batch_size = memory_batch(setup, spec, batch_size, num_workers, tta, mem_mb, precision, compile_model)
    shift = options.get("corruption")
    corruption = (shift["name"], int(shift["severity"])) if shift else None
    loader = make_loader(
        samples,
        spec,
        batch_size=batch_size,
        num_workers=num_workers,
        decoder=setup.decoder,
        num_views=spec.num_views,
        tta=tta,
        corruption=corruption,
        corruption_seed=corruption_seed,
    )
    metadata = _metadata(setup, dataset, options, batch_size, tta, label_order)
    metadata["corruption"] = {**shift, "seed": int(corruption_seed)} if shift else None
    log.info(
        "extracting %d clips of %s/%s with %s on %s in %s%s (%d x %d views, %d clips per batch)",
        len(samples),
        dataset["name"],
        split,
        resolved["key"],
        dev,
        precision,
        ", compiled (the first batch of each size compiles for a minute or more)" if compile_model else "",
        spec.num_views,
        spec.spatial_views if spec.pipeline == "prompt-tuning" else 1,
        batch_size,
    )
    with atomic_path(out_path) as tmp:
        writer = PredictionWriter(tmp, len(plan.class_names), metadata)
        try:
            with (
                precision_weights(model, precision),
                torch.inference_mode(),
                autocast(dev, precision),
                compiled(model, compile_model, dev) as run,
            ):
                progress = Progress(len(samples), "extract", log)
                for batch in loader:
                    writer.write(_rows(run, batch, samples, plan, dev, tta is not None))
                    progress.update(len(batch["index"]))
                progress.finish()
            writer.write(_unmapped_rows(unmapped, plan))
        finally:
            writer.close()
    summary = {
        "clips": writer.rows,
        "errors": writer.errors,
        "unmapped": len(unmapped),
        "missing_on_disk": len(info.missing),
    }
    _warn_error_rows(writer.errors, writer.rows, plan, unmapped)
    log.info("wrote %s: %s", out_path, summary)
    return summary


def _log_class_mapping(key: str, plan: ClassPlan, unmapped: Sequence[Sample]) -> None:
    """Say how a closed-set model's own classes answer the test classes (nothing without a class mapping)."""
    if plan.mapping is None:
        return
    log.info(
        "%s answers with its own %d classes: %d test classes mapped, %d without a training class (%d clips "
        "become error rows)",
        key,
        len(plan.class_names),
        len(plan.mapping),
        len(plan.unmapped),
        len(unmapped),
    )


def _metadata(
    setup: ModelAndSplit,
    dataset: dict[str, Any],
    options: dict[str, Any],
    batch_size: int,
    tta: TTA | PromptTuningTTA | None,
    label_order: str,
) -> dict[str, Any]:
    """The Parquet file's metadata: what the predictions are of, and every setting that made them."""
    plan, spec, resolved = setup.plan, setup.spec, setup.resolved
    return {
        **plan.to_metadata(),
        "num_temporal_views": spec.num_views,
        "num_spatial_views": spec.spatial_views,
        "batch_size": batch_size,
        "class_names": plan.class_names,
        "model_key": resolved["key"],
        "checkpoint_sha256": resolved["sha256"],
        "dataset": dataset["name"],
        "dataset_format": dataset["format"],
        "split": options["split"],
        "options": options,
        "tta": tta.to_dict() if tta else None,
        "decoder": setup.decoder,
        "label_order": label_order,
        "missing_on_disk": len(setup.info.missing),
        "input_spec": spec.to_dict(),
        "precision": options.get("precision", "float32"),
        "compiled": bool(options.get("compile")),
        "videoxai_version": videoxai.__version__,
    }


def _warn_error_rows(errors: int, rows: int, plan: ClassPlan, unmapped: Sequence[Sample]) -> None:
    """One warning for clips that could not be decoded, one for clips of test classes the mapping leaves out."""
    if errors > len(unmapped):
        log.warning("%d of %d clips could not be decoded (status=error rows)", errors - len(unmapped), rows)
    if unmapped:
        log.warning(
            "%d clips of %d test classes have no training class in the class mapping (status=error rows): %s",
            len(unmapped),
            len(plan.unmapped),
            ", ".join(plan.unmapped[:10]),
        )


def memory_batch(
    setup: ModelAndSplit,
    spec: InputSpec,
    batch_size: int,
    num_workers: int,
    tta: TTA | PromptTuningTTA | None,
    mem_mb: float | None,
    precision: str = "float32",
    compile_model: bool = False,
) -> int:
    """Clips per batch: ``batch_size``, or fewer where the estimate at ``batch_size`` passes ``mem_mb``.

    The estimate is :mod:`videoxai.setup.resources`' (the one the rule declared
    ``mem_mb`` with); a model whose logits depend on its batch (``stt``) keeps
    ``batch_size``, and so does a model without a known footprint.
    """
    fp = footprint_of_resolved(setup.resolved) if mem_mb else None
    if fp is None:
        return batch_size
    fp = fp.with_views(spec.num_views, spec.spatial_views if spec.pipeline == "prompt-tuning" else 1)
    fp = fp.with_frames(spec.num_frames)
    job = ExtractJob(
        batch_size,
        fp.temporal_views,
        fp.spatial_views,
        num_workers,
        len(setup.plan.class_names),
        tta.num_views if tta is not None else 1,
        precision != "float32",
        compile_model,
    )
    chosen = extract_batch(fp, job, float(mem_mb))
    if chosen < batch_size:
        log.info("%d clips per batch (batch-size %d) fit the job's mem_mb %d", chosen, batch_size, mem_mb)
    return chosen


def tta_for(spec: InputSpec) -> TTA | PromptTuningTTA:
    """What ``use-augmentation`` means for a model: prompt-tuning's augmentation set for prompt-tuning models, else TTA().

    Prompt-tuning models (``pipeline='prompt-tuning'``) average their logits over the clean
    clip, its horizontal flip and a Gaussian blur (kernel 5, sigma 1): the
    deterministic settings of prompt-tuning's augmentation evaluations
    (:data:`~videoxai.data.prompt_tuning_frames.PROMPT_TUNING_TTA_SET`). Other models get
    three crops and their flips.
    """
    return PromptTuningTTA() if spec.pipeline == "prompt-tuning" else TTA()


def _rows(model, batch, samples, plan: ClassPlan, dev, tta: bool) -> dict[str, list[Any]]:
    k = len(plan.class_names)
    status = list(batch["status"])
    ok = torch.tensor([s == "ok" for s in status])
    logits = np.full((len(status), k), np.nan, dtype=np.float32)
    if ok.any():
        video = batch["video"][ok].to(dev, non_blocking=True)
        together = getattr(model, "batch_independent", True)
        out = average_tta_logits(model, video, together) if tta else model(video)
        logits[ok.numpy()] = out.float().cpu().numpy()
    probs = torch.from_numpy(logits).softmax(dim=1)
    conf, pred = probs.max(dim=1)
    idx = [int(i) for i in batch["index"]]
    return {
        "sample_id": [samples[i].sample_id for i in idx],
        "label": [plan.label_index[samples[i].label] for i in idx],
        "label_name": [plan.test_class_names[samples[i].label] for i in idx],
        "pred": [int(p) if o else -1 for p, o in zip(pred.tolist(), ok.tolist())],
        "confidence": [float(c) if o else float("nan") for c, o in zip(conf.tolist(), ok.tolist())],
        "logits": logits,
        "frame_indices": [np.asarray(f, dtype=np.int64).reshape(-1).tolist() for f in batch["frame_indices"]],
        "padded": [bool(p) for p in batch["padded"]],
        "status": status,
        "error": [e or None for e in batch["error"]],
    }


def _unmapped_rows(samples: list[Sample], plan: ClassPlan) -> dict[str, list[Any]]:
    """Error rows for clips whose test class has no training class: kept, never decoded."""
    n = len(samples)
    return {
        "sample_id": [s.sample_id for s in samples],
        "label": [-1] * n,
        "label_name": [plan.test_class_names[s.label] for s in samples],
        "pred": [-1] * n,
        "confidence": [float("nan")] * n,
        "logits": np.full((n, len(plan.class_names)), np.nan, dtype=np.float32),
        "frame_indices": [[] for _ in samples],
        "padded": [False] * n,
        "status": ["error"] * n,
        "error": [
            f"test class {plan.test_class_names[s.label]!r} has no training class in the class mapping" for s in samples
        ],
    }
