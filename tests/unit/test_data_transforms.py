"""Resize/crop/normalise, TTA views, multi-view items, and prompt names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from videoxai.data.datasets import Sample
from videoxai.data.encode import write_lossless
from videoxai.data.loader import ClipDataset, collate_clips
from videoxai.data.names import prompt_name, prompt_names
from videoxai.data.transforms import TTA, average_tta_logits, crop, resize_short, tta_views
from videoxai.demo.dataset import make_clip
from videoxai.models.base import InputSpec


def _ramp(h: int, w: int, t: int = 2) -> torch.Tensor:
    x = torch.arange(w, dtype=torch.uint8).view(1, 1, w, 1).expand(t, h, w, 3)
    return x.contiguous()


def test_resize_short_keeps_aspect_and_batches_leading_dims() -> None:
    out = resize_short(torch.zeros((2, 3, 48, 80, 3), dtype=torch.uint8), 24)
    assert out.shape == (2, 3, 24, 40, 3) and out.dtype == torch.uint8
    tall = resize_short(torch.zeros((1, 90, 30, 3), dtype=torch.uint8), 10)
    assert tall.shape == (1, 30, 10, 3)


def test_crop_positions_along_the_longer_side() -> None:
    frames = _ramp(10, 30)
    assert crop(frames, 10, "start")[0, 0, 0, 0] == 0
    assert crop(frames, 10, "centre")[0, 0, 0, 0] == 10
    assert crop(frames, 10, "end")[0, 0, -1, 0] == 29
    with pytest.raises(ValueError, match="cannot crop"):
        crop(frames, 11)


def test_tta_views_are_crops_then_flips() -> None:
    frames = _ramp(10, 30)
    views = tta_views(frames, 10, TTA(crops=3, flip=True))
    assert views.shape == (6, 2, 10, 10, 3)
    assert [int(v[0, 0, 0, 0]) for v in views[:3]] == [0, 10, 20]
    assert torch.equal(views[3], views[0].flip(-2))
    assert tta_views(frames, 10, TTA(crops=1, flip=False)).shape == (1, 2, 10, 10, 3)
    with pytest.raises(ValueError, match="crops must be 1 or 3"):
        TTA(crops=2)


def test_average_tta_logits_means_over_views() -> None:
    video = torch.arange(2 * 3, dtype=torch.float32).view(2, 3, 1)  # (B=2, A=3, feature)
    logits = average_tta_logits(lambda v: torch.cat([v, -v], dim=1), video)
    assert torch.allclose(logits, torch.tensor([[1.0, -1.0], [4.0, -4.0]]))


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames, _ = make_clip(0, np.random.default_rng(0), 16, 64)
    path = tmp_path_factory.mktemp("views") / "c.avi"
    write_lossless(path, frames)
    return path


def test_items_with_temporal_views_and_tta(clip_path: Path, tmp_path: Path) -> None:
    spec = InputSpec(num_frames=4, size=32, num_views=2)
    rows = [Sample("c.avi", clip_path, 1, "x"), Sample("gone.avi", tmp_path / "gone.avi", 0, "x")]
    views = ClipDataset(rows, spec, return_frames=True)
    item = views[0]
    assert item["video"].shape == (2, 4, 3, 32, 32) and item["frames"].shape == (2, 4, 32, 32, 3)
    assert np.array(item["frame_indices"]).shape == (2, 4)
    assert views[1]["video"].shape == (2, 4, 3, 32, 32)  # error rows keep the shape
    batch = collate_clips([views[0], views[1]])
    assert batch["video"].shape == (2, 2, 4, 3, 32, 32) and batch["frame_indices"].shape == (2, 2, 4)

    tta = ClipDataset(rows, spec, return_frames=True, tta=TTA())
    assert tta[0]["video"].shape == (6, 2, 4, 3, 32, 32)
    assert tta[1]["video"].shape == (6, 2, 4, 3, 32, 32) and tta[1]["status"] == "error"
    single = ClipDataset(rows, InputSpec(num_frames=4, size=32), tta=TTA(crops=3, flip=True))
    assert single[0]["video"].shape == (6, 4, 3, 32, 32)
    assert torch.equal(single[0]["video"][3], single[0]["video"][0].flip(-1))


@pytest.mark.parametrize(
    ("raw", "prompt"),
    [
        ("ApplyEyeMakeup", "apply eye makeup"),
        ("brush_hair", "brush hair"),
        ("YoYo", "yo yo"),
        ("playing guitar", "playing guitar"),
        ("HandstandPushups", "handstand pushups"),
        ("Rock-climbing", "rock climbing"),
        ("UCF101Class", "ucf101 class"),
        ("MoveRight", "move right"),
    ],
)
def test_prompt_names(raw: str, prompt: str) -> None:
    assert prompt_name(raw) == prompt


def test_prompt_names_reject_collisions() -> None:
    assert prompt_names(["TaiChi", "fall_floor"]) == ["tai chi", "fall floor"]
    with pytest.raises(ValueError, match="both become"):
        prompt_names(["BrushHair", "brush_hair"])


def test_map_classes_by_prompt_name_and_mapping() -> None:
    from videoxai.data.names import map_classes

    train = ["BrushHair", "Cartwheel", "PlayingGuitar"]
    assert map_classes(["brush_hair", "cartwheel"], train) == [0, 1]
    assert map_classes(["guitar"], train, {"guitar": "PlayingGuitar"}) == [2]
    with pytest.raises(ValueError, match="1 test classes have no training class: 'fall_floor'"):
        map_classes(["brush_hair", "fall_floor"], train)
    with pytest.raises(ValueError, match="not a training class"):
        map_classes(["guitar"], train, {"guitar": "Guitar"})
