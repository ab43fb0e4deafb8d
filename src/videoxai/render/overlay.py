"""Heatmap overlays on whole clips: bilinear upsampling, colour lookup, alpha blend, all as tensor ops."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from videoxai.render.colormap import apply_colormap


def _check_clip(frames: torch.Tensor, maps: torch.Tensor) -> None:
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {tuple(frames.shape)} {frames.dtype}")
    if maps.ndim != 3:
        raise ValueError(f"maps must be (T, h, w), got shape {tuple(maps.shape)}")
    if maps.shape[0] != frames.shape[0]:
        raise ValueError(f"frames and maps disagree on the number of frames: {frames.shape[0]} vs {maps.shape[0]}")


def upsample_maps(maps: torch.Tensor | np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize (T, h, w) maps to (T, H, W) float32, clipped to [0, 1] (the colour table's domain)."""
    m = torch.nan_to_num(torch.as_tensor(maps).to(torch.float32), nan=0.0)
    if m.ndim != 3:
        raise ValueError(f"maps must be (T, h, w), got shape {tuple(m.shape)}")
    if tuple(m.shape[-2:]) == tuple(size):
        return m.clamp(0.0, 1.0)
    up = F.interpolate(m.unsqueeze(1), size=tuple(size), mode="bilinear", align_corners=False)
    return up.squeeze(1).clamp_(0.0, 1.0)


def overlay(
    frames: torch.Tensor | np.ndarray,
    maps: torch.Tensor | np.ndarray,
    colormap: str = "jet",
    alpha: float = 0.5,
) -> torch.Tensor:
    """Blend coloured maps onto frames: ``(1 - alpha) * frame + alpha * colour``, rounded to uint8.

    ``frames`` (T, H, W, 3) uint8, ``maps`` (T, h, w) in [0, 1]; returns (T, H, W, 3) uint8.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    f = torch.as_tensor(frames)
    m = torch.as_tensor(maps)
    _check_clip(f, m)
    colours = apply_colormap(upsample_maps(m, (f.shape[1], f.shape[2])), colormap)
    return torch.lerp(f.to(torch.float32), colours.to(torch.float32), alpha).round_().to(torch.uint8)


def overlay_chunks(
    frames: torch.Tensor | np.ndarray,
    maps: torch.Tensor | np.ndarray,
    colormap: str = "jet",
    alpha: float = 0.5,
    chunk: int = 16,
) -> Iterator[torch.Tensor]:
    """Yield overlays ``chunk`` frames at a time, so a long clip never needs its float copy in memory at once."""
    f = torch.as_tensor(frames)
    m = torch.as_tensor(maps)
    _check_clip(f, m)
    for start in range(0, f.shape[0], chunk):
        yield overlay(f[start : start + chunk], m[start : start + chunk], colormap, alpha)
