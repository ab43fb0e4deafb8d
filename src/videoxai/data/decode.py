"""Decode selected frames of a video file to RGB uint8 arrays, with one of three backends.

Backends: ``torchcodec``, ``decord`` and ``pyav`` (the reference; always
installed). ``decoder="auto"`` takes the first available one in
:data:`AUTO_ORDER` (fastest first, from ``benchmarks/decode.py``) and, if it
fails on a file, retries with PyAV before reporting the error. All backends
give identical frames for the same indices (tested on .avi and .mp4).

Every failure becomes a :class:`DecodeError` with a short reason, so a data
loader can turn a bad clip into an error row instead of stopping the run.
Each backend's own exceptions are caught (decord raises ``DECORDError``,
which is not a ``RuntimeError``). Readers are opened per call and closed at
once: caching open readers grows memory (decord keeps decoding in the
background) and leaks file handles. Each reader uses one decoder thread:
DataLoader workers give the parallelism.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from videoxai.data.sampling import segment_views

BACKENDS: tuple[str, ...] = ("torchcodec", "decord", "pyav")
AUTO_ORDER: tuple[str, ...] = ("torchcodec", "pyav", "decord")
DECODERS: tuple[str, ...] = ("auto", *BACKENDS)
# Importing torchcodec registers its torch operators: ~1.2 s on this project's 2-core machine. It then decodes
# UCF101-sized clips (320x240 .avi) ~12 ms faster than PyAV (179 vs 56 clips/s, benchmarks/decode.py), so it
# repays the import after ~100 clips. ``auto`` takes PyAV for jobs with fewer clips than this (an explanation's
# few selected clips); the frames are the same either way.
AUTO_TORCHCODEC_MIN_CLIPS = 128


class DecodeError(RuntimeError):
    """A video could not be decoded; ``reason`` is short enough for a Parquet ``error`` cell."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


_NOISE = (
    re.compile(r"^\w+, \S+:\d+, "),  # torchcodec: "Function, /src/file.cpp:41, message"
    re.compile(r"^\[[\d:]+\] \S+:\d+: "),  # decord: "[08:10:37] /src/file.cc:61: message"
)


def _short(exc: BaseException, path: Path | None = None) -> str:
    """A one-line reason without source-file locations or the (already known) full path."""
    text = str(getattr(exc, "strerror", None) or exc).strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    for pattern in _NOISE:
        text = pattern.sub("", text)
    if path is not None:
        text = text.replace(str(path), path.name)
    return " ".join(text.split())[:100] or type(exc).__name__


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DecodeError(path, "file not found")
    if not path.is_file():
        raise DecodeError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise DecodeError(path, "empty file")


# --------------------------------------------------------------------------- backends


class _Reader(Protocol):
    def count(self) -> int: ...  # frames the backend will index
    def header_count(self) -> int: ...  # frames the container header declares, 0 if unknown
    def get(self, indices: list[int]) -> np.ndarray: ...  # sorted unique indices -> (N, H, W, 3)
    def close(self) -> None: ...


class _PyAVReader:
    """Sequential decode up to the last wanted frame; converts only the frames asked for."""

    errors = (av.FFmpegError, OSError, ValueError, UnicodeDecodeError, MemoryError)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.container = av.open(str(path), mode="r")
        if not self.container.streams.video:
            self.container.close()
            raise DecodeError(path, "no video stream")
        self._setup()

    def _setup(self) -> None:
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "SLICE"
        self.stream.thread_count = 1

    def count(self) -> int:
        """Non-empty packets of the stream (one per frame), like torchcodec's exact scan; no decoding."""
        n = 0
        try:
            for packet in self.container.demux(self.stream):
                if packet.size:
                    n += 1
        except self.errors:
            pass  # a corrupt tail ends the count
        self.container.close()  # rewind by reopening: seeking is unreliable in broken files
        self.container = av.open(str(self.path), mode="r")
        self._setup()
        return n

    def header_count(self) -> int:
        return max(int(self.stream.frames or 0), 0)

    def get(self, indices: list[int]) -> np.ndarray:
        wanted, last = set(indices), indices[-1]
        got: list[np.ndarray] = []
        n = 0
        try:
            for frame in self.container.decode(self.stream):
                if n in wanted:
                    got.append(frame.to_ndarray(format="rgb24"))
                n += 1
                if n > last:
                    break
        except self.errors:
            pass  # keep what decoded; the shortfall is reported by the caller
        if len(got) < len(indices):
            raise _Short(n)
        return _stack(self.path, got)

    def close(self) -> None:
        self.container.close()


