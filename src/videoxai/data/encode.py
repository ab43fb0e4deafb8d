"""Writing RGB frames to a video file with PyAV: the one encoder loop of the package (the inverse of ``decode``).

Two callers choose the codec: the demo dataset stores its clips losslessly
(:data:`LOSSLESS`, so decoded frames equal generated frames bit for bit and the
masks align), and :func:`videoxai.render.video.encode_mp4` writes browser H.264
(yuv420p, moov atom first). Both stream frames into one encoder and write the
file atomically, so a killed job never leaves a half-written video.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from videoxai.io import atomic_path


@dataclass(frozen=True)
class Codec:
    """An encoder, the pixel format it encodes and its options (x264's ``crf`` / ``preset`` ...)."""

    name: str
    pix_fmt: str
    options: Mapping[str, str] = field(default_factory=dict)


# container -> a codec that is exactly lossless in RGB
LOSSLESS: dict[str, Codec] = {
    "avi": Codec("ffvhuff", "gbrp"),
    "mp4": Codec("libx264rgb", "rgb24", {"crf": "0", "preset": "ultrafast"}),
}


def write_frames(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    codec: Codec,
    fps: int | float | Fraction,
    *,
    container: str | None = None,
    container_options: Mapping[str, str] | None = None,
    threads: int = 0,
) -> tuple[int, int, int]:
    """Stream (H, W, 3) uint8 RGB frames into one ``codec`` encoder; write ``path`` atomically.

    ``container`` is the muxer (default: the suffix, ``.avi`` -> ``avi``);
    ``threads`` caps the encoder's threads (0: the codec's own choice).
    Every frame must have the first one's shape. Returns (frames written, width, height).
    """
    path = Path(path)
    fmt = container or path.suffix.lstrip(".").lower()
    if threads < 0:
        raise ValueError(f"threads must be >= 0 (0 = let the encoder choose), got {threads}")
    it = iter(frames)
    try:
        first = np.asarray(next(it))
    except StopIteration:
        raise ValueError(f"no frames to encode for {path}") from None
    if first.ndim != 3 or first.shape[2] != 3 or first.dtype != np.uint8:
        raise ValueError(f"frames for {path} must be (H, W, 3) uint8, got {first.shape} {first.dtype}")
    height, width = first.shape[:2]
    n = 0
    import av  # here, not at the top: the workflow imports this module while planning (demo.smk)

    with atomic_path(path) as tmp:
        with av.open(str(tmp), mode="w", format=fmt, options=dict(container_options or {})) as out:
            stream = out.add_stream(codec.name, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, codec.pix_fmt
            stream.options = dict(codec.options)
            if threads:
                stream.codec_context.thread_count = threads
            arr = first
            while True:
                if arr.shape != first.shape:
                    raise ValueError(f"frame {n} has shape {arr.shape}, expected {first.shape}: all frames must match")
                out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")))
                n += 1
                try:
                    arr = np.asarray(next(it))
                except StopIteration:
                    break
            out.mux(stream.encode(None))
    return n, width, height


def write_lossless(path: str | os.PathLike[str], frames: np.ndarray, fps: int = 25) -> None:
    """Write uint8 (T, H, W, 3) frames losslessly; the codec follows the suffix (.avi: FFV-HuffYUV, .mp4: x264 RGB)."""
    kind = Path(path).suffix.lstrip(".").lower()
    if kind not in LOSSLESS:
        raise ValueError(
            f"unsupported lossless container {Path(path).suffix!r} for {path}: use one of {sorted(LOSSLESS)}"
        )
    write_frames(path, frames, LOSSLESS[kind], fps, threads=1)
