"""Evaluation of explanations by the model: deletion/insertion, cascading randomisation (ground truth: test_explain_summary)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from videoxai.explain import evaluate as ev

torch.set_num_threads(1)


class RegionModel(nn.Module):
    """Class 0's logit is the mean brightness of the top-left 8x8 corner of every frame: the evidence is there."""

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        s = 4.0 * video[..., :8, :8].mean(dim=(1, 2, 3, 4))
        return torch.stack([s, -s], dim=1)


def test_deletion_and_insertion_reward_the_map_that_points_at_the_evidence():
    video = torch.ones(1, 2, 3, 16, 16)
    right = torch.zeros(1, 2, 4, 4)
    right[:, :, :2, :2] = 1.0  # the four top-left cells per frame
    wrong = 1.0 - right
    target = torch.tensor([0])
    good = ev.deletion_insertion(
        RegionModel(), video, right, target, steps=8, deletion_baseline="mean", insertion_baseline="mean"
    )
    bad = ev.deletion_insertion(
        RegionModel(), video, wrong, target, steps=8, deletion_baseline="mean", insertion_baseline="mean"
    )
    assert good["deletion_auc"][0] < good["deletion_auc_random"][0] < bad["deletion_auc"][0]
    assert good["insertion_auc"][0] > good["insertion_auc_random"][0] > bad["insertion_auc"][0]
    # the random order is seeded: same numbers every time
    again = ev.deletion_insertion(
        RegionModel(), video, right, target, steps=8, deletion_baseline="mean", insertion_baseline="mean"
    )
    assert again["deletion_auc_random"][0] == good["deletion_auc_random"][0]
    # progress: one call as each clip's four curves are done
    done: list[int] = []
    two = torch.cat([video, video])
    ev.deletion_insertion(
        RegionModel(), two, torch.cat([right, wrong]), torch.tensor([0, 0]), steps=2, on_clip=lambda: done.append(1)
    )
    assert done == [1, 1]
    with pytest.raises(ValueError, match="deletion-baseline"):
        ev.deletion_insertion(RegionModel(), video, right, target, deletion_baseline="zero")


def test_blur_baseline_keeps_colour_and_removes_detail():
    video = torch.randn(1, 2, 3, 32, 32)
    b = ev.blurred(video)
    assert b.shape == video.shape and b.std() < 0.5 * video.std()


def _mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(1), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3)).eval()


