"""Decode selected frames of a video file to RGB uint8 arrays.

Every failure becomes a :class:`DecodeError` with a short reason, so a data
loader can turn a bad clip into an error row instead of stopping the run.
Readers are opened per call and closed at once: caching open readers grows
memory (decord keeps decoding in the background) and leaks file handles.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np


class DecodeError(RuntimeError):
    """A video could not be decoded; ``reason`` is short enough for a Parquet ``error`` cell."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DecodeError(path, "file not found")
    if not path.is_file():
        raise DecodeError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise DecodeError(path, "empty file")


def _short(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:120]


def _open(path: Path) -> av.container.InputContainer:
    _check_file(path)
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(path, f"cannot open: {_short(exc)}") from exc


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise DecodeError(path, "no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "SLICE"
    stream.thread_count = 1  # one decoder thread: DataLoader workers give the parallelism
    return stream


def count_frames(path: str | os.PathLike[str]) -> int:
    """Number of frames in the first video stream.

    Uses the container's frame count when it has one (cheap) and counts
    decoded frames otherwise. A header can overstate a truncated file;
    :func:`read_frames` then reports the shortfall.
    """
    p = Path(path)
    container = _open(p)
    try:
        stream = _video_stream(container, p)
        if stream.frames and stream.frames > 0:
            return int(stream.frames)
        n = 0
        try:
            for _ in container.decode(stream):
                n += 1
        except (av.FFmpegError, OSError) as exc:
            if n == 0:
                raise DecodeError(p, f"no decodable frames: {_short(exc)}") from exc
        if n == 0:
            raise DecodeError(p, "zero decodable frames")
        return n
    finally:
        container.close()


def read_frames(path: str | os.PathLike[str], indices: Sequence[int]) -> np.ndarray:
    """Frames ``indices`` (any order, repeats allowed) as ``(len(indices), H, W, 3)`` uint8 RGB.

    Decodes sequentially up to the largest index and converts only the
    frames asked for (conversion, not decoding, dominates for small clips).
    """
    p = Path(path)
    if len(indices) == 0:
        raise ValueError("indices is empty")
    wanted = {int(i) for i in indices}
    if min(wanted) < 0:
        raise ValueError(f"negative frame index in {list(indices)}")
    last = max(wanted)
    got: dict[int, np.ndarray] = {}
    container = _open(p)
    try:
        stream = _video_stream(container, p)
        n = 0
        try:
            for frame in container.decode(stream):
                if n in wanted:
                    got[n] = frame.to_ndarray(format="rgb24")
                n += 1
                if n > last:
                    break
        except (av.FFmpegError, OSError, ValueError) as exc:
            if n == 0:
                raise DecodeError(p, f"no decodable frames: {_short(exc)}") from exc
            # a corrupt tail: keep what decoded, report below if it is not enough
    finally:
        container.close()
    if n == 0:
        raise DecodeError(p, "zero decodable frames")
    if len(got) < len(wanted):
        raise DecodeError(p, f"truncated: {n} frames decodable, frame {last} requested")
    shapes = {a.shape for a in got.values()}
    if len(shapes) > 1:
        raise DecodeError(p, f"frame size changes within the clip: {sorted(shapes)}")
    return np.stack([got[int(i)] for i in indices])
