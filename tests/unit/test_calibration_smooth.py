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
