"""The explain stage: heatmaps for the selected clips, batched, written to ``heatmaps.safetensors``.

``explain_selection`` works on a model and samples already in memory (tests,
notebooks); ``explain_stage`` is what the workflow's rule script calls: it
resolves the model and the dataset split from files, then delegates.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from videoxai.data.datasets import Sample
from videoxai.data.demo import mask_path
from videoxai.data.loader import make_loader
from videoxai.explain import evaluate as ev
from videoxai.explain.base import finalise
from videoxai.explain.gradcam import ZeroGradientError
from videoxai.explain.maps import upsample_bilinear
from videoxai.explain.methods import effective_options, make_explainer
from videoxai.explain.options import effective_convention
from videoxai.explain.store import HeatmapSet, save_heatmaps
from videoxai.extract.classes import ClassMappingSource, ClassPlan, plan_classes
from videoxai.models.base import InputSpec, VideoClassifier

log = logging.getLogger("videoxai.explain")

# Stage options (config names) beside the method's own: the model-based evaluation of the maps.
EVALUATION_OPTIONS: dict[str, Any] = {
    "evaluate": True,  # deletion/insertion AUCs and the cascading randomisation sanity check, per clip
    "deletion-steps": 16,
    "deletion-baseline": "mean",  # or "blur" (RISE's pair: delete to the mean, insert from a blur)
    "insertion-baseline": "blur",  # or "mean"
    "sanity-steps": 4,
    "evaluation-seed": 0,
}


def evaluation_options(options: dict[str, Any]) -> dict[str, Any]:
    out = dict(EVALUATION_OPTIONS)
    out.update({k.replace("_", "-"): v for k, v in options.items() if k.replace("_", "-") in out})
    if not isinstance(out["evaluate"], bool):
        raise ValueError(f"option evaluate must be true or false, got {out['evaluate']!r}")
    for key in ("deletion-steps", "sanity-steps"):
        if isinstance(out[key], bool) or not isinstance(out[key], int) or out[key] < 1:
            raise ValueError(f"option {key} must be a positive integer, got {out[key]!r}")
    for key in ("deletion-baseline", "insertion-baseline"):
        if out[key] not in ("blur", "mean"):
            raise ValueError(f"option {key} must be 'blur' or 'mean', got {out[key]!r}")
    return out


def selected_samples(selection: dict[str, Any], samples: Sequence[Sample]) -> dict[str, Sample]:
    """Every sample the selection names (mixed-in clips too), by id; a missing or relabelled one is an error.

    A plain clip's label in ``samples`` must be the class the selection chose
    it for: a clip whose class moved (another class list or class mapping
    than the predictions were made with) would otherwise be explained for
    the wrong class without a word.
    """
    by_id = {s.sample_id: s for s in samples}
    wanted = [c["sample_id"] for c in selection["clips"]] + [
        c["mix"]["sample_id"] for c in selection["clips"] if "mix" in c
    ]
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise ValueError(
            f"{len(missing)} selected clips are not in the dataset split (first: {missing[0]!r}); "
            "the selection was made from another dataset, split or class mapping: rerun the select step"
        )
    moved = [c for c in selection["clips"] if "mix" not in c and by_id[c["sample_id"]].label != c["class_index"]]
    if moved:
        c = moved[0]
        raise ValueError(
            f"{len(moved)} selected clips have another label in the dataset than in the selection (first: "
            f"{c['sample_id']!r}, selected as class {c['class_index']} {c['class_name']!r}, labelled "
            f"{by_id[c['sample_id']].label}); the selection was made with another class list or class mapping: "
            "rerun the extract and select steps"
        )
    return {w: by_id[w] for w in dict.fromkeys(wanted)}


def mapped_samples(samples: Sequence[Sample], plan: ClassPlan) -> list[Sample]:
    """The split's samples labelled by the model's class index (``plan.label_index``), as extraction labelled them.

    Clips of test classes without a training class are left out: they have
    no prediction, so the select step never chooses them. ``label_name``
    keeps the test dataset's own class name.
    """
    return [
        dataclasses.replace(s, label=plan.label_index[s.label]) for s in samples if plan.label_index[s.label] >= 0
    ]


class _Batch:
    """One batch of clips to explain: model input, the frames shown, and where each goes in the output."""

    def __init__(self, positions, video, frames, labels, frame_indices, samples, masks_ok, mix_extra=None):
        self.mix_extra: list[dict[str, Any]] = mix_extra or [{} for _ in positions]
        self.positions: list[int] = positions
        self.video: torch.Tensor = video
        self.frames: torch.Tensor = frames
        self.labels: torch.Tensor = labels
        self.frame_indices: torch.Tensor = frame_indices
        self.samples: list[Sample] = samples
        self.masks_ok: bool = masks_ok  # unmixed clips: their demo masks, if any, match the frames


def _plain_batches(selection, by_id, spec, batch_size, num_workers, decoder):
    """Unmixed clips, decoded by the loader's workers in selection order."""
    positions = [i for i, c in enumerate(selection["clips"]) if "mix" not in c]
    chosen = [by_id[selection["clips"][i]["sample_id"]] for i in positions]
    if not chosen:
        return
    for batch in make_loader(
        chosen, spec, batch_size=batch_size, num_workers=num_workers, return_frames=True, decoder=decoder, num_views=1
    ):
        _check_decoded(batch, chosen)
        idx = batch["index"].tolist()
        yield _Batch(
            [positions[i] for i in idx],
            batch["video"],
            batch["frames"],
            batch["label"],
            batch["frame_indices"],
            [chosen[i] for i in idx],
            True,
        )


