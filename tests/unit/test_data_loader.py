"""ClipDataset / make_loader: documented shapes, exact frames, bad clips as error rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from videoxai.data.datasets import Sample, load_split
from videoxai.data.encode import write_lossless
from videoxai.data.loader import ClipDataset, collate_clips, make_loader, resize_crop
from videoxai.demo.dataset import make_clip, write_demo_dataset
from videoxai.models.base import InputSpec

SPEC = InputSpec(num_frames=8, size=32, mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3))


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    root = tmp_path_factory.mktemp("loader") / "ds"
    write_demo_dataset(root, n_train=8, n_test=8, seed=0, frames=16, size=64)
    return load_split("ucf101", root, "test")[1]


def test_item_shapes_types_and_exact_frames(samples: list[Sample]) -> None:
    item = ClipDataset(samples, SPEC, return_frames=True)[0]
    assert item["status"] == "ok" and item["error"] == ""
    assert item["video"].shape == (8, 3, 32, 32) and item["video"].dtype == torch.float32
    assert item["frames"].shape == (8, 32, 32, 3) and item["frames"].dtype == torch.uint8
    assert item["frame_indices"] == [1, 3, 5, 7, 9, 11, 13, 15] and item["padded"] is False
    assert item["label"] == samples[0].label and item["index"] == 0
    mean = torch.tensor(SPEC.mean).view(3, 1, 1)
    std = torch.tensor(SPEC.std).view(3, 1, 1)
    restored = (item["video"] * std + mean) * 255
    assert torch.allclose(restored, item["frames"].permute(0, 3, 1, 2).float(), atol=1e-3)


def test_frames_are_the_resized_decoded_frames(samples: list[Sample]) -> None:
    spec = InputSpec(num_frames=8, size=64)
    item = ClipDataset(samples[:1], spec, return_frames=True)[0]
    class_index = samples[0].label
    from videoxai.demo import dataset as demo

    expected, _ = make_clip(class_index, demo._clip_seed(0, "test", class_index, 1, 1), 16, 64)
    assert np.array_equal(item["frames"].numpy(), expected[1::2])  # size 64: no resize, exact


def test_resize_shorter_side_then_centre_crop() -> None:
    frames = np.zeros((2, 48, 80, 3), np.uint8)
    frames[:, :, 40:] = 200  # right half bright
    out = resize_crop(frames, 24)
    assert out.shape == (2, 24, 24, 3) and out.dtype == torch.uint8
    assert out[0, :, :10].max() == 0 and out[0, :, 14:].min() == 200
    same = np.random.default_rng(0).integers(0, 255, (1, 24, 24, 3), dtype=np.uint8)
    assert np.array_equal(resize_crop(same, 24).numpy(), same)


def test_bad_clip_becomes_error_item(tmp_path: Path, samples: list[Sample]) -> None:
    bad = tmp_path / "X" / "broken.avi"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00" * 1024)
    rows = [samples[0], Sample("X/broken.avi", bad, 3, "X"), Sample("X/missing.avi", tmp_path / "missing.avi", 2, "X")]
    ds = ClipDataset(rows, SPEC, return_frames=True)
    for i in (1, 2):
        item = ds[i]
        assert item["status"] == "error" and item["error"]
        assert item["video"].shape == (8, 3, 32, 32) and not item["video"].any()
        assert item["frame_indices"] == [-1] * 8
    assert ds[2]["error"] == "file not found"
    batch = collate_clips([ds[i] for i in range(3)])
    assert batch["status"] == ["ok", "error", "error"]
    assert batch["video"].shape == (3, 8, 3, 32, 32)
    assert batch["frames"].shape == (3, 8, 32, 32, 3)
    assert batch["label"].tolist() == [samples[0].label, 3, 2]


def test_short_clip_is_padded(tmp_path: Path) -> None:
    frames, _ = make_clip(0, np.random.default_rng(0), 5, 64)
    path = tmp_path / "short.avi"
    write_lossless(path, frames)
    item = ClipDataset([Sample("short.avi", path, 0, "MoveRight")], SPEC)[0]
    assert item["status"] == "ok" and item["padded"] is True
    assert item["frame_indices"] == [0, 0, 1, 2, 2, 3, 4, 4]


@pytest.mark.parametrize("workers", [0, 1])
def test_loader_batches_in_order(samples: list[Sample], workers: int) -> None:
    loader = make_loader(samples, SPEC, batch_size=3, num_workers=workers)
    batches = list(loader)
    assert [len(b["status"]) for b in batches] == [3, 3, 2]
    assert torch.cat([b["index"] for b in batches]).tolist() == list(range(8))
    assert batches[0]["video"].shape == (3, 8, 3, 32, 32)
    assert batches[0]["frame_indices"].shape == (3, 8) and batches[0]["padded"].dtype == torch.bool
    assert "frames" not in batches[0]


def test_auto_decoder_is_pyav_for_a_few_clips(samples: list[Sample]) -> None:
    """A job of a few clips (an explanation's selection) never pays torchcodec's import; a split's job may."""
    from videoxai.data.decode import AUTO_TORCHCODEC_MIN_CLIPS, available_backends, decoder_for_job

    assert ClipDataset(samples, SPEC, decoder="auto").decoder == "pyav"
    assert ClipDataset(samples, SPEC, decoder="decord").decoder == "decord"  # a named decoder is kept
    assert decoder_for_job("auto", AUTO_TORCHCODEC_MIN_CLIPS) == "auto"
    if "torchcodec" in available_backends():
        many = samples * (AUTO_TORCHCODEC_MIN_CLIPS // len(samples) + 1)
        assert ClipDataset(many, SPEC, decoder="auto").decoder == "auto"
