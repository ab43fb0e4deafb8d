"""The explanation summary's scores, in numpy, are the numbers torch gives (the torch references live here)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from videoxai.data.transforms import resize_crop
from videoxai.explain import summary


@pytest.mark.parametrize("seed", [0, 7, 123456])
@pytest.mark.parametrize("shape", [(3,), (2, 8, 7, 7), (5, 8, 14, 14)])
def test_random_baseline_is_torchs_generator_stream(seed: int, shape: tuple[int, ...]) -> None:
    expected = torch.rand(shape, generator=torch.Generator().manual_seed(seed)).numpy()
    np.testing.assert_array_equal(summary.random_maps(shape, seed), expected)


def _torch_centre_prior(shape: tuple[int, ...]) -> torch.Tensor:
    *lead, h, w = shape
    y = (torch.arange(h, dtype=torch.float32) + 0.5) / h - 0.5
    x = (torch.arange(w, dtype=torch.float32) + 0.5) / w - 0.5
    return torch.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * 0.25**2)).expand(*lead, h, w).clone()


def _torch_mask_scores(maps: np.ndarray, masks: np.ndarray, seed: int) -> dict:
    """The reference: torch's bilinear upsampling, generator and reductions."""
    n, t = maps.shape[:2]
    mk = torch.from_numpy(masks).flatten(2)
    visible = mk.any(dim=2)
    out: dict = {"n_frames_scored": int(visible.sum())}
    baselines = {
        "map": torch.from_numpy(maps),
        "random_map": torch.rand(maps.shape, generator=torch.Generator().manual_seed(seed)),
        "centre_prior": _torch_centre_prior(maps.shape),
    }
    for name, m in baselines.items():
        up = F.interpolate(m.flatten(0, 1)[:, None], size=masks.shape[-2:], mode="bilinear", align_corners=False)
        up = up.reshape(n, t, -1)
        peak = up.amax(dim=2, keepdim=True)
        hits = (((up >= peak) & mk).any(dim=2) & ~(up.amin(dim=2) >= peak[..., 0])).double()
        pos = up.double().clamp_min(0)
        total = pos.sum(dim=2)
        energy = torch.where(total > 0, (pos * mk).sum(dim=2) / total.clamp_min(1e-300), torch.tensor(math.nan))
        out[name] = {
            "pointing_game": float(hits[visible].mean()),
            "energy_in_mask": float(energy[visible].nanmean()),
        }
    return out


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
    ours, theirs = summary.mask_scores(maps, masks, seed=3), _torch_mask_scores(maps, masks, seed=3)
    for name in ("map", "random_map", "centre_prior"):
        for score in ("pointing_game", "energy_in_mask"):
            assert ours[name][score] == pytest.approx(theirs[name][score], rel=1e-6, abs=1e-9), (name, score)
    assert ours["n_frames_scored"] == theirs["n_frames_scored"]
    assert ours["chance"] == pytest.approx(
        masks.reshape(*masks.shape[:2], -1).mean(axis=2)[masks.any(axis=(2, 3))].mean()
    )


def test_clip_masks_of_the_models_size_are_cropped_in_numpy(tmp_path) -> None:
    """The demo's masks are already the model's size: no torch resize, the same masks as the loader's transform."""
    rng = np.random.default_rng(0)
    mask = rng.random((6, 64, 80)) > 0.5
    video = tmp_path / "v_X_g01_c01.avi"
    np.savez_compressed(video.with_suffix(".mask.npz"), mask=mask)
    ours = summary.clip_masks(video, [0, 2, 5], 64)
    rgb = np.repeat(mask[[0, 2, 5], ..., None].astype(np.uint8) * 255, 3, axis=-1)
    np.testing.assert_array_equal(ours, resize_crop(rgb, 64)[..., 0].numpy() >= 128)  # the loader's transform
    assert ours.shape == (3, 64, 64)


def _box_masks(n: int = 2, t: int = 3, size: int = 16) -> np.ndarray:
    m = np.zeros((n, t, size, size), bool)
    m[:, :, 0:4, 12:16] = True  # a 4x4 object in the top-right corner
    m[:, -1] = False  # hidden in the last frame
    return m


def test_pointing_and_energy_on_hand_made_frames():
    masks = _box_masks(1, 3)
    maps = np.zeros((1, 3, 16, 16), np.float32)
    maps[0, 0, 1, 13] = 1.0  # frame 0: peak on the object, all mass there
    maps[0, 1, 1, 13] = 1.0  # frame 1: peak on the object, 3/4 of the mass off it
    maps[0, 1, 12, 0:3] = 1.0
    maps[0, 2] = 1.0  # frame 2: object hidden -> not scored
    hits = summary.pointing_hits(maps, masks)
    energy = summary.energy_in_mask(maps, masks)
    assert hits[0, :2].tolist() == [1.0, 1.0] and np.isnan(hits[0, 2])
    np.testing.assert_allclose(energy[0, :2], [1.0, 0.25])
    assert np.isnan(energy[0, 2])
    flat = np.ones((1, 3, 16, 16), np.float32)
    assert summary.pointing_hits(flat, masks)[0, 0] == 0.0  # a constant map points nowhere


