"""Video corruptions that need the whole stream: a corrupted temporary copy the usual decoder then reads.

Yi et al. (2021) make these with the ffmpeg command line; here PyAV (whose
bundled FFmpeg has libx264 and libx265) decodes the clip once and writes the
copy into a temporary folder that the caller removes:

- ``motion_blur``: frame ``i`` is the mean of frames ``i-c .. i+c-1`` (2c
  frames); the first and last ``c`` frames are dropped, as in the reference;
- ``frame_rate``: the frames shown at ``c`` frames per second are kept;
- both stored losslessly (FFV1), so only the corruption changes the pixels;
- ``h264_crf`` / ``h265_crf``: re-encoded at constant rate factor ``c``;
- ``h264_abr`` / ``h265_abr``: re-encoded at the source's bit rate / ``c``
  (target, maximum and buffer size, as the reference sets them);
- ``bit_error``: the source's packets copied with one byte in ``c`` replaced by a
  random byte (what FFmpeg's ``noise`` bitstream filter does), then decoded as
  far as the decoder gets.

``motion_blur`` and ``frame_rate`` only re-time or average the source's frames, so
the loader does not write their copy: :func:`decode_retimed_clip` decodes just the
source frames the sampled frames of the corrupted clip are made of and makes
those (the same pixels as decoding the lossless copy; the tests compare them).

Odd widths or heights lose their last column or row before H.264/H.265 (the
reference's ``crop='iw-mod(iw,2)':'ih-mod(ih,2)'``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from videoxai.data import corruptions as C
from videoxai.data.decode import DecodedClip, count_frames, read_frames, resolve_decoder
from videoxai.data.encode import Codec
from videoxai.data.sampling import segment_views

LOSSLESS = Codec("ffv1", "bgr0")
# one encoder thread each, as the rest of decoding. x264 / x265 still gave streams a grey level or two apart for the
# same frames in some runs here (their rate control; docs/shift.md): the codec corruptions are the only ones whose
# pixels are not fixed by the seed alone
_ONE_THREAD = {"libx264": {"threads": "1"}, "libx265": {"x265-params": "log-level=none:pools=none:frame-threads=1"}}


def read_all(path: str | os.PathLike[str]) -> tuple[np.ndarray, Fraction, int]:
    """Every frame of the first video stream (N, H, W, 3) uint8, its frame rate and the container's bit rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_count = 1
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
        bit_rate = int(container.bit_rate or stream.bit_rate or 0)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    if not frames:
        raise C.CorruptionError(f"{path}: no decodable frames to corrupt")
    return np.stack(frames), rate, bit_rate


RETIMED = ("motion_blur", "frame_rate")  # video corruptions made from the sampled frames' sources alone


def _check_blur(n: int, severity: int) -> int:
    c = C.MOTION_BLUR[severity - 1]
    if n <= 2 * c:
        raise C.CorruptionError(f"motion_blur severity {severity} needs more than {2 * c} frames, the clip has {n}")
    return c


