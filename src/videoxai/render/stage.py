"""Render stage entry points: one clip of a heatmaps file -> its mp4 and PNG; a whole folder -> every clip + gallery.

numpy, PyAV, Pillow and matplotlib only: a render job never imports torch.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from videoxai.explain.store import HeatmapSet, load_clip_list, load_heatmaps
from videoxai.render.caption import caption_lines, caption_strip
from videoxai.render.gallery import write_gallery
from videoxai.render.overlay import overlay_chunks
from videoxai.render.source import source_overlay
from videoxai.render.strip import MAX_FRAMES, attention_strip, strip_frame_indices
from videoxai.render.undefined import mark_undefined
from videoxai.render.video import compose_frames, encode_mp4

CHUNK = 16

log = logging.getLogger("videoxai.render")


def clip_name(clip: Mapping[str, Any]) -> str:
    """``class_{X}_sample_{Y}``: the file stem of a clip's video and attention map (X, Y from the selection)."""
    return f"class_{int(clip['class_index'])}_sample_{int(clip['sample_index'])}"


def _keeping(chunks: Iterator[np.ndarray], at: np.ndarray, kept: list[np.ndarray]) -> Iterator[np.ndarray]:
    """Pass ``chunks`` of consecutive frames through, appending the frames at indices ``at`` to ``kept``."""
    start = 0
    for chunk in chunks:
        here = at[(at >= start) & (at < start + len(chunk))]
        if len(here):
            kept.append(chunk[here - start])
        start += len(chunk)
        yield chunk


def _marking(chunks: Iterator[np.ndarray], frames: np.ndarray, undefined: np.ndarray) -> Iterator[np.ndarray]:
    """Pass overlay ``chunks`` through with each undefined frame drawn as such (:mod:`videoxai.render.undefined`)."""
    start = 0
    for chunk in chunks:
        end = start + len(chunk)
        yield mark_undefined(chunk, frames[start:end], undefined[start:end])
        start = end


def _render_one(
    hs: HeatmapSet,
    i: int,
    out_mp4: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    colormap: str,
    alpha: float,
    fps: float,
    side_by_side: bool,
    crf: int,
    preset: str,
    threads: int,
    source_root: Path | None = None,
) -> dict[str, Any]:
    frames, maps, clip = hs.frames[i], hs.heatmaps[i], hs.clips[i]
    undefined = hs.undefined_flags()[i]
    if source_root is not None:  # overlay: source: the decoded original frames, the map over the crop the model saw
        from videoxai.data.decode import read_frames

        # PyAV: the few explained frames of one clip (decoder auto would probe torchcodec, which imports torch:
        # a second or two per render job for the same frames)
        frames = read_frames(source_root / clip["sample_id"], clip["frame_indices"], decoder="pyav")
        size = int(hs.params.get("input_spec", {}).get("size", hs.frames.shape[-2]))
        chunks = (
            source_overlay(frames[s : s + CHUNK], maps[s : s + CHUNK], size, colormap, alpha)
            for s in range(0, frames.shape[0], CHUNK)
        )
    else:
        chunks = overlay_chunks(frames, maps, colormap, alpha, chunk=CHUNK)
    width = frames.shape[2] * (2 if side_by_side else 1)
    caption = caption_strip(caption_lines(clip), width)
    # the attention map shows some of the video's overlaid frames: keep those as they stream past, not redo them
    shown_at = strip_frame_indices(frames.shape[0], MAX_FRAMES)
    shown: list[np.ndarray] = []
    overlays = _keeping(_marking(chunks, frames, undefined), shown_at, shown)
    originals = (frames[s : s + CHUNK] for s in range(0, frames.shape[0], CHUNK)) if side_by_side else None
    video = encode_mp4(
        compose_frames(overlays, originals, caption), out_mp4, fps=fps, crf=crf, preset=preset, threads=threads
    )
    kept = np.concatenate(shown) if shown else None
    strip = attention_strip(
        frames,
        maps,
        hs.temporal_importance[i],
        out_png,
        clip,
        colormap,
        alpha,
        MAX_FRAMES,
        overlays=kept,
        undefined=undefined,
    )
    return {
        "sample_id": clip.get("sample_id"),
        "class_name": clip.get("class_name"),
        "video": str(Path(out_mp4)),
        "png": str(Path(out_png)),
        "colormap": colormap,
        "alpha": alpha,
        "side_by_side": side_by_side,
        "undefined_frames": [int(t) for t in np.flatnonzero(undefined)],
        "overlay": "model" if source_root is None else "source",
        **video,
        **strip,
    }


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
    info = _render_one(hs, 0, out_mp4, out_png, colormap, alpha, fps, side_by_side, crf, preset, threads)
    return {"index": index, **info}


def render_folder(
    heatmaps_path: str | os.PathLike[str],
    videos_dir: str | os.PathLike[str],
    maps_dir: str | os.PathLike[str],
    gallery: str | os.PathLike[str] | None = None,
    title: str = "",
    colormap: str = "jet",
    alpha: float = 0.5,
    fps: float = 8,
    side_by_side: bool = True,
    crf: int = 20,
    preset: str = "veryfast",
    threads: int = 0,
    source_root: str | os.PathLike[str] | None = None,
) -> list[dict[str, Any]]:
    """Render every clip of a heatmaps file into ``videos_dir``/``maps_dir`` as ``class_{X}_sample_{Y}``, then the
    gallery page (videos and maps embedded, so it plays inside ``snakemake --report``).

    ``source_root`` (the dataset's root; ``overlay: source``): draw over the decoded original frames at their own
    resolution (:mod:`videoxai.render.source`) instead of the frames the model saw.

    One process for a whole explainer folder: the start-up (imports, the file's header) is paid once, not once per
    clip. The file is read clip by clip, so memory holds one clip's frames at a time.
    """
    clips = load_clip_list(heatmaps_path)
    names = [clip_name(c) for c in clips]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{heatmaps_path}: clips share a (class_index, sample_index) name: {dup}; rerun select_clips")
    videos_dir, maps_dir = Path(videos_dir), Path(maps_dir)
    videos_dir.mkdir(parents=True, exist_ok=True)
    maps_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for i, name in enumerate(names):
        start = time.perf_counter()
        hs = load_heatmaps(heatmaps_path, i)
        info = _render_one(
            hs,
            0,
            videos_dir / f"{name}.mp4",
            maps_dir / f"{name}.png",
            colormap,
            alpha,
            fps,
            side_by_side,
            crf,
            preset,
            threads,
            None if source_root is None else Path(source_root),
        )
        records.append({"index": i, **info})
        log.info("%s: %d frames in %.2f s", name, info["n_frames"], time.perf_counter() - start)
    if gallery is not None:
        write_gallery(gallery, [r["video"] for r in records], [r["png"] for r in records], title, embed=True)
    return records


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
