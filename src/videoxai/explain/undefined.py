"""Frames whose map is undefined: kept apart from the defined ones, never drawn or scored as if they were maps.

Prompt-tuning's rollouts divide each frame's map by its own maximum; with
``head-fusion: max`` and a ``discard-ratio`` the CLS-only product, and the
CLS-weighted one's per-frame weight, can be exactly 0 on a frame, so that
frame's map is ``0 / 0`` (NaN) while the clip's other frames are fine. Such a
frame is *undefined*, not empty: the explain stage stores it as zeros with a
flag (``undefined_frames`` in the heatmaps file), the render stage draws it as
a grey frame labelled "undefined", and the scores skip it and say how many
they skipped. numpy only: the render and summary jobs use it without torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def undefined_mask(maps: np.ndarray) -> np.ndarray:
    """``(..., T, h, w)`` -> ``(..., T)`` bool: frames whose map holds a NaN or an infinity."""
    m = np.asarray(maps)
    return ~np.isfinite(m.reshape(*m.shape[:-2], -1)).all(axis=-1)


def split_undefined(maps: np.ndarray, importance: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One clip's ``maps`` (T, h, w) and ``importance`` (T,) -> the same with undefined frames zeroed, and the flags.

    What the heatmaps file stores: every value finite and in [0, 1] (readers that predate the flags still read
    it), and ``undefined`` (T,) bool saying which zeros are not a map.
    """
    undefined = undefined_mask(maps)
    maps = np.where(undefined[:, None, None], 0.0, np.nan_to_num(np.asarray(maps), nan=0.0)).astype(maps.dtype)
    importance = np.asarray(importance)
    importance = np.where(undefined | ~np.isfinite(importance), 0.0, importance).astype(importance.dtype)
    return maps, importance, undefined


def flags_or_none(undefined: np.ndarray | None, n: int, t: int) -> np.ndarray:
    """``(N, T)`` bool flags: the file's, or all False for a file written before they existed."""
    if undefined is None:
        return np.zeros((n, t), dtype=bool)
    return np.asarray(undefined, dtype=bool).reshape(n, t)


def without_undefined(masks: np.ndarray, undefined: np.ndarray) -> np.ndarray:
    """Ground-truth masks ``(N, T, H, W)`` with the undefined frames emptied: the scores then skip those frames
    exactly as they skip frames where the object is absent (and the baselines skip them too)."""
    out = np.array(masks, dtype=bool, copy=True)
    out[np.asarray(undefined, dtype=bool)] = False
    return out


def undefined_counts(undefined: np.ndarray) -> dict[str, Any]:
    """What a summary says about the frames it skipped."""
    u = np.asarray(undefined, dtype=bool)
    return {
        "n_frames": int(u.sum()),
        "n_clips": int(u.reshape(u.shape[0], -1).any(axis=1).sum()) if u.size else 0,
        "frames": int(u.size),
    }
