"""The caption strip above each video: class, target, prediction and confidence, drawn once per clip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WHITE = (255, 255, 255)
GREEN = (120, 230, 120)
RED = (255, 120, 120)
BACKGROUND = (24, 24, 24)


def caption_lines(clip: Mapping[str, Any]) -> list[tuple[str, tuple[int, int, int]]]:
    """Text lines and colours for one clip's metadata; the prediction line is green if right, red if wrong."""
    cls = clip.get("class_name", clip.get("target_name", "?"))
    sample = clip.get("sample_index")
    first = f"class: {cls}" + (f"  (sample {sample})" if sample is not None else "")
    target = clip.get("target_name", "?")
    pred = clip.get("pred_name", "?")
    conf = clip.get("confidence")
    conf_txt = f" ({float(conf):.1%})" if conf is not None else ""
    right = clip["pred"] == clip["target"] if "pred" in clip and "target" in clip else pred == target
    return [(first, WHITE), (f"target: {target}   pred: {pred}{conf_txt}", GREEN if right else RED)]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _fit(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> str:
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def caption_strip(
    lines: Sequence[tuple[str, tuple[int, int, int]]],
    width: int,
    max_font: int = 14,
    min_font: int = 8,
) -> np.ndarray:
    """Render ``lines`` into an (h, width, 3) uint8 strip with an even height; shrink, then truncate, to fit."""
    if width < 16:
        raise ValueError(f"caption strip needs a width of at least 16 pixels, got {width}")
    margin = 4
    size = max_font
    while size > min_font and max(_font(size).getlength(t) for t, _ in lines) > width - 2 * margin:
        size -= 1
    font = _font(size)
    line_h = size + 4
    height = len(lines) * line_h + 2 * margin
    height += height % 2
    img = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    for i, (text, colour) in enumerate(lines):
        draw.text((margin, margin + i * line_h), _fit(text, font, width - 2 * margin), fill=colour, font=font)
    return np.asarray(img, dtype=np.uint8).copy()
