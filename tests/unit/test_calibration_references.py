"""Agreement with reference implementations, and where (and why) each one differs.

Test-only dependencies: torchmetrics, netcal (brings scikit-learn), relplot.

Documented differences, each pinned by a test below:
- torchmetrics puts confidence exactly 1.0 in an extra, hidden bin of its own
  (its bucketize over all n_bins + 1 edges); we put it in the last bin.
- netcal treats inputs whose labels take at most two distinct values as a binary
  problem, and clips confidences into [eps, 1 - eps].
- prompt-tuning's classic ECE (Guo et al. loop) bins over (lo, hi]: a confidence on an
  interior edge goes to the lower bin and confidence 0 to no bin at all; we use
  [lo, hi) with the last bin closed.
- relplot's smooth ECE weights mass at 0 and 1 once instead of twice (its mirrored
  grid holds the boundary node once) and discretises coarsely; on confidences away
  from 0 and 1 it agrees with ours to 1e-5, with mass at 1 it differs by ~5e-3.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from videoxai.calibration import (
    adaptive_calibration_error,
    brier_score,
    calibration_error,
    negative_log_likelihood,
    smooth_calibration_error,
    top_label,
)
from videoxai.calibration.binning import equal_width_edges
from videoxai.calibration.smooth import smooth_ece_at

torchmetrics = pytest.importorskip("torchmetrics")
netcal_metrics = pytest.importorskip("netcal.metrics")


def _probs32(n: int, k: int, seed: int, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 probabilities whose top confidence stays 1e-5 away from every bin edge (and from 1)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 2.5
    y = rng.integers(0, k, n)
    z[np.arange(n // 2), y[: n // 2]] += 3.0
    p = np.exp(z - z.max(1, keepdims=True))
    p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    conf = p.max(1).astype(np.float64)
    edges = equal_width_edges(n_bins)
    keep = np.abs(conf[:, None] - edges[None, :]).min(1) > 1e-5
    return p[keep], y[keep]


# ---------------------------------------------------------------- torchmetrics


@pytest.mark.parametrize("n_bins", [5, 15, 22])
@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
def test_torchmetrics_agrees_away_from_its_edge_bug(n_bins, norm):
    from torchmetrics.classification import MulticlassCalibrationError

    p, y = _probs32(3000, 10, seed=n_bins, n_bins=n_bins)
    metric = MulticlassCalibrationError(num_classes=10, n_bins=n_bins, norm=norm)
    theirs = float(metric(torch.from_numpy(p), torch.from_numpy(y)))
    conf, correct = top_label(p, y)
    ours = calibration_error(conf, correct, n_bins, norm)
    assert abs(ours - theirs) < 1e-6


def test_torchmetrics_puts_confidence_one_in_a_hidden_extra_bin():
    from torchmetrics.functional.classification import multiclass_calibration_error

    # 2 one-hot rows (conf 1.0, one right one wrong) + 2 rows at conf 0.95 (both right)
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.95, 0.05], [0.95, 0.05]])
    y = torch.tensor([0, 1, 0, 0])
    theirs = float(multiclass_calibration_error(p, y, num_classes=2, n_bins=10, norm="max"))
    ours = calibration_error(*top_label(p, y), n_bins=10, norm="max")
    # theirs: bin [1, 1] alone has |1 - 0.5| = 0.5; ours: last bin [0.9, 1] has |0.975 - 0.75| = 0.225
    assert theirs == pytest.approx(0.5)
    assert ours == pytest.approx(0.225)


# ---------------------------------------------------------------- netcal


@pytest.mark.parametrize("n_bins", [10, 15])
def test_netcal_ece_and_mce_agree(n_bins):
    p, y = _probs32(2500, 8, seed=100 + n_bins, n_bins=n_bins)
    conf, correct = top_label(p, y)
    ece = netcal_metrics.ECE(bins=n_bins).measure(p, y)
    mce = netcal_metrics.MCE(bins=n_bins).measure(p, y)
    assert abs(calibration_error(conf, correct, n_bins, "l1") - ece) < 1e-6
    assert abs(calibration_error(conf, correct, n_bins, "max") - mce) < 1e-6


def test_netcal_equal_mass_bins_agree_with_adaptive_ece_when_n_bins_divides_n():
    # netcal's quantile edges split sorted positions at ceil((N-1) b / B); ours at ceil(N b / B):
    # the same groups when B divides N and there are no ties
    p, y = _probs32(4000, 8, seed=7, n_bins=15)
    p, y = p[:3000], y[:3000]
    conf, correct = top_label(p, y)
    assert len(np.unique(conf)) == 3000
    theirs = netcal_metrics.ECE(bins=15, equal_intervals=False).measure(p, y)
    assert abs(adaptive_calibration_error(conf, correct, 15) - theirs) < 1e-6


def test_netcal_reads_two_distinct_labels_as_a_binary_problem():
    p, y = _probs32(300, 3, seed=9, n_bins=10)
    y = np.where(y == 2, 1, y)  # labels {0, 1} only, three classes
    with pytest.raises(RuntimeError, match="binary"):
        netcal_metrics.ECE(bins=10).measure(p, y)
    assert np.isfinite(calibration_error(*top_label(p, y), 10))


# ---------------------------------------------------------------- scikit-learn (NLL, Brier)


def test_sklearn_log_loss_and_brier_agree():
    from sklearn.metrics import brier_score_loss, log_loss

    rng = np.random.default_rng(11)
    z = rng.normal(size=(500, 6)) * 2
    y = rng.integers(0, 6, 500)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert abs(negative_log_likelihood(z, y) - log_loss(y, p, labels=range(6))) < 1e-9
    assert abs(brier_score(p, y) - brier_score_loss(y, p, labels=range(6), scale_by_half=False)) < 1e-12


# ---------------------------------------------------------------- prompt-tuning's classic ECE, from its definition


def prompt_tuning_classic_ece(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> float:
    """Guo et al.'s loop as prompt-tuning's calibration.py uses it: bins (lo, hi], prop over all samples."""
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        in_bin = (conf > lo) & (conf <= hi)
        prop = in_bin.mean()
        if prop > 0:
            ece += abs(conf[in_bin].mean() - correct[in_bin].mean()) * prop
    return ece


@pytest.mark.parametrize("n_bins", [10, 15])
def test_prompt_tuning_classic_ece_agrees_where_conventions_agree(n_bins):
    p, y = _probs32(3000, 12, seed=200 + n_bins, n_bins=n_bins)
    conf, correct = top_label(p, y)
    c, a = conf, correct.astype(float)
    assert abs(calibration_error(conf, correct, n_bins) - prompt_tuning_classic_ece(c, a, n_bins)) < 1e-6


def test_prompt_tuning_classic_ece_differs_on_edges_and_at_zero():
    # 0.2 sits on an edge of 5 bins: seed -> (0, 0.2] with 0.1; ours -> [0.2, 0.4) with 0.3
    conf = np.array([0.1, 0.2, 0.3])
    correct = np.array([0.0, 1.0, 1.0])
    assert prompt_tuning_classic_ece(conf, correct, 5) == pytest.approx((2 * abs(0.15 - 0.5) + abs(0.3 - 1)) / 3)
    assert calibration_error(conf, correct, 5) == pytest.approx((abs(0.1 - 0) + 2 * abs(0.25 - 1)) / 3)
    # confidence 0: prompt-tuning's loop drops the sample, we count it in the first bin
    conf0 = np.array([0.0, 0.5])
    correct0 = np.array([1.0, 1.0])
    assert prompt_tuning_classic_ece(conf0, correct0, 5) == pytest.approx(0.5 * 0.5)
    assert calibration_error(conf0, correct0, 5) == pytest.approx((1.0 + 0.5) / 2)


# ---------------------------------------------------------------- smooth ECE: direct definition and relplot


def direct_smooth_ece_at(f: np.ndarray, r: np.ndarray, s: float, points: int = 10001) -> float:
    """integral_0^1 |mean_i r_i K(t, f_i)| dt with the mirror images summed, fine trapezoid rule.

    Images further than 3 from [0, 1] weigh exp(-4.5 / s^2): nothing for s < 0.25.
    """
    t = np.linspace(0, 1, points)
    c = np.zeros(points)
    images = 1 if s < 0.25 else int(np.ceil(6 * s)) + 2
    for m in range(-images, images + 1):
        for sign in (1.0, -1.0):
            d = t[:, None] - (sign * f[None, :] + 2 * m)
            d *= d
            d *= -1.0 / (2 * s * s)
            c += (np.exp(d, out=d) * r).sum(axis=1) / (np.sqrt(2 * np.pi) * s)  # no BLAS: no thread contention
    return float(np.trapezoid(np.abs(c) / len(f), t))


def _binary(n: int, seed: int, lo: float, hi: float, power: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = rng.uniform(lo, hi, n)
    y = (rng.uniform(size=n) < f**power).astype(float)
    return f, y


@pytest.mark.parametrize("case", ["interior", "near-one", "with-exact-one", "with-exact-zero", "uniform"])
def test_smooth_ece_matches_the_direct_definition(case):
    f, y = _binary(
        200,
        1,
        *{
            "interior": (0.3, 0.7, 0.5),
            "near-one": (0.8, 1.0, 3.0),
            "with-exact-one": (0.6, 1.0, 2.0),
            "with-exact-zero": (0.0, 0.3, 0.5),
            "uniform": (0.0, 1.0, 2.0),
        }[case],
    )
    if case == "with-exact-one":
        f[:40] = 1.0
    if case == "with-exact-zero":
        f[:40] = 0.0
    r = f - y
    for s in (0.01, 0.03, 0.1):  # small bandwidths: the smoothed residual changes sign, |.| has kinks
        assert (
            abs(float(smooth_ece_at(torch.as_tensor(f), torch.as_tensor(r), s)[0]) - direct_smooth_ece_at(f, r, s))
            < 1e-6
        )
    got = smooth_calibration_error(f, y)
    # the direct definition's fixed point (where smECE_s - s changes sign) lies within 1e-6 of ours
    assert direct_smooth_ece_at(f, r, got.bandwidth - 1e-6) > got.bandwidth - 1e-6
    assert direct_smooth_ece_at(f, r, got.bandwidth + 1e-6) < got.bandwidth + 1e-6
    assert abs(got.value - got.bandwidth) < 1e-9


def test_relplot_agrees_away_from_the_boundaries():
    relplot = pytest.importorskip("relplot")
    for seed in range(3):
        f, y = _binary(2000, seed, 0.25, 0.75, 1.3)
        assert abs(smooth_calibration_error(f, y).value - relplot.smECE(f, y)) < 1e-5  # measured: 7e-7


def test_relplot_underweights_mass_on_the_boundary():
    relplot = pytest.importorskip("relplot")
    f, y = _binary(500, 3, 0.85, 1.0, 4.0)
    f[:200] = 1.0
    s = 0.05
    ours = float(smooth_ece_at(torch.as_tensor(f), torch.as_tensor(f - y), s)[0])
    assert abs(ours - direct_smooth_ece_at(f, f - y, s)) < 1e-6
    assert abs(relplot.smECE_sigma(f, y, s) - ours) > 5e-3
