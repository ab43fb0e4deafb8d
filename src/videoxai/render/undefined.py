"""How a frame whose map is undefined is drawn: greyed out, labelled "undefined", never coloured as a map.

A flagged frame (``undefined_frames`` in the heatmaps file; :mod:`videoxai.explain.undefined`) stores zeros,
which the colour table would draw as "no relevance anywhere": a claim the explainer never made. Such a frame is
drawn instead as the original frame in dim grey with the word "undefined" across it, in the videos and in the
strips alike.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL = "undefined"
GREY = 128  # the level the dimmed frame is pulled towards
KEEP = 0.3  # how much of the frame's own luminance stays visible under the grey


#: shorter forms of the label, for frames too small for the whole word
SHORT_LABELS = ("undef.", "n/a")
MIN_FONT = 6


@lru_cache(maxsize=8)
def _label_mask(height: int, width: int) -> np.ndarray:
    """(H, W) float32 in [0, 1]: the label, centred, as large as fits 90% of the width (drawn once per size).

    Frames too narrow for the word at the smallest font get a shorter form (:data:`SHORT_LABELS`).
    """
    for text in (LABEL, *SHORT_LABELS):
        size = max(MIN_FONT, min(height // 5, 24))
        font = ImageFont.load_default(size=size)
        while size > MIN_FONT and font.getlength(text) > 0.9 * width:
            size -= 1
            font = ImageFont.load_default(size=size)
        if font.getlength(text) <= 0.9 * width:
            break
    img = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) / 2 - left, (height - (bottom - top)) / 2 - top), text, fill=255, font=font)
    return np.asarray(img, dtype=np.float32) / 255.0


def undefined_frame(frames: np.ndarray) -> np.ndarray:
    """``(k, H, W, 3)`` uint8 -> the same frames greyed out (dim luminance over mid grey) and labelled."""
    f = np.asarray(frames, dtype=np.float32)
    lum = f @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # (k, H, W)
    grey = KEEP * lum + (1 - KEEP) * GREY
    text = _label_mask(f.shape[1], f.shape[2])
    grey = grey * (1 - text) + 255.0 * text  # white letters
    return np.repeat(np.round(grey)[..., None], 3, axis=-1).astype(np.uint8)


def mark_undefined(overlays: np.ndarray, frames: np.ndarray, undefined: np.ndarray) -> np.ndarray:
    """Overlaid frames ``(k, H, W, 3)`` with the ones flagged in ``undefined`` (k,) replaced by
    :func:`undefined_frame` of the original ``frames``."""
    flags = np.asarray(undefined, dtype=bool).reshape(-1)
    if flags.shape[0] != overlays.shape[0] or frames.shape != overlays.shape:
        raise ValueError(
            f"{overlays.shape[0]} overlays, {frames.shape[0]} frames and {flags.shape[0]} undefined flags must agree"
        )
    if not flags.any():
        return overlays
    out = np.array(overlays, copy=True)
    out[flags] = undefined_frame(frames[flags])
    return out
