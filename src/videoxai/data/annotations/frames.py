"""Annotations on the frames the model saw: sampled indices -> annotated frames -> the model's resize and crop.

A model saw ``T`` decoded frames (0-based ``frame_indices``), each resized and
cropped to ``size x size`` by its input pipeline. The annotation of decoded
frame ``i`` is the annotation's frame number ``i + 1``; its coordinates are in
the annotation's resolution, scaled to the decoded one first. Both pipelines'
crops are axis-aligned scalings plus an offset (:class:`ViewGeometry`), so
boxes are mapped exactly (in continuous pixel-edge coordinates, clipped to the
picture) and rasterised on the ``size`` grid: a pixel is in a box when its
centre is. Masks are resampled by nearest neighbour at the output pixel
centres. numpy only; the video is opened once for its size (PyAV, header only).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videoxai.data.annotations.base import ClipAnnotation

__all__ = ["ClipSkipped", "ClipTarget", "ViewGeometry", "clip_target", "probe_video", "view_geometry"]


class ClipSkipped(Exception):
    """This clip cannot be scored against its annotation; ``reason`` is recorded in the summary."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ViewGeometry:
    """Decoded ``(H, W)`` -> model view: ``x' = x * scale_x - left``, ``y' = y * scale_y - top``, cropped to size."""

    decoded: tuple[int, int]
    resized: tuple[int, int]
    top: int
    left: int
    size: int

    @property
    def scale_y(self) -> float:
        return self.resized[0] / self.decoded[0]

    @property
    def scale_x(self) -> float:
        return self.resized[1] / self.decoded[1]