def _mixed_batches(selection, by_id, spec, batch_size, num_workers, decoder):
    """VideoMix clips: both source clips decoded once, mixed here, labelled with the class each entry explains."""
    from videoxai.explain.mix import mix_region, videomix

    positions = [i for i, c in enumerate(selection["clips"]) if "mix" in c]
    if not positions:
        return
    ids = list(
        dict.fromkeys(
            x
            for i in positions
            for x in (selection["clips"][i]["sample_id"], selection["clips"][i]["mix"]["sample_id"])
        )
    )
    decoded: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
    sources = [by_id[x] for x in ids]
    for batch in make_loader(
        sources, spec, batch_size=batch_size, num_workers=num_workers, return_frames=True, decoder=decoder, num_views=1
    ):
        _check_decoded(batch, sources)
        for j, i in enumerate(batch["index"].tolist()):
            decoded[ids[i]] = (batch["video"][j], batch["frames"][j], batch["frame_indices"][j])
    for start in range(0, len(positions), batch_size):
        chunk = positions[start : start + batch_size]
        videos, frames, labels, fidx, extra = [], [], [], [], []
        for i in chunk:
            c = selection["clips"][i]
            base, other = decoded[c["sample_id"]], decoded[c["mix"]["sample_id"]]
            region = mix_region(spec.num_frames, spec.size, c["mix"]["mode"], c["mix"]["seed"])
            videos.append(videomix(base[0], other[0], region))
            frames.append(videomix(base[1], other[1], region))
            labels.append(int(c["class_index"]))
            fidx.append(base[2])
            extra.append({"frame_indices": [int(f) for f in other[2]]})
        yield _Batch(
            chunk,
            torch.stack(videos),
            torch.stack(frames),
            torch.tensor(labels),
            torch.stack(fidx),
            [by_id[selection["clips"][i]["sample_id"]] for i in chunk],
            False,
            extra,
        )


