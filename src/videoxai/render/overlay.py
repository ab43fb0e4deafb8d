"""Heatmap overlays on whole clips: bilinear upsampling, colour lookup, alpha blend, all as array ops (numpy only)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from videoxai.explain.maps import upsample_bilinear
from videoxai.render.colormap import apply_colormap


def _check_clip(frames: np.ndarray, maps: np.ndarray) -> None:
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {tuple(frames.shape)} {frames.dtype}")
    if maps.ndim != 3:
        raise ValueError(f"maps must be (T, h, w), got shape {tuple(maps.shape)}")
    if maps.shape[0] != frames.shape[0]:
        raise ValueError(f"frames and maps disagree on the number of frames: {frames.shape[0]} vs {maps.shape[0]}")


def blend(frames: np.ndarray, colours: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 - alpha) * frame + alpha * colour`` rounded half to even, uint8; the same numbers as ``torch.lerp``.

    torch computes ``base + coeff * (end - start)`` in float32 with one rounding (a fused multiply-add):
    ``start + alpha * d`` below alpha 0.5, ``end + (alpha - 1) * d`` from 0.5 on. The float64 sum here is
    exact for uint8 inputs, so its single rounding to float32 is the same.
    """
    w = np.float32(alpha)
    start = frames.astype(np.float32)
    end = colours.astype(np.float32)
    diff = end - start
    if abs(w) < 0.5:
        out = (np.float64(w) * diff + start).astype(np.float32)
    else:
        out = (np.float64(w - np.float32(1)) * diff + end).astype(np.float32)
    return np.round(out).astype(np.uint8)


def overlay(frames: np.ndarray, maps: np.ndarray, colormap: str = "jet", alpha: float = 0.5) -> np.ndarray:
    """Blend coloured maps onto frames: ``(1 - alpha) * frame + alpha * colour``, rounded to uint8.

    ``frames`` (T, H, W, 3) uint8, ``maps`` (T, h, w) in [0, 1]; returns (T, H, W, 3) uint8.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    f = np.asarray(frames)
    m = np.asarray(maps)
    _check_clip(f, m)
    # NaN (an undefined map) draws as 0; the colour table's domain is [0, 1]
    values = upsample_bilinear(np.nan_to_num(m.astype(np.float32), nan=0.0), (f.shape[1], f.shape[2]))
    colours = apply_colormap(np.clip(values, 0.0, 1.0), colormap)
    return blend(f, colours, alpha)


def overlay_chunks(
    frames: np.ndarray,
    maps: np.ndarray,
    colormap: str = "jet",
    alpha: float = 0.5,
    chunk: int = 16,
) -> Iterator[np.ndarray]:
    """Yield overlays ``chunk`` frames at a time, so a long clip never needs its float copy in memory at once."""
    f = np.asarray(frames)
    m = np.asarray(maps)
    _check_clip(f, m)
    for start in range(0, f.shape[0], chunk):
        yield overlay(f[start : start + chunk], m[start : start + chunk], colormap, alpha)
