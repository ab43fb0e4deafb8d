"""Render stage entry point: one clip of a heatmaps file -> its mp4 and its attention-map PNG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from videoxai.explain.store import load_clip_list, load_heatmaps
from videoxai.render.caption import caption_lines, caption_strip
from videoxai.render.overlay import overlay_chunks
from videoxai.render.strip import attention_strip
from videoxai.render.video import compose_frames, encode_mp4

CHUNK = 16


def render_clip(
    heatmaps_path: str | os.PathLike[str],
    index: int,
    out_mp4: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    colormap: str = "jet",
    alpha: float = 0.5,
    fps: float = 8,
    side_by_side: bool = True,
    crf: int = 20,
    preset: str = "veryfast",
    threads: int = 0,
) -> dict[str, Any]:
    """Render clip ``index``: H.264 video (caption strip, ``original | overlay`` or overlay only) and PNG strip.

    Reads only that clip from the file. Returns a small record of what was written (for logging/tests).
    """
    n = len(load_clip_list(heatmaps_path))
    if not 0 <= index < n:
        raise IndexError(f"clip index {index} is out of range: {heatmaps_path} holds {n} clips (0..{n - 1})")
    hs = load_heatmaps(heatmaps_path, index)
    frames = torch.from_numpy(hs.frames[0])
    maps = torch.from_numpy(hs.heatmaps[0])
    clip = hs.clips[0]
    width = frames.shape[2] * (2 if side_by_side else 1)
    caption = caption_strip(caption_lines(clip), width)
    overlays = overlay_chunks(frames, maps, colormap, alpha, chunk=CHUNK)
    originals = frames.split(CHUNK) if side_by_side else None
    video = encode_mp4(compose_frames(overlays, originals, caption), out_mp4, fps=fps, crf=crf, preset=preset,
                       threads=threads)
    strip = attention_strip(hs.frames[0], hs.heatmaps[0], hs.temporal_importance[0], out_png, clip, colormap, alpha)
    return {
        "index": index,
        "sample_id": clip.get("sample_id"),
        "class_name": clip.get("class_name"),
        "video": str(Path(out_mp4)),
        "png": str(Path(out_png)),
        "colormap": colormap,
        "alpha": alpha,
        "side_by_side": side_by_side,
        **video,
        **strip,
    }


def clip_index(heatmaps_path: str | os.PathLike[str], class_index: int, sample_index: int) -> int:
    """Position of the clip with this ``class_index`` and ``sample_index`` (the names in ``class_X_sample_Y``)."""
    clips = load_clip_list(heatmaps_path)
    for i, c in enumerate(clips):
        if c.get("class_index") == class_index and c.get("sample_index") == sample_index:
            return i
    have = sorted((c.get("class_index"), c.get("sample_index")) for c in clips)
    raise LookupError(
        f"{heatmaps_path} has no clip with class_index={class_index}, sample_index={sample_index}; "
        f"it holds (class_index, sample_index) = {have}"
    )

