"""The explanation summary in numpy gives the numbers of the torch implementation it replaces (explain.evaluate)."""

from __future__ import annotations

import numpy as np
import pytest

from videoxai.explain import evaluate as ev
from videoxai.explain import summary
from videoxai.explain.mix import mix_region


@pytest.mark.parametrize("seed", [0, 7, 123456])
@pytest.mark.parametrize("shape", [(3,), (2, 8, 7, 7), (5, 8, 14, 14)])
def test_random_baseline_is_torchs_generator_stream(seed: int, shape: tuple[int, ...]) -> None:
    np.testing.assert_array_equal(summary.random_maps(shape, seed), ev.random_maps(shape, seed).numpy())


@pytest.mark.parametrize("mode", ["box", "temporal"])
def test_mix_region_equals_the_torch_one(mode: str) -> None:
    for seed in (0, 3, 5000):
        np.testing.assert_array_equal(summary.mix_region(8, 64, mode, seed), mix_region(8, 64, mode, seed).numpy())


def _maps_and_masks(n: int = 6, t: int = 8, grid: int = 7, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    maps = rng.random((n, t, grid, grid)).astype(np.float16).astype(np.float32)
    maps[0, 0] = 0.0  # an all-zero map: energy undefined, a constant map points nowhere
    masks = np.zeros((n, t, size, size), bool)
    for i in range(n):
        for j in range(t):
            if (i + j) % 5:  # some frames hide the object
                y, x = rng.integers(0, size - 20, 2)
                masks[i, j, y : y + 20, x : x + 20] = True
    return maps, masks


def test_mask_scores_equal_the_torch_ones() -> None:
    maps, masks = _maps_and_masks()
    ours, theirs = summary.mask_scores(maps, masks, seed=3), ev.mask_scores(maps, masks, seed=3)
    assert ours.keys() == theirs.keys()
    for name in ("map", "random_map", "centre_prior"):
        for score in ("pointing_game", "energy_in_mask"):
            assert ours[name][score] == pytest.approx(theirs[name][score], rel=1e-6, abs=1e-9), (name, score)
    assert ours["chance"] == theirs["chance"] and ours["n_frames_scored"] == theirs["n_frames_scored"]


def test_evaluation_summary_equals_the_torch_one() -> None:
    maps, masks = _maps_and_masks()
    importance = np.random.default_rng(2).random(maps.shape[:2])
    clips = [
        {
            "class_name": "ab"[i % 2],
            "evaluation": {
                "deletion_auc": 0.1 * i,
                "insertion_auc": 0.5,
                "deletion_auc_random": 0.3,
                "insertion_auc_random": None,
                "sanity_spearman": [0.5, None],
                "randomised_model": {"pointing_game": 0.25, "energy_in_mask": None},
            },
        }
        for i in range(len(maps))
    ]
    ours = summary.evaluation_summary(maps, importance, clips, masks, seed=0)
    theirs = ev.evaluation_summary(maps, importance, clips, masks, seed=0)
    assert _close(ours, theirs)


def _close(a: object, b: object) -> bool:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (a, b)
        return all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        return all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-6, abs=1e-9)
        return True
    assert a == b
    return True


def test_clip_masks_of_the_models_size_are_cropped_in_numpy(tmp_path) -> None:
    """The demo's masks are already the model's size: no torch resize, the same masks as the loader's transform."""
    rng = np.random.default_rng(0)
    mask = rng.random((6, 64, 80)) > 0.5
    video = tmp_path / "v_X_g01_c01.avi"
    np.savez_compressed(video.with_suffix(".mask.npz"), mask=mask)
    ours = summary.clip_masks(video, [0, 2, 5], 64)
    np.testing.assert_array_equal(ours, ev.clip_masks(video, [0, 2, 5], 64))
    assert ours.shape == (3, 64, 64)
