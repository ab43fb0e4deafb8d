"""The explain stage: heatmaps for the selected clips, batched, written to ``heatmaps.safetensors``.

``explain_selection`` works on a model and samples already in memory (tests,
notebooks); ``explain_stage`` is what the workflow's rule script calls: it
resolves the model and the dataset split from files, then delegates.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from videoxai.data.datasets import Sample
from videoxai.data.loader import make_loader
from videoxai.explain.base import finalise
from videoxai.explain.methods import effective_options, make_explainer
from videoxai.explain.store import HeatmapSet, save_heatmaps
from videoxai.models.base import InputSpec, VideoClassifier

log = logging.getLogger("videoxai.explain")


def selected_samples(selection: dict[str, Any], samples: Sequence[Sample]) -> list[Sample]:
    """The samples the selection names, in its order; a missing one is an error naming it."""
    by_id = {s.sample_id: s for s in samples}
    missing = [c["sample_id"] for c in selection["clips"] if c["sample_id"] not in by_id]
    if missing:
        raise ValueError(
            f"{len(missing)} selected clips are not in the dataset split (first: {missing[0]!r}); "
            "the selection was made from another dataset or split: rerun the select step"
        )
    return [by_id[c["sample_id"]] for c in selection["clips"]]


def explain_selection(
    model: VideoClassifier,
    selection: dict[str, Any],
    samples: Sequence[Sample],
    method: str,
    options: dict[str, Any] | None,
    out_path: str | os.PathLike[str],
    batch_size: int = 8,
    *,
    num_workers: int = 0,
    spec: InputSpec | None = None,
) -> HeatmapSet:
    """Explain every selected clip with ``method`` and write ``out_path`` (heatmaps.safetensors).

    Clips are decoded by the data loader (``return_frames=True``: the stored
    frames are exactly what the model saw), explained a batch at a time, and
    only the reduced maps are kept. Returns what was written.
    """
    options = dict(options or {})
    used = effective_options(method, options)
    explainer = make_explainer(method, model, options)
    chosen = selected_samples(selection, samples)
    spec = spec or model.input_spec
    device = next(model.parameters()).device
    model.eval()
    names = list(model.class_names)
    n = len(chosen)
    maps: list[np.ndarray | None] = [None] * n
    importance: list[np.ndarray | None] = [None] * n
    frames: list[np.ndarray | None] = [None] * n
    clips: list[dict[str, Any] | None] = [None] * n
    loader = make_loader(chosen, spec, batch_size=batch_size, num_workers=num_workers, return_frames=True)
    for batch in loader:
        bad = [(int(i), e) for i, s, e in zip(batch["index"], batch["status"], batch["error"]) if s != "ok"]
        if bad:
            i, err = bad[0]
            raise RuntimeError(f"selected clip {chosen[i].sample_id!r} could not be decoded: {err}")
        labels = batch["label"].to(device)
        expl = explainer.explain(batch["video"].to(device, non_blocking=True), labels, used["target-class"])
        batch_maps, batch_ti, probs = finalise(expl, used["weighted-by-predictions"])
        for j, i in enumerate(batch["index"].tolist()):
            sel = selection["clips"][i]
            target, pred = int(expl.targets[j]), int(probs[j].argmax())
            maps[i] = batch_maps[j].cpu().numpy().astype(np.float16)
            importance[i] = batch_ti[j].cpu().numpy().astype(np.float32)
            frames[i] = batch["frames"][j].numpy()
            clips[i] = {
                "sample_id": chosen[i].sample_id,
                "class_index": int(sel["class_index"]),
                "class_name": sel["class_name"],
                "sample_index": int(sel["sample_index"]),
                "label": int(batch["label"][j]),
                "target": target,
                "target_name": names[target],
                "target_probability": float(probs[j, target]),
                "pred": pred,
                "pred_name": names[pred],
                "confidence": float(probs[j, pred]),
                "frame_indices": [int(f) for f in batch["frame_indices"][j]],
            }
        log.info("explained %d/%d clips", sum(c is not None for c in clips), n)
    hs = HeatmapSet(
        heatmaps=_stack(maps, np.float16),
        temporal_importance=_stack(importance, np.float32),
        frames=_stack(frames, np.uint8),
        clips=[c for c in clips if c is not None],
        params={**options, **used, "method": method, "input_spec": spec.to_dict()},
    )
    save_heatmaps(out_path, hs)
    return hs


def _stack(items: list[np.ndarray | None], dtype: type) -> np.ndarray:
    if not items:
        return np.zeros((0,), dtype=dtype)
    return np.stack([x for x in items if x is not None]).astype(dtype, copy=False)


def explain_stage(
    resolved_path: str | os.PathLike[str],
    selection_path: str | os.PathLike[str],
    dataset: dict[str, Any],
    method: str,
    options: dict[str, Any],
    out_path: str | os.PathLike[str],
    batch_size: int = 8,
    num_workers: int = 0,
    device: str = "auto",
) -> HeatmapSet:
    """The workflow's explain job: load the resolved model and the split, then :func:`explain_selection`."""
    from videoxai.data.datasets import load_split
    from videoxai.extract.device import pick_device
    from videoxai.extract.run import ask_about, model_input_spec
    from videoxai.io import read_json
    from videoxai.models.resolve import load_resolved

    selection = read_json(selection_path)
    dev = pick_device(device)
    model = load_resolved(read_json(resolved_path)).to(dev).eval()
    split = options.get("split", selection.get("split") or "test")
    class_names, samples = load_split(dataset["format"], dataset["root"], split, split_id=dataset.get("split-id", 1))
    ask_about(model, class_names)
    if selection.get("class_names") not in (None, class_names):
        raise ValueError("the selection was made for another class list than the dataset's: rerun the select step")
    spec = model_input_spec(model, options.get("num-frames"))
    log.info("explaining %d clips with %s on %s", len(selection["clips"]), method, dev)
    return explain_selection(
        model, selection, samples, method, options, out_path, batch_size, num_workers=num_workers, spec=spec
    )
