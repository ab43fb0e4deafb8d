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

from videoxai.io import atomic_path
from videoxai.render.caption import caption_lines
from videoxai.render.overlay import overlay


def strip_frame_indices(n_frames: int, max_frames: int) -> np.ndarray:
    """Evenly spaced frame indices (first and last included) so long clips still fit one row."""
    if n_frames <= max_frames:
        return np.arange(n_frames)
    return np.unique(np.linspace(0, n_frames - 1, max_frames).round().astype(int))


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
    shown = overlay(frames[idx], maps[idx], colormap, alpha).numpy()
    k = len(idx)
    cols = min(k, per_row)
    rows = -(-k // cols)
    fig = Figure(figsize=(max(6.0, 1.5 * cols + 1.0), 1.6 * rows + 2.2), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(rows + 1, cols + 1, height_ratios=[1.0] * rows + [1.1], width_ratios=[1.0] * cols + [0.06])
    for j, (i, img) in enumerate(zip(idx, shown)):
        ax = fig.add_subplot(grid[j // cols, j % cols])
        ax.imshow(img, interpolation="nearest")
        ax.set_title(f"t={i}", fontsize=8)
        ax.set_axis_off()
    cbar_ax = fig.add_subplot(grid[:rows, cols])
    fig.colorbar(ScalarMappable(Normalize(0.0, 1.0), cmap=colormap), cax=cbar_ax, label="importance")
    curve = fig.add_subplot(grid[rows, :cols])
    curve.plot(np.arange(t), ti, color="tab:blue", lw=1.5)
    curve.scatter(idx, ti[idx], color="tab:orange", s=12, zorder=3, label="frames shown")
    curve.set_xlim(-0.5, t - 0.5)
    curve.set_xlabel("frame")
    curve.set_ylabel("temporal importance")
    curve.grid(alpha=0.3)
    if clip is not None:
        fig.suptitle("   |   ".join(text for text, _ in caption_lines(clip)), fontsize=9)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return {"frames_shown": [int(i) for i in idx]}