class _TorchCodecReader:
    """torchcodec ``VideoDecoder`` in exact seek mode (frame index from a scan of the file)."""

    def __init__(self, path: Path) -> None:
        from torchcodec.decoders import VideoDecoder

        self.path = path
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.decoder = VideoDecoder(str(path), dimension_order="NHWC", num_ffmpeg_threads=1, seek_mode="exact")

    def count(self) -> int:
        return len(self.decoder)

    def header_count(self) -> int:
        return int(self.decoder.metadata.num_frames_from_header or 0)

    def get(self, indices: list[int]) -> np.ndarray:
        try:
            return self.decoder.get_frames_at(indices).data.numpy()
        except IndexError as exc:
            raise _Short(len(self.decoder)) from exc

    def close(self) -> None:
        self.decoder = None


class _DecordReader:
    """decord ``VideoReader`` (bundles its own FFmpeg)."""

    def __init__(self, path: Path) -> None:
        import decord

        self.path = path
        self.reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=1)

    def count(self) -> int:
        return len(self.reader)

    def header_count(self) -> int:
        return _pyav_header_count(self.path)  # decord does not expose the header

    def get(self, indices: list[int]) -> np.ndarray:
        if indices[-1] >= len(self.reader):
            raise _Short(len(self.reader))
        return self.reader.get_batch(indices).asnumpy()

    def close(self) -> None:
        del self.reader


def _pyav_header_count(path: Path) -> int:
    try:
        with av.open(str(path), mode="r") as container:
            return max(int(container.streams.video[0].frames or 0), 0) if container.streams.video else 0
    except (av.FFmpegError, OSError, ValueError):
        return 0


class _Short(Exception):
    """Fewer frames decodable than the largest index asked for."""

    def __init__(self, decodable: int) -> None:
        super().__init__(decodable)
        self.decodable = decodable


def _stack(path: Path, frames: list[np.ndarray]) -> np.ndarray:
    shapes = {a.shape for a in frames}
    if len(shapes) > 1:
        raise DecodeError(path, f"frame size changes within the clip: {sorted(shapes)}")
    return np.stack(frames)


@functools.cache
def _backend_errors(name: str) -> tuple[type[BaseException], ...]:
    """What each backend really raises on a bad file (caught and turned into DecodeError)."""
    base: tuple[type[BaseException], ...] = (RuntimeError, ValueError, OSError, MemoryError, UnicodeDecodeError)
    if name == "pyav":
        return (av.FFmpegError, *base)
    if name == "decord":
        from decord._ffi.base import DECORDError

        return (DECORDError, *base)
    return base


_READERS = {"pyav": _PyAVReader, "torchcodec": _TorchCodecReader, "decord": _DecordReader}


@functools.cache
def _probe(name: str) -> str | None:
    """None when backend ``name`` works here, else why not (import errors, missing FFmpeg libraries)."""
    try:
        if name == "torchcodec":
            import torchcodec
            import torchcodec.decoders

            # Recent torchcodec imports without FFmpeg and fails on the first video instead; it says so here.
            if getattr(torchcodec, "ffmpeg_major_version", 0) is None:
                raise ImportError("torchcodec found no FFmpeg libraries (libavutil, libavcodec, ...) on this machine")
        elif name == "decord":
            import decord  # noqa: F401
    except Exception as exc:
        return f"{type(exc).__name__}: {_short(exc)}"
    return None


def available_backends() -> list[str]:
    """The backends that import on this machine, in :data:`AUTO_ORDER`."""
    return [name for name in AUTO_ORDER if _probe(name) is None]


def resolve_decoder(decoder: str = "auto") -> str:
    """The backend ``decoder`` names (``auto``: the fastest available); a clear error if it cannot run here."""
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
    if decoder == "auto":  # the first that works: the others are never imported (decord alone costs 0.1 s)
        return next(name for name in AUTO_ORDER if _probe(name) is None)
    why = _probe(decoder)
    if why is not None:
        hint = " (install the Debian 'ffmpeg' package)" if decoder == "torchcodec" else ""
        raise RuntimeError(f"decoder {decoder!r} is not usable here: {why}{hint}; use decoder='auto' or 'pyav'")
    return decoder


def decoder_for_job(decoder: str, clips: int) -> str:
    """The decoder a job of ``clips`` clips uses: ``auto`` is PyAV below :data:`AUTO_TORCHCODEC_MIN_CLIPS` clips
    (every backend gives the same frames, so only the time changes), else ``decoder`` itself."""
    if decoder == "auto" and clips < AUTO_TORCHCODEC_MIN_CLIPS:
        return "pyav"
    return decoder


