"""Colour lookup tables: a heatmap is coloured by indexing a 256-entry table with the whole array.

The table is built once per colour map from matplotlib's own colour data, so our
colours are matplotlib's colours, without a matplotlib call per frame or per pixel.
numpy only: a render job never pays torch's import.
"""

from __future__ import annotations

import functools

import numpy as np

#: the colour maps the workflow documents; any other matplotlib colour map name also works
COLORMAPS: tuple[str, ...] = ("jet", "inferno", "viridis")
LUT_SIZE = 256


@functools.cache
def _lut(name: str) -> np.ndarray:
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
    table = np.ascontiguousarray(cmap(np.arange(LUT_SIZE), bytes=True)[:, :3], dtype=np.uint8)
    table.flags.writeable = False
    return table


def lut(name: str = "jet") -> np.ndarray:
    """The (256, 3) uint8 RGB table of colour map ``name`` (a copy: the cached table stays intact)."""
    return _lut(name).copy()


def lut_indices(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to uint8 table rows exactly as matplotlib does (``floor(x * 256)``, 1.0 -> 255).

    NaN is treated as 0 and values outside [0, 1] are clipped, so a bad map never crashes a render.
    """
    v = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0)
    with np.errstate(over="ignore"):  # +-inf and float32's largest values become +-inf, then the clip's bounds
        scaled = v * np.float32(LUT_SIZE)
    # after the clip every value is in [0, 255]; the cast truncates, which is floor for non-negatives
    return np.clip(scaled, 0, LUT_SIZE - 1).astype(np.uint8)


def apply_colormap(values: np.ndarray, name: str = "jet") -> np.ndarray:
    """Colour an array of any shape ``S`` with values in [0, 1]: returns ``S + (3,)`` uint8 RGB."""
    return np.take(_lut(name), lut_indices(values), axis=0)