def _check_decoded(batch: dict[str, Any], samples: list[Sample]) -> None:
    bad = [(int(i), e) for i, s, e in zip(batch["index"], batch["status"], batch["error"], strict=True) if s != "ok"]
    if bad:
        i, err = bad[0]
        raise RuntimeError(f"selected clip {samples[i].sample_id!r} could not be decoded: {err}")


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
    decoder: str = "auto",
    conventions: str = "standard",
) -> HeatmapSet:
    """Explain every selected clip with ``method`` and write ``out_path`` (heatmaps.safetensors).

    Clips are decoded by the data loader (``return_frames=True``: the stored
    frames are exactly what the model saw), explained a batch at a time, and
    only the reduced maps are kept. VideoMix entries are explained for the
    class they name (``class_index``), whatever ``target-class`` says.
    ``conventions: seed`` explains with the origin's form of the method
    where it has one (:mod:`videoxai.explain.seed`); the file records the
    convention each map was made under (``params.conventions``).
    Returns what was written.
    """
    options = dict(options or {})
    convention = effective_convention(method, conventions)
    if convention != conventions:
        log.info("%s has no seed form (the origin lacks it): explained under the standard convention", method)
    used = effective_options(method, options, convention)
    evaluation = evaluation_options(options)
    explainer = make_explainer(method, model, options, convention)
    by_id = selected_samples(selection, samples)
    spec = spec or model.input_spec
    device = next(model.parameters()).device
    model.eval()
    names = list(model.class_names)
    n = len(selection["clips"])
    maps: list[np.ndarray | None] = [None] * n
    importance: list[np.ndarray | None] = [None] * n
    frames: list[np.ndarray | None] = [None] * n
    clips: list[dict[str, Any] | None] = [None] * n
    modules: list | None = None
    sanity_steps: list[list[str]] = []
    batches = [
        _plain_batches(selection, by_id, spec, batch_size, num_workers, decoder),
        _mixed_batches(selection, by_id, spec, batch_size, num_workers, decoder),
    ]
    for mixed, stream in enumerate(batches):
        target_mode = "true" if mixed else used["target-class"]
        for b in stream:
            video = b.video.to(device, non_blocking=True)
            expl = explainer.explain(video, b.labels.to(device), target_mode)
            batch_maps, batch_ti, probs = finalise(expl, used["weighted-by-predictions"], convention)
            scores: list[dict[str, Any]] = [{} for _ in b.positions]
            if evaluation["evaluate"]:
                if modules is None:
                    modules = ev.parameterised_modules(model, video)
                masks = _masks_if_any(b.samples, b.frame_indices, spec.size) if b.masks_ok else None
                scores, sanity_steps = _evaluate_batch(
                    model, method, options, evaluation, video, expl, modules, masks, convention
                )
            for j, i in enumerate(b.positions):
                sel = selection["clips"][i]
                target, pred = int(expl.targets[j]), int(probs[j].argmax())
                maps[i] = batch_maps[j].cpu().numpy().astype(np.float16)
                importance[i] = batch_ti[j].cpu().numpy().astype(np.float32)
                frames[i] = b.frames[j].numpy()
                clips[i] = {
                    "sample_id": sel["sample_id"],
                    "class_index": int(sel["class_index"]),
                    "class_name": sel["class_name"],
                    "sample_index": int(sel["sample_index"]),
                    "label": int(b.labels[j]),
                    "target": target,
                    "target_name": names[target],
                    "target_probability": float(probs[j, target]),
                    "pred": pred,
                    "pred_name": names[pred],
                    "confidence": float(probs[j, pred]),
                    "frame_indices": [int(f) for f in b.frame_indices[j]],
                }
                if "mix" in sel:
                    clips[i]["mix"] = {**sel["mix"], **b.mix_extra[j]}
                if scores[j]:
                    clips[i]["evaluation"] = scores[j]
            log.info("explained %d/%d clips", sum(c is not None for c in clips), n)
    hs = HeatmapSet(
        heatmaps=_stack(maps, np.float16),
        temporal_importance=_stack(importance, np.float32),
        frames=_stack(frames, np.uint8),
        clips=[c for c in clips if c is not None],
        params={
            **options,
            **used,
            "method": method,
            "conventions": convention,
            "input_spec": spec.to_dict(),
            "evaluation": {**evaluation, "sanity_randomised": sanity_steps},
        },
    )
    save_heatmaps(out_path, hs)
    return hs


def _evaluate_batch(
    model: VideoClassifier,
    method: str,
    options: dict[str, Any],
    evaluation: dict[str, Any],
    video: torch.Tensor,
    expl: Any,
    modules: list,
    masks: np.ndarray | None,
    convention: str = "standard",
) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """Per-clip deletion/insertion AUCs and sanity-check Spearman (plus GT scores of the randomised model's maps)."""
    seed = int(evaluation["evaluation-seed"])
    fi = ev.deletion_insertion(
        model,
        video,
        expl.relevance,
        expl.targets,
        evaluation["deletion-steps"],
        deletion_baseline=evaluation["deletion-baseline"],
        insertion_baseline=evaluation["insertion-baseline"],
        seed=seed,
    )
    fixed = {**options, "target-class": "true"}  # the randomised models explain the trained model's target classes

    def explain(m: torch.nn.Module) -> torch.Tensor:
        try:
            return make_explainer(method, m, fixed, convention).explain(video, expl.targets, "true").relevance
        except ZeroGradientError:  # a randomised layer that no longer reaches the output: no map at all
            return torch.zeros_like(expl.relevance)

    steps, random_maps = ev.cascading_randomisation(
        model, explain, expl.relevance, modules, evaluation["sanity-steps"], seed
    )
    scores = []
    for j in range(video.shape[0]):
        s: dict[str, Any] = {k: float(v[j]) for k, v in fi.items()}
        s["sanity_spearman"] = [st["spearman"][j] for st in steps]
        if masks is not None:
            final = upsample_bilinear(random_maps[-1][j : j + 1].detach().cpu().numpy(), masks.shape[-1])
            m = masks[j : j + 1]
            s["randomised_model"] = {
                "pointing_game": ev.nanmean_or_none(ev.pointing_hits(final, m)),
                "energy_in_mask": ev.nanmean_or_none(ev.energy_in_mask(final, m)),
            }
        scores.append(s)
    return scores, [st["randomised"] for st in steps]


