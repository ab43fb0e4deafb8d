"""The issue's list of bad inputs, each a real file, through every available backend.

Each must become a status=error item with a short reason, or a padded /
plain ok clip; nothing may raise out of the dataset.
"""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from videoxai.data.datasets import Sample
from videoxai.data.decode import available_backends
from videoxai.data.loader import ClipDataset
from videoxai.models.base import InputSpec

SPEC = InputSpec(num_frames=8, size=32)


def _encode(
    path: Path,
    n: int,
    width: int,
    height: int,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    gray: bool = False,
    container_options: dict | None = None,
    smooth: bool = False,
) -> Path:
    rng = np.random.default_rng(n + width)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        if n == 0:
            out.start_encoding()
        for t in range(n):
            if smooth:  # cheap to encode at 4K
                img = np.broadcast_to(
                    ((np.arange(width) + 8 * t) % 256).astype(np.uint8)[None, :, None], (height, width, 3)
                )
            else:
                img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(
                img[..., 0].copy() if gray else np.ascontiguousarray(img), format="gray" if gray else "rgb24"
            )
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _cut(src: Path, dst: Path, nbytes: int) -> Path:
    dst.write_bytes(src.read_bytes()[:nbytes])
    return dst


def _garbage_payload(src: Path, dst: Path) -> Path:
    """Keep the AVI structure, overwrite every video chunk's payload: the file opens, no frame decodes."""
    data = bytearray(src.read_bytes())
    movi = data.find(b"movi")
    i = movi
    while (i := data.find(b"00dc", i + 1)) >= 0:
        size = struct.unpack("<I", data[i + 4 : i + 8])[0]
        if 0 < size and i + 8 + size <= len(data) and data.rfind(b"idx1", 0, i) < 0:
            data[i + 8 : i + 8 + size] = b"\xff" * size
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    good_mp4_end = _encode(d / "good_end.mp4", 40, 64, 48)
    good_mp4_front = _encode(d / "good_front.mp4", 40, 64, 48, container_options={"movflags": "faststart"})
    good_avi = _encode(d / "good.avi", 40, 64, 48, codec="mpeg4")
    empty = d / "empty.avi"
    empty.write_bytes(b"")
    noise = d / "random.mp4"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    return {
        "good_mp4": good_mp4_end,
        "empty_file": empty,
        "header_1kb_mp4": _cut(good_mp4_front, d / "header.mp4", 1024),
        "header_1kb_avi": _cut(good_avi, d / "header.avi", 1024),
        "random_bytes": noise,
        "truncated_mp4_index_at_end": _cut(good_mp4_end, d / "trunc_end.mp4", good_mp4_end.stat().st_size // 2),
        "truncated_mp4_index_at_front": _cut(good_mp4_front, d / "trunc_front.mp4", good_mp4_front.stat().st_size // 2),
        "truncated_avi": _cut(good_avi, d / "trunc.avi", good_avi.stat().st_size // 2),
        "missing_file": d / "not_there.mp4",
        "zero_frames_mp4": _encode(d / "zero.mp4", 0, 64, 48),
        "zero_frames_avi": _encode(d / "zero.avi", 0, 64, 48, codec="mpeg4"),
        "zero_decodable_frames": _garbage_payload(good_avi, d / "garbage_frames.avi"),
        "fewer_frames_than_asked": _encode(d / "short.mp4", 3, 64, 48),
        "odd_width_height": _encode(d / "odd.avi", 10, 63, 47, codec="ffvhuff", pix_fmt="gbrp"),
        "odd_width_height_h264": _encode(d / "odd.mp4", 10, 63, 47, pix_fmt="yuv444p"),
        "grayscale": _encode(d / "gray.mp4", 10, 64, 48, pix_fmt="gray", gray=True),
        "4k": _encode(d / "4k.mp4", 8, 3840, 2160, smooth=True),
        "spaces_non_ascii_path": _encode(d / "dir with space é" / "vidé 日本 x.mp4", 10, 64, 48),
    }


# what each input must give: ("ok", padded) or ("error", a word the reason must contain, or None)
EXPECTED: dict[str, tuple[str, object]] = {
    "good_mp4": ("ok", False),
    "empty_file": ("error", "empty file"),
    "header_1kb_mp4": ("error", None),
    "header_1kb_avi": ("error", None),
    "random_bytes": ("error", None),
    "truncated_mp4_index_at_end": ("error", None),
    "truncated_mp4_index_at_front": ("error", None),
    "truncated_avi": ("error", "truncated"),
    "missing_file": ("error", "file not found"),
    "zero_frames_mp4": ("error", None),
    "zero_frames_avi": ("error", None),
    "zero_decodable_frames": ("error", None),
    "fewer_frames_than_asked": ("ok", True),
    "odd_width_height": ("ok", False),
    "odd_width_height_h264": ("ok", False),
    "grayscale": ("ok", False),
    "4k": ("ok", False),
    "spaces_non_ascii_path": ("ok", False),
}


@pytest.mark.parametrize("backend", available_backends())
def test_every_bad_input_becomes_an_error_row_or_a_flagged_clip(files: dict[str, Path], backend: str) -> None:
    names = list(EXPECTED)
    rows = [Sample(name, files[name], 0, "x") for name in names]
    dataset = ClipDataset(rows, SPEC, return_frames=True, decoder=backend)
    for i, name in enumerate(names):
        item = dataset[i]  # must not raise
        status, detail = EXPECTED[name]
        assert item["status"] == status, (backend, name, item["error"])
        assert item["video"].shape == (8, 3, 32, 32)
        assert item["frames"].shape == (8, 32, 32, 3)
        if status == "error":
            reason = item["error"]
            assert reason and len(reason) <= 120 and "\n" not in reason, (backend, name, reason)
            if detail is not None:
                assert detail in reason, (backend, name, reason)
            assert not item["video"].any() and item["frame_indices"] == [-1] * 8
        else:
            assert item["error"] == ""
            assert item["padded"] is detail, (backend, name)
            assert torch.isfinite(item["video"]).all()


def test_grayscale_gives_three_equal_channels(files: dict[str, Path]) -> None:
    item = ClipDataset([Sample("g", files["grayscale"], 0, "x")], SPEC, return_frames=True, decoder="pyav")[0]
    frames = item["frames"]
    assert torch.equal(frames[..., 0], frames[..., 1]) and torch.equal(frames[..., 1], frames[..., 2])


def test_4k_is_resized_to_the_spec(files: dict[str, Path]) -> None:
    item = ClipDataset([Sample("4k", files["4k"], 0, "x")], InputSpec(num_frames=4, size=64), return_frames=True)[0]
    assert item["status"] == "ok" and item["frames"].shape == (4, 64, 64, 3)
