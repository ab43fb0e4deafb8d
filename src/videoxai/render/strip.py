"""The attention-map PNG of one clip: overlaid frames in a row, a colour bar, the temporal-importance curve below.

One matplotlib figure per clip (not per frame); the overlays themselves come from the colour table. The figure is
drawn once (layout and pixels in one pass) and Pillow writes the PNG with a fast zlib strategy: about a third of
what ``savefig`` costs here, for the same pixels.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image, PngImagePlugin

from videoxai.io import atomic_path
from videoxai.render.caption import caption_lines
from videoxai.render.overlay import overlay
from videoxai.render.undefined import mark_undefined

#: at most this many frames in a strip (evenly spaced, first and last included)
MAX_FRAMES = 16

#: zlib's run-length strategy: on a rendered figure (flat colours, text) it compresses to about the default's size
#: at a third of its time; the PNG encode was the largest single cost of a render job
Z_RLE = 3


def write_png(rgba: np.ndarray, out_png: str | os.PathLike[str], dpi: float) -> None:
    """Write a figure's (H, W, 4) uint8 RGBA canvas as PNG (atomically), faster than ``savefig`` does.

    The pixels are the canvas's; a fully opaque canvas (a figure with its default white background) is stored as
    RGB, which holds the same pixels in a smaller file. The text and dpi chunks are the ones matplotlib writes.
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise ValueError(f"a figure canvas is (H, W, 4) uint8 RGBA, got {rgba.shape} {rgba.dtype}")
    alpha = rgba[..., 3]
    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]) if alpha.min() == 255 else rgba)
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/")
    with atomic_path(out_png) as tmp:
        image.save(tmp, format="png", pnginfo=info, dpi=(dpi, dpi), compress_type=Z_RLE)


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
    corners = []
    for j, img in enumerate(frames):
        y, x = (j // cols) * (h + gap), (j % cols) * (w + gap)
        canvas[y : y + h, x : x + w] = img
        corners.append((y, x))
    return canvas, corners


def strip_figure(
    frames: np.ndarray,
    maps: np.ndarray,
    temporal_importance: np.ndarray,
    clip: Mapping[str, Any] | None = None,
    colormap: str = "jet",
    alpha: float = 0.5,
    max_frames: int = MAX_FRAMES,
    per_row: int = 8,
    dpi: int = 100,
    overlays: np.ndarray | None = None,
    undefined: np.ndarray | None = None,
) -> tuple[Figure, np.ndarray]:
    """The attention-map figure of one clip (on an Agg canvas, not drawn yet) and the frame indices it shows.

    ``overlays``: the overlaid frames at ``strip_frame_indices(T, max_frames)`` when the caller has them already
    (the render stage keeps them from the video's overlays, undefined frames marked); computed here otherwise.
    ``undefined`` (T,) bool: frames whose map is undefined: drawn grey and labelled, left out of the curve (a gap)
    and marked under it.
    """
    t = frames.shape[0]
    ti = np.asarray(temporal_importance, dtype=np.float64).reshape(-1)
    if ti.shape[0] != t:
        raise ValueError(f"temporal_importance has {ti.shape[0]} values for {t} frames")
    undef = np.zeros(t, dtype=bool) if undefined is None else np.asarray(undefined, dtype=bool).reshape(-1)
    if undef.shape[0] != t:
        raise ValueError(f"undefined has {undef.shape[0]} flags for {t} frames")
    ti = np.where(undef, np.nan, ti)
    idx = strip_frame_indices(t, max_frames)
    if overlays is None:
        shown = mark_undefined(overlay(frames[idx], maps[idx], colormap, alpha), frames[idx], undef[idx])
    elif overlays.shape != (len(idx), *frames.shape[1:]):
        raise ValueError(
            f"overlays must be the {len(idx)} shown frames, shaped {(len(idx), *frames.shape[1:])}; "
            f"got {overlays.shape}"
        )
    else:
        shown = overlays
    mosaic, corners = tile_frames(shown, per_row)
    strip_h = 8.4 * mosaic.shape[0] / mosaic.shape[1]  # inches, for a 9-inch-wide figure
    fig = Figure(figsize=(9.0, strip_h + 2.4), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=[strip_h, 1.8], width_ratios=[1.0, 0.025])
    strip_ax = fig.add_subplot(grid[0, 0])
    strip_ax.imshow(mosaic, interpolation="antialiased")
    strip_ax.set_axis_off()
    for i, (y, x) in zip(idx, corners):
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
    if undef.any():
        at = np.flatnonzero(undef)
        curve.scatter(at, np.zeros(len(at)), marker="x", color="grey", s=24, zorder=3, label="undefined map")
        curve.legend(fontsize=7, loc="best")
    curve.set_xlim(-0.5, t - 0.5)
    curve.xaxis.set_major_locator(MaxNLocator(integer=True))
    curve.set_xlabel("frame")
    curve.set_ylabel("temporal importance")
    curve.grid(alpha=0.3)
    if clip is not None:
        fig.suptitle("   |   ".join(text for text, _ in caption_lines(clip)), fontsize=9)
    return fig, idx


def attention_strip(
    frames: np.ndarray,
    maps: np.ndarray,
    temporal_importance: np.ndarray,
    out_png: str | os.PathLike[str],
    clip: Mapping[str, Any] | None = None,
    colormap: str = "jet",
    alpha: float = 0.5,
    max_frames: int = MAX_FRAMES,
    per_row: int = 8,
    dpi: int = 100,
    overlays: np.ndarray | None = None,
    undefined: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write the frame strip (``per_row`` frames a row) + colour bar + temporal curve to ``out_png`` (atomically).

    ``overlays`` and ``undefined`` as in :func:`strip_figure`.
    """
    fig, idx = strip_figure(
        frames,
        maps,
        temporal_importance,
        clip,
        colormap,
        alpha,
        max_frames,
        per_row,
        dpi,
        overlays=overlays,
        undefined=undefined,
    )
    # One draw: the canvas draw runs the constrained layout and renders in the same pass, where savefig runs a
    # layout-only draw first and then the real one; the pixels are the ones savefig writes (a test checks it).
    canvas = fig.canvas
    canvas.draw()
    write_png(canvas.buffer_rgba(), out_png, fig.dpi)
    return {"frames_shown": [int(i) for i in idx]}
