"""Overlays at the source resolution: a heatmap mapped back through the loader's resize and centre crop onto the
decoded original frames, the crop's frame drawn.

The loader (:func:`videoxai.data.transforms.resize_crop`) scales a frame so its shorter side is ``size`` (``nh`` x
``nw``, each ``max(size, round(side * s))``, ``s = size / min(H, W)``) and keeps the ``size`` x ``size`` centre
(offsets ``(nh - size) // 2``, ``(nw - size) // 2``); the model's map covers that crop on an ``h`` x ``w`` grid.
A source pixel's centre ``x + 0.5`` lies at ``(x + 0.5) * s - left`` in the crop, and at
``((x + 0.5) * s - left) * w / size - 0.5`` on the map's grid, where the map is sampled bilinearly (edges held, as
``align_corners=False`` upsampling does). Pixels outside the crop have no value: the model never saw them.
numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from videoxai.render.colormap import apply_colormap
from videoxai.render.overlay import blend

FRAME_COLOUR = (255, 255, 255)
OUTSIDE_DIM = 0.5  # the frame outside the crop, darkened: the model never saw it


@dataclass(frozen=True)
class Crop:
    """The loader's crop in source pixels: scale ``s`` and the crop's offsets in the resized frame."""

    height: int
    width: int
    size: int

    @property
    def scale(self) -> float:
        return self.size / min(self.height, self.width)

    @property
    def offsets(self) -> tuple[int, int]:
        nh = max(self.size, round(self.height * self.scale))
        nw = max(self.size, round(self.width * self.scale))
        return (nh - self.size) // 2, (nw - self.size) // 2

    def box(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the crop in source pixels: the pixels whose centres fall inside it."""
        top, left = self.offsets
        y0, x0 = top / self.scale, left / self.scale
        side = self.size / self.scale
        return (
            int(np.ceil(y0 - 0.5)),
            int(np.ceil(x0 - 0.5)),
            int(np.ceil(y0 + side - 0.5)),
            int(np.ceil(x0 + side - 0.5)),
        )


def _axis_weights(n_source: int, offset: int, scale: float, size: int, n_map: int) -> tuple[np.ndarray, np.ndarray]:
    """(n_source, n_map) bilinear weights of each source pixel on the map's grid along one axis, and which source
    pixels lie inside the crop."""
    u = (np.arange(n_source) + 0.5) * scale - offset  # position in the crop, resized pixels
    inside = (u >= 0) & (u < size)
    g = np.clip(u * n_map / size - 0.5, 0, n_map - 1)  # position on the map's grid, edges held
    lo = np.floor(g).astype(int)
    hi = np.minimum(lo + 1, n_map - 1)
    frac = g - lo
    weights = np.zeros((n_source, n_map))
    np.add.at(weights, (np.arange(n_source), lo), 1 - frac)
    np.add.at(weights, (np.arange(n_source), hi), frac)
    return weights, inside


def source_maps(maps: np.ndarray, height: int, width: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Maps ``(T, h, w)`` over the model's ``size`` crop -> ``(T, H, W)`` over the source frame, and the crop's
    ``(H, W)`` mask (False outside it, where the maps are 0)."""
    m = np.asarray(maps, dtype=np.float64)
    crop = Crop(height, width, size)
    top, left = crop.offsets
    wy, in_y = _axis_weights(height, top, crop.scale, size, m.shape[-2])
    wx, in_x = _axis_weights(width, left, crop.scale, size, m.shape[-1])
    inside = in_y[:, None] & in_x[None, :]
    out = np.einsum("yi,tij,xj->tyx", wy, m, wx)
    return np.where(inside, out, 0.0).astype(np.float32), inside


def source_overlay(
    frames: np.ndarray, maps: np.ndarray, size: int, colormap: str = "inferno", alpha: float = 0.5
) -> np.ndarray:
    """Decoded original frames ``(T, H, W, 3)`` uint8 with the maps over the crop the model saw, the rest darkened,
    the crop's frame drawn: ``(T, H, W, 3)`` uint8."""
    frames = np.asarray(frames, dtype=np.uint8)
    t, height, width = frames.shape[:3]
    if len(maps) != t:
        raise ValueError(f"{len(maps)} maps for {t} frames: the maps and the source frames must be the same frames")
    values, inside = source_maps(maps, height, width, size)
    out = blend(frames, apply_colormap(values, colormap), alpha)
    out[:, ~inside] = (frames[:, ~inside] * OUTSIDE_DIM).astype(np.uint8)
    top, left, bottom, right = Crop(height, width, size).box()
    colour = np.asarray(FRAME_COLOUR, dtype=np.uint8)
    out[:, top, left:right] = out[:, bottom - 1, left:right] = colour
    out[:, top:bottom, left] = out[:, top:bottom, right - 1] = colour
    return out
