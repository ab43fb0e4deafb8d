"""Folder-level statistics of a heatmaps file: where in time and how spread out in space the maps are."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from videoxai.explain.store import load_maps
from videoxai.io import write_json


def spatial_entropy(maps: np.ndarray) -> np.ndarray:
    """Normalised Shannon entropy of each (h, w) map taken as a distribution: 0 = one pixel, 1 = uniform.

    Input (..., h, w); output (...) float64, NaN for all-zero maps (no distribution to measure).
    """
    m = np.asarray(maps, dtype=np.float64)
    flat = m.reshape(*m.shape[:-2], -1)
    total = flat.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = flat / total
        h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)
    n = flat.shape[-1]
    h = h / np.log(n) if n > 1 else np.zeros_like(h)
    return np.where(total[..., 0] > 0, h, np.nan)


def _group_stats(ti: np.ndarray, ent: np.ndarray, clips: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(clips)
    correct = [_is_correct(c) for c in clips]
    conf = [float(c["confidence"]) for c in clips if c.get("confidence") is not None]
    curve = ti.mean(axis=0) if n else np.zeros(0)
    valid = ent[np.isfinite(ent)]
    return {
        "n_clips": n,
        "n_correct": int(sum(correct)),
        "accuracy": float(np.mean(correct)) if n else None,
        "mean_confidence": float(np.mean(conf)) if conf else None,
        "temporal_importance_mean": [float(x) for x in curve],
        "temporal_peak_frame": int(np.argmax(curve)) if curve.size else None,
        "spatial_entropy_mean": float(valid.mean()) if valid.size else None,
        "spatial_entropy_std": float(valid.std()) if valid.size else None,
        "n_empty_maps": int((~np.isfinite(ent)).sum()),
    }


def _is_correct(clip: Mapping[str, Any]) -> bool:
    if "pred" in clip and "target" in clip:
        return clip["pred"] == clip["target"]
    return clip.get("pred_name") == clip.get("target_name")


def _class_of(clip: Mapping[str, Any], i: int) -> str:
    for k in ("class_name", "target_name"):
        if clip.get(k) is not None:
            return str(clip[k])
    raise ValueError(f"clip {i} ({clip.get('sample_id')}) has neither class_name nor target_name in its metadata")


def aggregate_stats(
    heatmaps_path: str | os.PathLike[str],
    out_json: str | os.PathLike[str],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``aggregated_stats.json``: counts, mean temporal importance and spatial entropy, overall and per class.

    Reads only the maps and metadata (never the frames). ``extra`` (e.g. evaluation scores) is merged in
    at the top level; a key that clashes with ours is an error rather than a silent overwrite.
    """
    hs = load_maps(heatmaps_path)
    clips, params, maps, ti = hs.clips, hs.params, hs.heatmaps, hs.temporal_importance
    ent = spatial_entropy(maps)  # (N, T)
    classes = [_class_of(c, i) for i, c in enumerate(clips)]
    per_class = {}
    for name in sorted(set(classes)):
        sel = np.array([c == name for c in classes])
        per_class[name] = _group_stats(ti[sel], ent[sel], [c for c, s in zip(clips, sel) if s])
    stats: dict[str, Any] = {
        "n_clips": len(clips),
        "n_classes": len(per_class),
        "n_frames": int(maps.shape[1]) if maps.ndim == 4 else 0,
        "map_size": [int(maps.shape[2]), int(maps.shape[3])] if maps.ndim == 4 else [],
        "params": params,
        "overall": _group_stats(ti, ent, clips),
        "per_class": per_class,
    }
    if extra:
        clash = sorted(set(stats) & set(extra))
        if clash:
            raise ValueError(f"extra stats reuse reserved keys {clash}: rename them (e.g. nest under 'evaluation')")
        stats.update(extra)
    write_json(out_json, stats)
    return stats
