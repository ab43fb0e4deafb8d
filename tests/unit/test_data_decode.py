"""Decoding real files, and a DecodeError with a short reason for each kind of broken one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videoxai.data.decode import DecodeError, count_frames, read_frames
from videoxai.data.encode import write_lossless
from videoxai.demo.dataset import make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    frames, _ = make_clip(0, np.random.default_rng(0), 12, 64)
    path = tmp_path_factory.mktemp("decode") / "clip.avi"
    write_lossless(path, frames)
    return path, frames


def test_read_frames_any_order_with_repeats(clip: tuple[Path, np.ndarray]) -> None:
    path, frames = clip
    assert count_frames(path) == 12
    got = read_frames(path, [5, 0, 5, 11])
    assert got.shape == (4, 64, 64, 3) and got.dtype == np.uint8
    assert np.array_equal(got, frames[[5, 0, 5, 11]])


def test_index_past_the_end_is_a_decode_error(clip: tuple[Path, np.ndarray]) -> None:
    with pytest.raises(DecodeError, match="12 frames decodable"):
        read_frames(clip[0], [0, 12])


def test_decode_error_is_runtime_error_with_reason(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as info:
        read_frames(tmp_path / "nope.avi", [0])
    assert isinstance(info.value, DecodeError)
    assert info.value.reason == "file not found"
    assert info.value.path == tmp_path / "nope.avi"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.avi"
    path.write_bytes(b"")
    with pytest.raises(DecodeError, match="empty file"):
        count_frames(path)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(DecodeError) as info:
        read_frames(path, [0])
    assert len(info.value.reason) <= 140


def test_truncated_avi(tmp_path: Path, clip: tuple[Path, np.ndarray]) -> None:
    data = clip[0].read_bytes()
    path = tmp_path / "cut.avi"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DecodeError):
        read_frames(path, range(12))


def test_rejects_empty_or_negative_indices(clip: tuple[Path, np.ndarray]) -> None:
    with pytest.raises(ValueError):
        read_frames(clip[0], [])
    with pytest.raises(ValueError):
        read_frames(clip[0], [-1])
