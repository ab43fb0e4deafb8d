"""Smooth ECE: the properties the definition guarantees (fixed point, monotone in the bandwidth)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videoxai.calibration import smooth_calibration_error
from videoxai.calibration.smooth import Smoother, grid_power, smooth_ece_at


def _data(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = rng.beta(4, 1.5, n)
    return f, (rng.uniform(size=n) < f**2).astype(float)


def test_value_is_the_fixed_point_bandwidth():
    f, y = _data()
    s = smooth_calibration_error(f, y)
    assert 0 < s.bandwidth < 1
    assert abs(s.value - s.bandwidth) < 1e-9
    assert float(smooth_ece_at(torch.as_tensor(f), torch.as_tensor(f - y), s.bandwidth)[0]) == pytest.approx(
        s.value, abs=1e-8
    )


def test_smooth_ece_never_increases_with_the_bandwidth():
    f, y = _data(seed=1)
    sm = Smoother(torch.as_tensor(f), torch.as_tensor(f - y), power=14)
    values = sm.ece(np.linspace(0.005, 1.0, 60))
    assert (np.diff(values) <= 1e-12).all()
    # at a huge bandwidth only the mean residual survives: |mean(f - y)|
    assert float(sm.ece(50.0)[0]) == pytest.approx(abs(np.mean(f - y)), abs=1e-9)


def test_row_order_does_not_matter():
    f, y = _data(seed=2)
    perm = np.random.default_rng(0).permutation(len(f))
    assert smooth_calibration_error(f[perm], y[perm]).value == pytest.approx(
        smooth_calibration_error(f, y).value, abs=1e-12
    )


def test_degenerate_inputs():
    # perfect one-hot predictions that are all right: no residual at all
    s = smooth_calibration_error(np.ones(10), np.ones(10))
    assert (s.value, s.bandwidth) == (0.0, 0.0)
    # all wrong at confidence one: every kernel carries residual 1, smECE_s = 1 for every s
    s = smooth_calibration_error(np.ones(10), np.zeros(10))
    assert s.value == pytest.approx(1.0, abs=1e-9)
    # one sample: every reflected kernel integrates to one over [0, 1], so smECE_s = |residual|
    for f, y in ((0.7, 1.0), (0.0, 1.0), (1.0, 0.0)):
        s = smooth_calibration_error(np.array([f]), np.array([y]))
        assert s.value == pytest.approx(abs(f - y), abs=1e-9)


def test_grid_power_follows_the_bandwidth():
    assert grid_power(0.5) == 12 and grid_power(1e-9) == 18 and grid_power(0.0) == 18
    assert 2.0 ** -grid_power(0.004) <= 0.004 / 64


def _bisection(sm: Smoother, iterations: int) -> np.ndarray:
    """What fixed_point must return: ``iterations`` halvings of [0, 1] on the test ``smECE_s > s``, every row at once."""
    lo, hi = np.zeros(sm.spectrum.shape[0]), np.ones(sm.spectrum.shape[0])
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        above = sm.ece(mid) > mid
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count Smoother.ece calls (each an inverse FFT of the rows asked for)."""
    calls = [0]
    ece = Smoother.ece

    def counted(self, sigma, rows=None):
        calls[0] += 1
        return ece(self, sigma, rows)

    monkeypatch.setattr(Smoother, "ece", counted)
    return calls


@pytest.mark.parametrize("seed", range(8))
def test_fixed_point_is_bisections_answer_in_fewer_evaluations(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 1500))
    f = rng.beta(rng.uniform(0.5, 8), rng.uniform(0.5, 3), n)
    if seed % 3 == 1:
        f = np.round(f, 1)  # confidences on a few values: smECE_s is flat over long stretches
    if seed % 3 == 2:
        f[: n // 2] = 1.0  # many confidences exactly one
    y = (rng.uniform(size=n) < f ** rng.uniform(0.5, 3)).astype(float)
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(40)]).astype(float)
    point = Smoother(f, f - y, power=12)
    bandwidth = float(_bisection(point, 40)[0])
    calls = _counting(monkeypatch)
    for sm, iterations, guess in (
        (point, 40, None),
        (point, 24, 0.3),
        (Smoother(f, f - y, counts, power=12), 26, None),
        (Smoother(f, f - y, counts, power=12), 26, bandwidth),  # as the bootstrap calls it
    ):
        calls[0] = 0
        fast = sm.fixed_point(iterations, guess)
        assert calls[0] <= iterations // 2, f"{calls[0]} evaluations for {iterations} bisection steps"
        assert np.array_equal(fast, _bisection(sm, iterations))


def test_fixed_point_at_the_ends_of_the_interval() -> None:
    # all wrong at confidence one: smECE_s = 1 > s everywhere, bisection ends in the last cell below 1
    sm = Smoother(np.ones(10), np.ones(10), power=12)
    assert sm.fixed_point(26)[0] == 1.0 - 2.0**-27 == _bisection(sm, 26)[0]
    # a single sample: smECE_s = |residual| for every s, so the root is the residual itself
    for residual in (0.3, 0.25, 2.0**-26):
        sm = Smoother(np.array([0.7]), np.array([residual]), power=12)
        assert np.array_equal(sm.fixed_point(26), _bisection(sm, 26))
        assert abs(sm.fixed_point(26)[0] - residual) <= 2.0**-27


def test_ece_of_a_subset_of_rows_is_that_of_the_whole_batch() -> None:
    f, y = _data(seed=3)
    counts = np.stack([np.bincount(np.random.default_rng(i).integers(0, 500, 500), minlength=500) for i in range(6)])
    sm = Smoother(f, f - y, counts, power=12)
    sigma = np.linspace(0.02, 0.07, 6)
    rows = np.array([1, 4, 5])
    np.testing.assert_allclose(sm.ece(sigma[rows], rows=rows), sm.ece(sigma)[rows], rtol=1e-13, atol=0)
