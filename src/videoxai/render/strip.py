"""The attention-map PNG of one clip: overlaid frames in a row, a colour bar, the temporal-importance curve below.

One matplotlib figure per clip (not per frame); the overlays themselves come from the colour table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from videoxai.io import atomic_path
from videoxai.render.caption import caption_lines
from videoxai.render.overlay import overlay


def strip_frame_indices(n_frames: int, max_frames: int) -> np.ndarray:
    """Evenly spaced frame indices (first and last included) so long clips still fit one row."""
    if n_frames <= max_frames:
        return np.arange(n_frames)
    return np.unique(np.linspace(0, n_frames - 1, max_frames).round().astype(int))


def tile_frames(frames: np.ndarray, per_row: int, gap: int = 4) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Lay (k, H, W, 3) frames out in rows of ``per_row`` on a white canvas: one image, one ``imshow``.

    Returns the mosaic and each tile's top-left (y, x), for labels.
    """
    k, h, w, _ = frames.shape
    cols = min(k, per_row)
    rows = -(-k // cols)
    canvas = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, 3), 255, dtype=np.uint8)
    origins = []
    for j, img in enumerate(frames):
        y, x = (j // cols) * (h + gap), (j % cols) * (w + gap)
        canvas[y : y + h, x : x + w] = img
        origins.append((y, x))
    return canvas, origins


def attention_strip(
    frames: np.ndarray,
    maps: np.ndarray,
    temporal_importance: np.ndarray,
    out_png: str | os.PathLike[str],
    clip: Mapping[str, Any] | None = None,
    colormap: str = "jet",
    alpha: float = 0.5,
    max_frames: int = 16,
    per_row: int = 8,
    dpi: int = 100,
) -> dict[str, Any]:
    """Write the frame strip (``per_row`` frames a row) + colour bar + temporal curve to ``out_png`` (atomically)."""
    t = frames.shape[0]
    ti = np.asarray(temporal_importance, dtype=np.float64).reshape(-1)
    if ti.shape[0] != t:
        raise ValueError(f"temporal_importance has {ti.shape[0]} values for {t} frames")
    idx = strip_frame_indices(t, max_frames)
    shown = overlay(frames[idx], maps[idx], colormap, alpha)
    mosaic, origins = tile_frames(shown, per_row)
    strip_h = 8.4 * mosaic.shape[0] / mosaic.shape[1]  # inches, for a 9-inch-wide figure
    fig = Figure(figsize=(9.0, strip_h + 2.4), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=[strip_h, 1.8], width_ratios=[1.0, 0.025])
    strip_ax = fig.add_subplot(grid[0, 0])
    strip_ax.imshow(mosaic, interpolation="antialiased")
    strip_ax.set_axis_off()
    for i, (y, x) in zip(idx, origins):
        strip_ax.text(
            x + 2,
            y + 2,
            f"t={i}",
            color="white",
            fontsize=7,
            va="top",
            ha="left",
            bbox={"facecolor": "black", "alpha": 0.55, "pad": 1, "linewidth": 0},
        )
    cbar_ax = fig.add_subplot(grid[0, 1])
    fig.colorbar(ScalarMappable(Normalize(0.0, 1.0), cmap=colormap), cax=cbar_ax, label="importance")
    curve = fig.add_subplot(grid[1, 0])
    curve.plot(np.arange(t), ti, color="tab:blue", lw=1.5)
    curve.scatter(idx, ti[idx], color="tab:orange", s=12, zorder=3, label="frames shown")
    curve.set_xlim(-0.5, t - 0.5)
    curve.xaxis.set_major_locator(MaxNLocator(integer=True))
    curve.set_xlabel("frame")
    curve.set_ylabel("temporal importance")
    curve.grid(alpha=0.3)
    if clip is not None:
        fig.suptitle("   |   ".join(text for text, _ in caption_lines(clip)), fontsize=9)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return {"frames_shown": [int(i) for i in idx]}
