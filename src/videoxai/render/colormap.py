"""Colour lookup tables: a heatmap is coloured by indexing a 256-entry table with the whole tensor.

The table is built once per colour map from matplotlib's own colour data, so our
colours are matplotlib's colours, without a matplotlib call per frame or per pixel.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

#: the colour maps the workflow documents; any other matplotlib colour map name also works
COLORMAPS: tuple[str, ...] = ("jet", "inferno", "viridis")
LUT_SIZE = 256


@functools.cache
def _lut(name: str) -> torch.Tensor:
    import matplotlib

    try:
        cmap = matplotlib.colormaps[name]
    except KeyError:
        raise ValueError(
            f"unknown colour map {name!r}: use one of {', '.join(COLORMAPS)} "
            f"(or another matplotlib colour map name, see matplotlib.colormaps)"
        ) from None
    if cmap.N != LUT_SIZE:
        cmap = cmap.resampled(LUT_SIZE)
    # integer input indexes matplotlib's table directly; bytes=True applies its own float -> uint8 rule
    table = cmap(np.arange(LUT_SIZE), bytes=True)[:, :3]
    return torch.from_numpy(np.ascontiguousarray(table, dtype=np.uint8))


def lut(name: str = "jet") -> torch.Tensor:
    """The (256, 3) uint8 RGB table of colour map ``name`` (a copy: the cached table stays intact)."""
    return _lut(name).clone()


def lut_indices(values: torch.Tensor) -> torch.Tensor:
    """Map values in [0, 1] to uint8 table rows exactly as matplotlib does (``floor(x * 256)``, 1.0 -> 255).

    NaN is treated as 0 and values outside [0, 1] are clipped, so a bad map never crashes a render.
    """
    v = torch.nan_to_num(values.to(torch.float32), nan=0.0)
    # after the clamp every value is in [0, 255]; the cast truncates, which is floor for non-negatives
    return v.mul(LUT_SIZE).clamp_(0, LUT_SIZE - 1).to(torch.uint8)


def apply_colormap(values: torch.Tensor | np.ndarray, name: str = "jet") -> torch.Tensor:
    """Colour a tensor of any shape ``S`` with values in [0, 1]: returns ``S + (3,)`` uint8 RGB."""
    idx = lut_indices(torch.as_tensor(values))
    # np.take with uint8 rows is several times faster than torch advanced indexing with int64 rows
    return torch.from_numpy(np.take(_lut(name).numpy(), idx.numpy(), axis=0))
