"""Temperature scaling: the L-BFGS fit is the NLL minimum, scales with the logits, and handles separable data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar

from videoxai.calibration import NonFiniteLogitsError, fit_temperature


def _overconfident(n: int, k: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(true logits); the model reports ``scale`` times those logits."""
    rng = np.random.default_rng(seed)
    true = rng.normal(size=(n, k)) * 2
    p = np.exp(true - true.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = (p.cumsum(1) > rng.uniform(size=(n, 1))).argmax(1)
    return true * scale, y


def _nll(z: np.ndarray, y: np.ndarray, t: float) -> float:
    return float(F.cross_entropy(torch.as_tensor(z) / t, torch.as_tensor(y)))


@pytest.mark.parametrize("scale", [0.4, 1.0, 3.0])
def test_fit_is_the_nll_minimum(scale):
    z, y = _overconfident(2000, 10, scale, seed=1)
    fit = fit_temperature(z, y)
    ref = minimize_scalar(lambda lt: _nll(z, y, np.exp(lt)), bounds=(-4, 4), method="bounded", options={"xatol": 1e-10})
    assert fit.temperature == pytest.approx(np.exp(ref.x), rel=1e-6)
    assert fit.nll_after <= _nll(z, y, np.exp(ref.x)) + 1e-12
    assert fit.nll_after <= fit.nll_before and not fit.at_bound
    # the data were generated at T = scale: the fit should be near it
    assert fit.temperature == pytest.approx(scale, rel=0.1)


def test_fit_scales_with_the_logits():
    z, y = _overconfident(1000, 5, 1.0, seed=2)
    t1 = fit_temperature(z, y).temperature
    t7 = fit_temperature(7.0 * z, y).temperature
    assert t7 == pytest.approx(7.0 * t1, rel=1e-6)


def test_separable_data_stop_at_the_lower_bound():
    z = np.eye(3)[np.arange(12) % 3] * 2.0
    fit = fit_temperature(z, np.arange(12) % 3)
    assert fit.at_bound and fit.temperature == pytest.approx(1e-2)
    assert fit.nll_after < 1e-12


def test_fit_rejects_non_finite_logits():
    z = np.zeros((4, 3))
    z[1, 2] = np.nan
    with pytest.raises(NonFiniteLogitsError, match="row 1"):
        fit_temperature(z, np.zeros(4, dtype=int))