def _rate(path: str | os.PathLike[str]) -> Fraction:
    """The first video stream's frame rate, as :func:`read_all` reads it."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return Fraction(stream.average_rate or stream.guessed_rate or 25)


def retimed_frames(
    path: str | os.PathLike[str],
    name: str,
    severity: int,
    sample: Callable[[int], tuple[list[list[int]], bool]],
    decoder: str = "auto",
) -> tuple[np.ndarray, list[list[int]], bool, int]:
    """The frames ``sample`` (a frame count -> views, padded) picks from ``path`` under ``motion_blur`` or ``frame_rate``.

    Decodes only the source frames they are made of. Returns ``(frames (V, T, H, W, 3), views, padded, total)``,
    ``views`` and ``total`` in the corrupted clip's frames.
    """
    if name not in RETIMED:
        raise C.CorruptionError(f"{name} is not one of the re-timing corruptions {', '.join(RETIMED)}")
    C.check_severity(severity)
    n = count_frames(path, decoder)
    if name == "motion_blur":
        c = _check_blur(n, severity)
        total = n - 2 * c

        def sources(i: int) -> list[int]:  # frame i of the blurred clip: the mean of source frames i .. i + 2c - 1
            return list(range(i, i + 2 * c))
    else:
        kept = frame_rate_indices(n, _rate(path), C.FRAME_RATE[severity - 1])
        total = len(kept)

        def sources(i: int) -> list[int]:
            return [kept[i]]

    views, padded = sample(total)
    wanted = sorted({i for view in views for i in view})
    needed = sorted({j for i in wanted for j in sources(i)})
    decoded = read_frames(path, needed, decoder=decoder)
    position = {j: k for k, j in enumerate(needed)}
    made = {}
    for i in wanted:
        parts = decoded[[position[j] for j in sources(i)]]
        # the blur as motion_blur() computes it: an exact uint16 sum over 2c, truncated to uint8
        made[i] = (
            parts[0] if len(parts) == 1 else (parts.sum(axis=0, dtype=np.uint16) / float(len(parts))).astype(np.uint8)
        )
    return np.stack([np.stack([made[i] for i in view]) for view in views]), views, padded, total


def decode_retimed_clip(
    path: str | os.PathLike[str], name: str, severity: int, num_frames: int, num_views: int = 1, decoder: str = "auto"
) -> DecodedClip:
    """:func:`~videoxai.data.decode.decode_clip` of the ``motion_blur`` / ``frame_rate`` copy, without the copy."""
    frames, views, padded, total = retimed_frames(
        path, name, severity, lambda n: segment_views(n, num_frames, num_views), decoder
    )
    return DecodedClip(frames=frames, indices=views, padded=padded, total=total, backend=resolve_decoder(decoder))


def motion_blur(frames: np.ndarray, severity: int) -> np.ndarray:
    """Mean of 2c consecutive frames for each frame with c frames before and after it (truncated to uint8)."""
    n = len(frames)
    c = _check_blur(n, severity)
    out = np.empty((n - 2 * c, *frames.shape[1:]), dtype=np.uint8)
    window = frames[: 2 * c].astype(np.uint16).sum(axis=0)  # exact: at most 22 x 255
    for i in range(n - 2 * c):  # output i: frames i .. i + 2c - 1, a running sum (one frame in, one out)
        if i:
            window += frames[i + 2 * c - 1]
            window -= frames[i - 1]
        out[i] = window / (2.0 * c)  # truncated to uint8 on assignment, as the reference
    return out


def frame_rate_indices(n: int, rate: Fraction, target: int) -> list[int]:
    """The frames on screen at times k / target (k = 0, 1, ...) of a clip of ``n`` frames at ``rate``."""
    if target >= rate:
        return list(range(n))
    duration = Fraction(n) / rate
    count = max(1, int(duration * target))
    return [min(n - 1, int(Fraction(k, target) * rate)) for k in range(count)]


def _even(frames: np.ndarray) -> np.ndarray:
    h, w = frames.shape[1:3]
    return frames[:, : h - h % 2, : w - w % 2]


def _encode(dst: Path, frames: np.ndarray, rate: Fraction, codec: Codec) -> None:
    """One encoder, one thread, frames numbered 0, 1, ...: the same frames give the same stream in every run."""
    h, w = frames.shape[1:3]
    with av.open(str(dst), mode="w", format="matroska") as out:
        stream = out.add_stream(codec.name, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, codec.pix_fmt
        stream.options = dict(codec.options)
        stream.codec_context.thread_count = 1
        for i, arr in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
            frame.pts = i  # without timestamps x264's rate control differs from run to run
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _codec(name: str, severity: int, bit_rate: int) -> Codec:
    lib = "libx264" if name.startswith("h264") else "libx265"
    extra = _ONE_THREAD[lib]
    if name.endswith("crf"):
        crf = (C.H264_CRF if lib == "libx264" else C.H265_CRF)[severity - 1]
        return Codec(lib, "yuv420p", {"crf": str(crf), **extra})
    if bit_rate <= 0:
        raise C.CorruptionError(f"{name} needs the source's bit rate, which its container does not declare")
    target = str(int(bit_rate / C.ABR_DIVISOR[severity - 1]))
    return Codec(lib, "yuv420p", {"b": target, "maxrate": target, "bufsize": target, **extra})


def bit_errors(src: Path, dst: Path, severity: int, rng: np.random.Generator) -> None:
    """Copy ``src``'s video packets into ``dst`` with each byte replaced by a random one with probability 1/c."""
    amount = C.BIT_ERROR[severity - 1]
    with av.open(str(src)) as inp, av.open(str(dst), mode="w") as out:  # dst has src's suffix: its container
        stream = inp.streams.video[0]
        ostream = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is None or not packet.size:
                continue
            data = np.frombuffer(bytes(packet), dtype=np.uint8).copy()
            hit = rng.random(data.size) < 1.0 / amount
            data[hit] = rng.integers(0, 256, size=int(hit.sum()), dtype=np.uint8)
            damaged = av.Packet(data.tobytes())
            damaged.pts, damaged.dts, damaged.time_base = packet.pts, packet.dts, packet.time_base
            damaged.is_keyframe = packet.is_keyframe
            damaged.stream = ostream
            out.mux(damaged)


def corrupt_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], name: str, severity: int, rng) -> Path:
    """Write ``src`` under video corruption ``name`` at ``severity`` to ``dst``; returns ``dst``.

    ``dst`` is a Matroska file, except for ``bit_error``, which keeps ``src``'s container (``dst`` takes its suffix).
    """
    if C.get(name).kind != "video":
        raise C.CorruptionError(f"{name} is a frame corruption: apply it to decoded frames (corrupt_frames)")
    C.check_severity(severity)
    src, dst = Path(src), Path(dst)
    if name == "bit_error":
        bit_errors(src, dst, severity, rng)
        return dst
    frames, rate, bit_rate = read_all(src)
    if name == "motion_blur":
        _encode(dst, motion_blur(frames, severity), rate, LOSSLESS)
    elif name == "frame_rate":
        target = C.FRAME_RATE[severity - 1]
        kept = frames[frame_rate_indices(len(frames), rate, target)]
        _encode(dst, kept, Fraction(min(Fraction(target), rate)), LOSSLESS)
    else:
        _encode(dst, _even(frames), rate, _codec(name, severity, bit_rate))
    return dst


@contextlib.contextmanager
def corrupted_copy(src: str | os.PathLike[str], name: str, severity: int, rng) -> Iterator[Path]:
    """A temporary corrupted copy of ``src`` (removed on exit), for the decoder to read like any clip."""
    with tempfile.TemporaryDirectory(prefix="videoxai-corrupt-") as tmp:
        suffix = Path(src).suffix if name == "bit_error" else ".mkv"
        yield corrupt_file(src, Path(tmp) / f"clip{suffix}", name, severity, rng)
