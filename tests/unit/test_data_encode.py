"""The one encoder loop: lossless clips decode to the frames written, frames stream, a failed write leaves no file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videoxai.data.decode import read_frames
from videoxai.data.encode import LOSSLESS, Codec, write_frames, write_lossless
from videoxai.data.masks import load_mask, mask_path, write_mask

FRAMES = np.random.default_rng(0).integers(0, 256, (6, 34, 50, 3), dtype=np.uint8)


@pytest.mark.parametrize("container", sorted(LOSSLESS))
def test_lossless_clips_decode_to_the_frames_written(tmp_path: Path, container: str) -> None:
    path = tmp_path / f"clip.{container}"
    write_lossless(path, FRAMES)
    assert np.array_equal(read_frames(path, list(range(len(FRAMES)))), FRAMES)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left beside it


def test_an_unknown_lossless_container_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"clip\.mkv.*avi.*mp4"):
        write_lossless(tmp_path / "clip.mkv", FRAMES)


def test_frames_stream_from_a_generator(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    n, width, height = write_frames(path, (f for f in FRAMES), LOSSLESS["mp4"], 25)
    assert (n, width, height) == (6, 50, 34)
    assert np.array_equal(read_frames(path, [0, 5]), FRAMES[[0, 5]])


def test_a_frame_of_another_shape_fails_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out.avi"
    frames = [FRAMES[0], FRAMES[1], FRAMES[2, :32]]
    with pytest.raises(ValueError, match="frame 2 has shape"):
        write_frames(path, frames, LOSSLESS["avi"], 25)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("frames", "match"),
    [([], "no frames"), ([FRAMES[0].astype(np.float32)], "uint8"), ([FRAMES[0, :, :, 0]], r"\(H, W, 3\)")],
)
def test_bad_input_is_refused_before_anything_is_written(tmp_path: Path, frames: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        write_frames(tmp_path / "out.avi", frames, Codec("ffvhuff", "gbrp"), 25)
    assert list(tmp_path.iterdir()) == []


def test_a_mask_is_stored_beside_its_clip_and_read_back(tmp_path: Path) -> None:
    mask = np.random.default_rng(1).random((4, 8, 8)) < 0.3
    video = tmp_path / "Cls" / "v_Cls_g01_c01.avi"
    video.parent.mkdir()
    assert write_mask(video, mask) == mask_path(video) == video.with_suffix(".mask.npz")
    got = load_mask(video)
    assert got.dtype == bool and np.array_equal(got, mask)
