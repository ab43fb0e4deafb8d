"""Explanations scored against a dataset's real annotations (UCF101-24 tubes, J-HMDB puppet masks, the demo's masks).

For every explained clip whose video the dataset's ``ground-truth`` annotates,
the annotation of the sampled frames is placed on the model's view
(:mod:`videoxai.data.annotations.frames`) and scored as the demo's object
masks are (:func:`videoxai.explain.localisation.mask_scores`):

* **pointing game**: share of annotated frames whose map maximum lies in the
  box/mask; **energy in box/mask**: share of the map's mass inside it; both
  beside a random map, a centre prior and the chance level (the box's area
  share). Means over the frames where the person is in view.
* **temporal score**: the share of a clip's temporal importance on sampled
  frames inside the annotated tube (a box or a non-empty mask), beside the
  share of its frames inside the tube (what a flat curve gives); only clips
  with frames both inside and outside the tube count.

Per clip, per class and overall; clips that cannot be scored (no annotation,
a malformed entry, a sampled frame beyond the annotated ones, a missing video)
are listed under ``skipped`` with the reason. numpy only, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from videoxai.data.annotations import load_ground_truth
from videoxai.data.annotations.frames import (
    ClipSkipped,
    clip_target,
    probe_video,
    view_geometry,
)
from videoxai.explain.localisation import (
    energy_in_mask,
    mask_scores,
    nanmean_or_none,
    pointing_hits,
)
from videoxai.explain.maps import upsample_bilinear
from videoxai.explain.undefined import flags_or_none, undefined_counts, without_undefined

__all__ = ["annotated_ids", "annotation_scores", "tube_share", "video_path"]


def video_path(dataset: Mapping[str, Any], sample_id: str) -> Path:
    """Where a clip's video is: under the entry's ``videos`` folder, ``root``, or ``root/UCF-101`` (as the readers look)."""
    root = Path(dataset["root"])
    candidates = [Path(dataset["videos"]) / sample_id] if dataset.get("videos") else []
    candidates += [root / sample_id, root / "UCF-101" / sample_id]
    return next((p for p in candidates if p.is_file()), candidates[0])


def tube_share(importance: np.ndarray, in_tube: np.ndarray) -> dict[str, Any]:
    """Temporal importance inside vs outside the annotated tube, over clips that have frames on both sides.

    ``share_inside``: mean over clips of the importance mass (negative values
    count as 0) on frames inside the tube; ``frames_inside``: mean share of
    frames inside (``share_inside`` of a flat curve); ``per_frame_inside`` /
    ``per_frame_outside``: mean importance per frame on either side.
    """
    ti = np.clip(np.asarray(importance, dtype=np.float64), 0, None)
    inside = np.asarray(in_tube, dtype=bool)
    both = inside.any(axis=1) & (~inside).any(axis=1) & (ti.sum(axis=1) > 0)
    if not both.any():
        return {
            "n_clips": 0,
            "share_inside": None,
            "frames_inside": None,
            "per_frame_inside": None,
            "per_frame_outside": None,
        }
    t, m = ti[both], inside[both]
    return {
        "n_clips": int(both.sum()),
        "share_inside": float(np.mean((t * m).sum(axis=1) / t.sum(axis=1))),
        "frames_inside": float(m.mean()),
        "per_frame_inside": float(np.mean([r[k].mean() for r, k in zip(t, m, strict=True)])),
        "per_frame_outside": float(np.mean([r[~k].mean() for r, k in zip(t, m, strict=True)])),
    }


def _clip_record(
    clip: Mapping[str, Any],
    maps: np.ndarray,
    target: Any,
    importance: np.ndarray,
    masks: np.ndarray,
    in_tube: np.ndarray,
) -> dict[str, Any]:
    """One clip's scores; ``masks`` and ``in_tube`` are the target's with undefined frames left out."""
    up = upsample_bilinear(maps[None], tuple(masks.shape[-2:]))
    masks = masks[None]
    visible = masks.reshape(1, masks.shape[1], -1).any(axis=2)
    area = np.where(visible, masks.reshape(1, masks.shape[1], -1).mean(axis=2), np.nan)
    share = tube_share(importance[None], in_tube[None])
    return {
        "sample_id": clip.get("sample_id"),
        "class_name": clip.get("class_name"),
        "sample_index": clip.get("sample_index"),
        "frames": target.frame_numbers,
        "in_tube": [bool(x) for x in target.in_tube],
        "n_frames_scored": int(visible.sum()),
        "pointing_game": nanmean_or_none(pointing_hits(up, masks)),
        "energy_in_mask": nanmean_or_none(energy_in_mask(up, masks)),
        "chance": nanmean_or_none(area),
        "temporal_share_inside": share["share_inside"],
    }


def annotation_scores(
    maps: np.ndarray,
    importance: np.ndarray,
    clips: list[dict[str, Any]],
    dataset: Mapping[str, Any],
    input_spec: Mapping[str, Any],
    seed: int = 0,
    undefined: np.ndarray | None = None,
) -> dict[str, Any]:
    """Everything under ``evaluation.annotations`` in ``aggregated_stats.json`` for these clips.

    ``maps`` ``(N, T, h, w)`` and ``importance`` ``(N, T)`` of ``clips`` (their
    ``sample_id``, ``frame_indices``, ``class_name``), explained with a model
    whose input spec is ``input_spec`` (``size``, ``pipeline``, ...);
    ``dataset`` is the dataset's config entry with its ``ground-truth``. A
    broken annotation file is an error; a clip that cannot be scored is skipped
    with its reason. ``undefined`` (N, T): frames whose map is undefined; the mask scores skip those frames, the
    temporal scores the clips that have any (:mod:`videoxai.explain.undefined`).
    """
    spec = dataset["ground-truth"]
    gt = load_ground_truth(spec, dataset.get("root"))
    maps = np.asarray(maps, dtype=np.float32)
    importance = np.asarray(importance, dtype=np.float64)
    scored: list[int] = []
    targets = []
    skipped: list[dict[str, Any]] = []
    for i, clip in enumerate(clips):
        sid = str(clip["sample_id"])
        try:
            vid = gt.find(sid)
            if vid is None:
                raise ClipSkipped(f"no annotation for this video in {gt.source}")
            ann = gt.get(vid)
            if ann is None:
                raise ClipSkipped(f"no annotation for {vid} in {gt.source}")
            indices = list(clip.get("frame_indices") or [])
            if len(indices) != maps.shape[1]:
                raise ClipSkipped(f"{len(indices)} frame indices recorded for {maps.shape[1]} maps")
            _, h, w = probe_video(video_path(dataset, sid))
            targets.append(clip_target(ann, indices, (h, w), view_geometry((h, w), input_spec)))
            scored.append(i)
        except ClipSkipped as exc:
            skipped.append({"sample_id": sid, "class_name": clip.get("class_name"), "reason": exc.reason})
    out: dict[str, Any] = {
        "format": spec["format"],
        "source": gt.source,
        "n_clips": len(clips),
        "n_clips_annotated": len(scored),
        "n_clips_skipped": len(skipped),
        "skipped": skipped,
    }
    if not scored:
        return out
    sel = np.array(scored)
    m, ti = maps[sel], importance[sel]
    und = flags_or_none(undefined, len(clips), maps.shape[1])[sel]
    masks = without_undefined(np.stack([t.masks for t in targets]), und)
    in_tube = np.stack([t.in_tube for t in targets])
    # a clip with an undefined frame has no whole temporal curve: its in-tube flags are dropped (no clip has both)
    in_tube = np.where(und.any(axis=1, keepdims=True), True, in_tube)
    if und.any():
        out["undefined_frames"] = undefined_counts(und)
    kept = [clips[i] for i in scored]
    out["overall"] = {**mask_scores(m, masks, seed), "temporal": tube_share(ti, in_tube)}
    names = [str(c.get("class_name", c.get("class_index"))) for c in kept]
    out["per_class"] = {}
    for name in sorted(set(names)):
        k = np.array([n == name for n in names])
        out["per_class"][name] = {**mask_scores(m[k], masks[k], seed), "temporal": tube_share(ti[k], in_tube[k])}
    out["per_clip"] = [_clip_record(c, m[j], targets[j], ti[j], masks[j], in_tube[j]) for j, c in enumerate(kept)]
    return out


def annotated_ids(dataset: Mapping[str, Any], sample_ids: list[str]) -> set[str]:
    """The sample ids among ``sample_ids`` whose video the dataset's annotations list (``prefer-annotated``)."""
    gt = load_ground_truth(dataset["ground-truth"], dataset.get("root"))
    return {s for s in sample_ids if gt.find(s) is not None}
