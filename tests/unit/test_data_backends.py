"""torchcodec, decord and PyAV give identical frames and counts; choosing a backend."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from videoxai.data import decode
from videoxai.data.decode import AUTO_ORDER, available_backends, count_frames, decode_clip, read_frames, resolve_decoder
from videoxai.data.encode import write_lossless
from videoxai.demo.dataset import make_clip

BACKENDS = available_backends()


def _encode(path: Path, codec: str, pix_fmt: str, options: dict[str, str], n: int = 30) -> Path:
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:48, 0:80].astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt, stream.options = 80, 48, pix_fmt, options
        for t in range(n):
            img = np.stack([128 + 80 * np.sin((xx + 3 * t) / (6 + c) + yy / 9) for c in range(3)], -1)
            img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("backends")
    demo_frames, _ = make_clip(6, np.random.default_rng(0), 16, 64)
    write_lossless(d / "demo.avi", demo_frames)
    write_lossless(d / "demo.mp4", demo_frames)
    return {
        "h264_yuv420p.mp4": _encode(d / "h264.mp4", "libx264", "yuv420p", {"preset": "fast", "g": "10", "bf": "2"}),
        "mpeg4_xvid_like.avi": _encode(d / "mpeg4.avi", "mpeg4", "yuv420p", {"qscale": "4", "g": "12"}),
        "demo_ffvhuff.avi": d / "demo.avi",
        "demo_h264rgb.mp4": d / "demo.mp4",
    }


@pytest.mark.needs("ffmpeg")
def test_all_three_backends_are_installed_here() -> None:
    # the project depends on all three; if this fails, install them (see the report / environment.yml)
    why = decode._probe("torchcodec")
    if why is not None and "FFmpeg" in why:  # installed, but the optional system FFmpeg is absent (README)
        pytest.skip(f"torchcodec finds no FFmpeg libraries here (apt-get install ffmpeg): {why}")
    assert set(BACKENDS) == {"torchcodec", "decord", "pyav"}


@pytest.mark.parametrize("name", ["h264_yuv420p.mp4", "mpeg4_xvid_like.avi", "demo_ffvhuff.avi", "demo_h264rgb.mp4"])
def test_backends_return_identical_frames(videos: dict[str, Path], name: str) -> None:
    path = videos[name]
    reference_count = count_frames(path, decoder="pyav")
    indices = [reference_count - 1, 0, 3, 3, reference_count // 2]  # unsorted, repeated, last frame
    reference = read_frames(path, indices, decoder="pyav")
    clip_ref = decode_clip(path, 8, num_views=2, decoder="pyav")
    for backend in BACKENDS:
        assert count_frames(path, decoder=backend) == reference_count, backend
        assert np.array_equal(read_frames(path, indices, decoder=backend), reference), backend
        clip = decode_clip(path, 8, num_views=2, decoder=backend)
        assert clip.indices == clip_ref.indices and clip.backend == backend
        assert np.array_equal(clip.frames, clip_ref.frames), backend


def test_decode_clip_views_and_padding(videos: dict[str, Path]) -> None:
    clip = decode_clip(videos["demo_ffvhuff.avi"], 8, num_views=2)
    assert clip.frames.shape == (2, 8, 64, 64, 3) and clip.total == 16 and not clip.padded
    assert clip.indices[0] != clip.indices[1]
    one = decode_clip(videos["demo_ffvhuff.avi"], 8)
    assert one.indices == [[1, 3, 5, 7, 9, 11, 13, 15]]
    long = decode_clip(videos["demo_ffvhuff.avi"], 20)
    assert long.padded and long.frames.shape[1] == 20


def test_auto_takes_the_first_available_in_order() -> None:
    assert resolve_decoder("auto") == BACKENDS[0] == next(b for b in AUTO_ORDER if b in BACKENDS)
    assert resolve_decoder("pyav") == "pyav"
    with pytest.raises(ValueError, match="decoder must be one of"):
        resolve_decoder("ffmpeg-cli")


def test_unusable_backend_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "_probe", lambda name: "ImportError: no module" if name == "decord" else None)
    with pytest.raises(RuntimeError, match="decoder 'decord' is not usable here"):
        resolve_decoder("decord")


def test_auto_falls_back_to_pyav_when_the_first_backend_fails(
    videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = resolve_decoder("auto")
    if first == "pyav":
        pytest.skip("auto already picks PyAV here: no faster backend to fall back from")

    class Broken:
        def __init__(self, path: Path) -> None:
            raise RuntimeError("simulated backend failure")

    monkeypatch.setitem(decode._READERS, first, Broken)
    path = videos["demo_ffvhuff.avi"]
    assert decode_clip(path, 4).backend == "pyav"
    with pytest.raises(decode.DecodeError, match="simulated backend failure"):
        decode_clip(path, 4, decoder=first)