def _masks_if_any(samples: list[Sample], frame_indices: torch.Tensor, size: int) -> np.ndarray | None:
    """Ground-truth masks of the clips' frames when every clip has one (the demo), else None."""
    if not all(mask_path(s.path).is_file() for s in samples):
        return None
    return np.stack([ev.clip_masks(s.path, fi.tolist(), size) for s, fi in zip(samples, frame_indices, strict=True)])


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
    decoder: str = "auto",
    class_mapping: ClassMappingSource | None = None,
    conventions: str = "standard",
) -> HeatmapSet:
    """The workflow's explain job: load the resolved model and the split, then :func:`explain_selection`.

    The model is set up as the extract stage set it up, so the maps explain
    the predictions the clips were selected from: the test dataset's class
    names, or, for a closed-set model on another dataset, its own classes
    with the test labels mapped through ``class_mapping`` (the same
    :func:`~videoxai.extract.classes.plan_classes` call; ``target-class:
    true`` then explains the mapped training class), and hand-crafted
    prompts when ``use-handcrafted-prompts``.

    One view is explained: the segment centres (the frames a one-view
    extraction decodes), whatever ``num-temporal-views`` the predictions were
    made with, because a map is drawn over the frames of one (B, T, C, H, W)
    forward pass. Test-time augmentation is not applied either. The
    selection's prediction and confidence are the V-view (and TTA) average;
    the heatmaps file records the explained view's own. ``conventions``
    (the config key: ``standard`` | ``seed``) picks the maps' convention.
    """
    from videoxai.extract.device import pick_device
    from videoxai.extract.run import (
        model_input_spec,
        open_split,
        use_handcrafted_prompts,
    )
    from videoxai.io import read_json
    from videoxai.models.resolve import load_resolved

    selection = read_json(selection_path)
    dev = pick_device(device)
    model = load_resolved(read_json(resolved_path)).to(dev).eval()
    split = options.get("split", selection.get("split") or "test")
    info = open_split(dataset, split)
    plan = plan_classes(model, info.class_names, class_mapping)
    if options.get("use-handcrafted-prompts"):
        use_handcrafted_prompts(model)
    check_selection_classes(selection, plan)
    spec = model_input_spec(model, options.get("num-frames"), 1, spatial_views=1)
    log.info("explaining %d clips with %s on %s", len(selection["clips"]), method, dev)
    return explain_selection(
        model,
        selection,
        mapped_samples(info.samples, plan),
        method,
        options,
        out_path,
        batch_size,
        num_workers=num_workers,
        spec=spec,
        decoder=decoder,
        conventions=conventions,
    )


def check_selection_classes(selection: dict[str, Any], plan: ClassPlan) -> None:
    """The selection must index the classes the model answers with now, under the same class mapping."""
    chosen = selection.get("class_names")
    if chosen is not None and list(chosen) != plan.class_names:
        how = (
            f"the model's own {len(plan.class_names)} classes, the test labels mapped onto them"
            if plan.mapping is not None
            else f"the test dataset's {len(plan.class_names)} classes"
        )
        raise ValueError(
            f"the selection indexes {len(chosen)} classes ({', '.join(chosen[:5])}{', ...' if len(chosen) > 5 else ''}) "
            f"but the model answers with {how} ({', '.join(plan.class_names[:5])}"
            f"{', ...' if len(plan.class_names) > 5 else ''}): the predictions were made with another dataset or "
            "class mapping; rerun the extract and select steps"
        )
    if "class_mapping" in selection and selection["class_mapping"] != plan.mapping:
        raise ValueError(
            f"the selection was made from predictions with class mapping {selection['class_mapping']!r}, but the "
            f"explain step maps {plan.mapping!r}: rerun the extract and select steps with the configured mapping"
        )