def test_mask_scores_rank_a_perfect_map_above_both_baselines():
    masks = _box_masks()
    # the mask itself on a coarser (4x4) grid, as a model's map would be
    perfect = masks.astype(np.float32).reshape(2, 3, 4, 4, 4, 4).mean(axis=(3, 5))
    s = summary.mask_scores(perfect, masks, seed=0)
    assert s["n_frames_scored"] == 4 and s["chance"] == pytest.approx(16 / 256)
    assert s["map"]["pointing_game"] == 1.0 and s["map"]["energy_in_mask"] > 0.4
    assert s["random_map"]["energy_in_mask"] < 0.2 and s["centre_prior"]["energy_in_mask"] < 0.2
    assert s["centre_prior"]["pointing_game"] == 0.0  # the object is off-centre


def test_temporal_visibility_compares_visible_and_hidden_frames():
    masks = _box_masks(2, 4)
    ti = np.array([[0.3, 0.3, 0.3, 0.1], [0.25, 0.25, 0.25, 0.25]])
    tv = summary.temporal_visibility(ti, masks)
    assert tv["n_clips"] == 2
    assert tv["visible"] == pytest.approx((0.3 + 0.25) / 2) and tv["hidden"] == pytest.approx((0.1 + 0.25) / 2)
    assert summary.temporal_visibility(ti, np.ones((2, 4, 2, 2), bool))["n_clips"] == 0


def test_evaluation_summary_collects_per_clip_scores():
    masks = _box_masks(2, 3)
    maps = np.random.default_rng(0).random((2, 3, 4, 4)).astype(np.float32)
    clips = [
        {
            "class_name": name,
            "evaluation": {
                "deletion_auc": d,
                "insertion_auc": 0.8,
                "deletion_auc_random": 0.5,
                "insertion_auc_random": 0.5,
                "sanity_spearman": [0.9, s],
                "randomised_model": {"pointing_game": 0.0, "energy_in_mask": 0.1},
            },
        }
        for name, d, s in (("A", 0.2, 0.1), ("B", 0.4, None))
    ]
    out = summary.evaluation_summary(maps, np.full((2, 3), 1 / 3), clips, masks)
    assert out["faithfulness"]["deletion_auc"] == pytest.approx(0.3) and out["faithfulness"]["n_clips"] == 2
    # a file made before the SSIM was kept: no SSIM, and no module names without the file's params
    assert out["sanity"] == [
        {"step": 1, "spearman": pytest.approx(0.9), "n_undefined": 0, "ssim": None},
        {"step": 2, "spearman": pytest.approx(0.1), "n_undefined": 1, "ssim": None},
    ]
    for clip, ssim in zip(clips, ([0.7, 0.3], [0.5, None]), strict=True):
        clip["evaluation"]["sanity_ssim"] = ssim
    kept = summary.evaluation_summary(maps, np.full((2, 3), 1 / 3), clips, None, randomised=[["head"], ["", "x"]])
    assert [(s["ssim"], s["randomised"]) for s in kept["sanity"]] == [
        (pytest.approx(0.6), ["head"]),
        (pytest.approx(0.3), ["", "x"]),
    ]
    assert set(out["ground_truth"]["per_class"]) == {"A", "B"}
    assert out["ground_truth"]["randomised_model"] == {"pointing_game": 0.0, "energy_in_mask": pytest.approx(0.1)}
    assert out["temporal_visibility"]["n_clips"] == 2
    assert "ground_truth" not in summary.evaluation_summary(maps, np.full((2, 3), 1 / 3), clips, None)


def test_per_class_scores_are_the_mask_scores_of_each_class():
    """The per-class scores come from one upsampling of all maps: exactly the scores of each class's clips alone."""
    maps, masks = _maps_and_masks()
    names = ["b", "a", "b", "c", "a", "b"]
    clips = [{"class_name": n} for n in names]
    per_class = summary.evaluation_summary(maps, np.full(maps.shape[:2], 0.125), clips, masks, seed=3)
    per_class = per_class["ground_truth"]["per_class"]
    assert list(per_class) == ["a", "b", "c"]
    for name, got in per_class.items():
        sel = np.array([n == name for n in names])
        alone = summary.mask_scores(maps[sel], masks[sel], seed=3)
        assert got == {"n_clips": int(sel.sum()), **alone["map"]}  # equal, not close