def view_geometry(decoded: Sequence[int], input_spec: Mapping[str, Any]) -> ViewGeometry:
    """Where the model's crop of a ``decoded`` ``(H, W)`` frame lies, for its ``input_spec`` (``InputSpec.to_dict()``).

    ``standard``: shorter side to ``size`` (kept when already ``size``), centre
    crop at ``(extra // 2)``. ``prompt-tuning`` (one spatial view): the optional
    ``resize_protocol`` pre-resize, then the shorter side to ``size`` with the
    long side ``int(size * long / short)`` and the crop at ``round(extra / 2)``,
    as :mod:`videoxai.data.prompt_tuning_frames`. ``remove_black_strips`` crops rows by
    the pixels' content, which a mask cannot follow: such clips are skipped.
    """
    h, w = int(decoded[0]), int(decoded[1])
    s = int(input_spec["size"])
    pipeline = input_spec.get("pipeline", "standard")
    if pipeline == "standard":
        if min(h, w) == s:
            nh, nw = h, w
        else:
            scale = s / min(h, w)
            nh, nw = max(s, round(h * scale)), max(s, round(w * scale))
        return ViewGeometry((h, w), (nh, nw), (nh - s) // 2, (nw - s) // 2, s)
    if pipeline != "prompt-tuning":
        raise ClipSkipped(f"unknown input pipeline {pipeline!r}: cannot map annotations onto its frames")
    if input_spec.get("remove_black_strips"):
        raise ClipSkipped("remove-black-strips crops rows by their content: annotations cannot follow that crop")
    if int(input_spec.get("spatial_views", 1)) != 1:
        raise ClipSkipped("three spatial views: explanations are drawn over one centre view only")
    ph, pw = _protocol_size(h, w, input_spec.get("resize_protocol"), s)
    short, long = min(ph, pw), max(ph, pw)
    new_long = int(s * long / short)
    nh, nw = (s, new_long) if ph <= pw else (new_long, s)
    return ViewGeometry((h, w), (nh, nw), round((nh - s) / 2.0), round((nw - s) / 2.0), s)


def _protocol_size(h: int, w: int, protocol: str | None, size: int) -> tuple[int, int]:
    """Prompt-tuning's ``resized-cache-protocol`` pre-resize (see :func:`videoxai.data.prompt_tuning_frames.resize_for_protocol`)."""
    if protocol is None:
        return h, w
    if protocol == "preserve-aspect-ratio":
        new = (size, int(w * (size / h))) if h < w else (int(h * (size / w)), size)
    elif protocol == "interpolate-smallest-side":
        new = (size, w) if h < w else (h, size)
    elif protocol == "interpolate-longest-side":
        new = (size, w) if h > w else (h, size)
    else:
        raise ClipSkipped(f"unknown resize protocol {protocol!r}")
    if new == (h, w):
        return h, w
    return max(new[0], size), max(new[1], size)


def probe_video(path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """``(frames, H, W)`` of a video's first video stream from its header (frames 0 when the header has none)."""
    import av

    path = Path(path)
    if not path.is_file():
        raise ClipSkipped(f"video {path} is missing: its decoded size is needed to place the annotation")
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise ClipSkipped(f"{path} has no video stream")
            stream = container.streams.video[0]
            return int(stream.frames or 0), int(stream.codec_context.height), int(stream.codec_context.width)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise ClipSkipped(f"{path} cannot be opened ({type(exc).__name__}: {exc})") from exc


@dataclass
class ClipTarget:
    """What one explained clip is scored against: bool ``masks`` ``(T, S, S)`` and ``in_tube`` ``(T,)``.

    ``in_tube[t]``: the annotation marks the action on sampled frame ``t`` (a
    box or a non-empty mask), whether or not it falls inside the crop.
    """

    masks: np.ndarray
    in_tube: np.ndarray
    frame_numbers: list[int]


def _rasterise_boxes(boxes: np.ndarray, size: int) -> np.ndarray:
    """bool ``(S, S)``: pixels whose centre lies in any of the ``(k, 4)`` view-coordinate boxes.

    A box that overlaps the view but covers no pixel centre (thinner than a
    pixel) still marks the pixel that holds its centre, so a visible person is never lost.
    """
    out = np.zeros((size, size), dtype=bool)
    for x1, y1, x2, y2 in boxes:
        x1, x2 = max(x1, 0.0), min(x2, float(size))
        y1, y2 = max(y1, 0.0), min(y2, float(size))
        if not (x2 > x1 and y2 > y1):
            continue
        c0, c1 = math.ceil(x1 - 0.5), math.floor(x2 - 0.5)
        r0, r1 = math.ceil(y1 - 0.5), math.floor(y2 - 0.5)
        if c1 < c0 or r1 < r0:
            c0 = c1 = min(int((x1 + x2) / 2), size - 1)
            r0 = r1 = min(int((y1 + y2) / 2), size - 1)
        out[max(r0, 0) : min(r1, size - 1) + 1, max(c0, 0) : min(c1, size - 1) + 1] = True
    return out


def clip_target(
    ann: ClipAnnotation, frame_indices: Sequence[int], decoded: Sequence[int], geometry: ViewGeometry
) -> ClipTarget:
    """The annotation of the sampled frames, on the model's ``size x size`` view.

    ``frame_indices`` are the 0-based decoded frames the model saw;
    ``decoded`` the decoded ``(H, W)``. Raises :class:`ClipSkipped` when the
    annotation has a problem or does not cover a sampled frame (the clip is
    longer than its annotation: another cut of the video?).
    """
    if ann.problem:
        raise ClipSkipped(ann.problem)
    numbers = [int(i) + 1 for i in frame_indices]
    if min(numbers) < 1:
        raise ClipSkipped(f"sampled frame indices {list(frame_indices)} include a negative one (an undecoded clip?)")
    if ann.nframes is not None and max(numbers) > ann.nframes:
        raise ClipSkipped(
            f"sampled frame {max(numbers)} is beyond the {ann.nframes} frames the annotation covers: "
            "is the video the annotated version (same cut and frame rate)?"
        )
    hd, wd = int(decoded[0]), int(decoded[1])
    ha, wa = ann.resolution if ann.resolution is not None else (hd, wd)
    gy, gx = geometry.scale_y * hd / ha, geometry.scale_x * wd / wa  # annotation pixels -> view pixels
    s = geometry.size
    masks = np.zeros((len(numbers), s, s), dtype=bool)
    in_tube = np.zeros(len(numbers), dtype=bool)
    if ann.masks is not None:
        rows = np.clip(np.floor((np.arange(s) + 0.5 + geometry.top) / gy).astype(int), 0, ha - 1)
        cols = np.clip(np.floor((np.arange(s) + 0.5 + geometry.left) / gx).astype(int), 0, wa - 1)
        for t, n in enumerate(numbers):
            frame = ann.masks[n - 1]
            in_tube[t] = bool(frame.any())
            masks[t] = frame[np.ix_(rows, cols)]
    else:
        for t, n in enumerate(numbers):
            boxes = (ann.boxes or {}).get(n)
            if boxes is None or not len(boxes):
                continue
            b = np.asarray(boxes, dtype=np.float64).copy()
            b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, wa) * gx - geometry.left
            b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, ha) * gy - geometry.top
            in_tube[t] = True
            masks[t] = _rasterise_boxes(b, s)
    return ClipTarget(masks=masks, in_tube=in_tube, frame_numbers=numbers)