# --------------------------------------------------------------------------- public API


@dataclass
class DecodedClip:
    """Frames of ``num_views`` temporal views: ``frames`` uint8 (V, T, H, W, 3), ``indices`` (V x T)."""

    frames: np.ndarray
    indices: list[list[int]]
    padded: bool
    total: int
    backend: str


def _with_backends(path: Path, decoder: str, job):
    """Run ``job(reader, backend)`` with the chosen backend; ``auto`` retries once with PyAV."""
    _check_file(path)
    first = resolve_decoder(decoder)
    order = [first] + (["pyav"] if decoder == "auto" and first != "pyav" else [])
    error: DecodeError | None = None
    for backend in order:
        try:
            return _run(path, backend, job)
        except DecodeError as exc:
            error = error or exc
    assert error is not None
    raise error


def _run(path: Path, backend: str, job):
    errors = _backend_errors(backend)
    try:
        reader: _Reader = _READERS[backend](path)
    except DecodeError:
        raise
    except errors as exc:
        raise DecodeError(path, f"cannot open: {_short(exc, path)}") from exc
    try:
        return job(reader, backend)
    except DecodeError:
        raise
    except _Short as exc:
        if exc.decodable == 0:
            raise DecodeError(path, "zero decodable frames") from None
        declared = _safe_header(reader)
        of = f" of {declared}" if declared > exc.decodable else ""
        raise DecodeError(path, f"truncated: {exc.decodable}{of} frames decodable") from None
    except errors as exc:
        raise DecodeError(path, f"cannot decode: {_short(exc, path)}") from exc
    finally:
        try:
            reader.close()
        except errors:
            pass


def _safe_header(reader: _Reader) -> int:
    try:
        return reader.header_count()
    except Exception:
        return 0


def _count(reader: _Reader, path: Path) -> int:
    """Frames to sample from; a header that declares clearly more frames than the file holds means truncation."""
    n = reader.count()
    if n <= 0:
        raise DecodeError(path, "zero decodable frames")
    declared = reader.header_count()
    if declared and n < 0.9 * declared:  # small gaps are normal (dropped frames in AVI); large ones are not
        raise DecodeError(path, f"truncated: {n} of {declared} frames in the file")
    return n


def count_frames(path: str | os.PathLike[str], decoder: str = "auto") -> int:
    """Number of frames in the first video stream (from the index or header, else by decoding)."""
    p = Path(path)
    return _with_backends(p, decoder, lambda reader, _: _count(reader, p))


def read_frames(path: str | os.PathLike[str], indices: Sequence[int], decoder: str = "auto") -> np.ndarray:
    """Frames ``indices`` (any order, repeats allowed) as ``(len(indices), H, W, 3)`` uint8 RGB."""
    p = Path(path)
    wanted = [int(i) for i in indices]
    if not wanted:
        raise ValueError("indices is empty")
    if min(wanted) < 0:
        raise ValueError(f"negative frame index in {wanted}")
    unique = sorted(set(wanted))

    def job(reader: _Reader, _: str) -> np.ndarray:
        frames = reader.get(unique)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise DecodeError(p, f"unexpected frame array shape {frames.shape}")
        position = {i: k for k, i in enumerate(unique)}
        return frames[[position[i] for i in wanted]]

    return _with_backends(p, decoder, job)


def decode_clip(
    path: str | os.PathLike[str], num_frames: int, num_views: int = 1, decoder: str = "auto"
) -> DecodedClip:
    """Open once, count, sample ``num_views`` x ``num_frames`` segment frames, decode them.

    A clip shorter than ``num_frames`` is padded by repeating frames
    (``padded=True``); a file whose frames run out before its declared
    count raises ``DecodeError("truncated: ...")``.
    """
    p = Path(path)

    def job(reader: _Reader, backend: str) -> DecodedClip:
        total = _count(reader, p)
        views, padded = segment_views(total, num_frames, num_views)
        unique = sorted({i for view in views for i in view})
        frames = reader.get(unique)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise DecodeError(p, f"unexpected frame array shape {frames.shape}")
        position = {i: k for k, i in enumerate(unique)}
        stacked = np.stack([frames[[position[i] for i in view]] for view in views])
        return DecodedClip(frames=stacked, indices=views, padded=padded, total=total, backend=backend)

    return _with_backends(p, decoder, job)