def _saliency(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    model(x)[:, 0].sum().backward()
    return (x.grad * x).abs().detach()


def test_parameterised_modules_come_in_forward_order_and_cascade_top_down():
    model = _mlp()
    mods = ev.parameterised_modules(model, torch.randn(1, 1, 12))
    assert [n for n, _ in mods] == ["1", "3", "5"]
    steps = ev.cascade_steps(mods, 2)
    assert [[n for n, _ in s] for s in steps] == [["5", "3"], ["1"]] or [[n for n, _ in s] for s in steps] == [
        ["5"],
        ["3", "1"],
    ]
    assert [[n for n, _ in s] for s in ev.cascade_steps(mods, 10)] == [["5"], ["3"], ["1"]]


def test_cascading_randomisation_decorrelates_a_model_dependent_map_and_is_reproducible():
    model = _mlp()
    x = torch.randn(4, 1, 12, generator=torch.Generator().manual_seed(1))
    trained = _saliency(model, x)
    mods = ev.parameterised_modules(model, x)
    steps, maps = ev.cascading_randomisation(model, lambda m: _saliency(m, x), trained, mods, steps=3, seed=0)
    assert [s["randomised"] for s in steps] == [["5"], ["3"], ["1"]]
    counted: list[int] = []
    ev.cascading_randomisation(
        model, lambda m: _saliency(m, x), trained, mods, steps=3, on_step=lambda: counted.append(1)
    )
    assert counted == [1, 1, 1]
    final = [v for v in steps[-1]["spearman"] if v is not None]
    assert np.mean(final) < 0.5
    # the model itself is untouched, and the same seed gives the same randomised maps
    torch.testing.assert_close(_saliency(model, x), trained)
    _, again = ev.cascading_randomisation(model, lambda m: _saliency(m, x), trained, mods, steps=3, seed=0)
    torch.testing.assert_close(again[-1], maps[-1])
    # a map that ignores the model (the input itself) survives randomisation: the check can fail
    steps_input, _ = ev.cascading_randomisation(model, lambda m: x.abs(), x.abs(), mods, steps=3)
    assert all(v == pytest.approx(1.0) for v in steps_input[-1]["spearman"])


def test_spearman_is_none_for_constant_maps():
    a = torch.rand(2, 3, 2, 2)
    b = a.clone()
    b[1] = 0.5
    out = ev.spearman_per_clip(a, b)
    assert out[0] == pytest.approx(1.0) and out[1] is None


def test_spearman_matches_scipy_with_ties():
    """The numpy ranks (ties share their mean rank) give scipy's Spearman correlation, to the last bit."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = torch.tensor(rng.integers(0, 4, size=(20, 2, 3, 5)).astype(np.float32))  # many ties
    b = torch.tensor(rng.normal(size=(20, 2, 3, 5)).astype(np.float32))
    got = ev.spearman_per_clip(a, b)
    want = [float(spearmanr(x, y).statistic) for x, y in zip(a.flatten(1).numpy(), b.flatten(1).numpy())]
    assert got == want  # bit for bit: scipy's ranks, then its corrcoef call


def test_blur_baseline_is_torchvisions_gaussian_blur():
    """The removed state is torchvision's Gaussian blur exactly (computed without importing torchvision)."""
    import math

    from torchvision.transforms.functional import gaussian_blur

    video = torch.rand(2, 3, 3, 48, 48)
    sigma = max(48 / 16.0, 1.0)
    k = 2 * int(math.ceil(2 * sigma)) + 1
    want = gaussian_blur(video.flatten(0, 1), [k, k], [sigma, sigma]).reshape(video.shape)
    assert torch.equal(ev.blurred(video), want)


def test_ssim_is_scikit_images_structural_similarity():
    """The sanity check's SSIM is scikit-image's (uniform 7 x 7 window, sample covariance, data range 1)."""
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    for size, window in ((64, 7), (9, 7), (24, 5)):
        x = rng.uniform(size=(size, size))
        y = np.clip(0.6 * x + 0.4 * rng.uniform(size=(size, size)), 0, 1)
        want = structural_similarity(x, y, data_range=1.0, win_size=window)
        assert ev.ssim_2d(x, y, window) == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_ssim_per_clip_scales_upsamples_and_skips_undefined_frames():
    from skimage.metrics import structural_similarity

    from videoxai.explain.maps import upsample_bilinear

    rng = np.random.default_rng(1)
    a = torch.tensor(rng.uniform(size=(3, 4, 8, 8)).astype(np.float32))
    b = torch.tensor(rng.uniform(size=(3, 4, 8, 8)).astype(np.float32))
    b[1] = a[1] * 3 + 2  # a positive affine change of the map: the same map once scaled
    b[2] = 0.5  # constant: no structure to compare
    a[0, 2] = float("nan")  # an undefined frame: left out
    got = ev.ssim_per_clip(a, b, 32)
    assert got[1] == pytest.approx(1.0) and got[2] is None
    x, y = a[0].numpy(), b[0].numpy()
    fx = (x - np.nanmin(x)) / (np.nanmax(x) - np.nanmin(x))
    fy = (y - y.min()) / (y.max() - y.min())
    keep = [0, 1, 3]
    ux, uy = upsample_bilinear(fx[keep], 32), upsample_bilinear(fy[keep], 32)
    want = np.mean([structural_similarity(p, q, data_range=1.0) for p, q in zip(ux, uy)])
    assert got[0] == pytest.approx(want, rel=1e-6)  # scikit-image works in float32 on float32 maps, videoxai in float64
    assert got[0] < 0.5  # unrelated maps are dissimilar
