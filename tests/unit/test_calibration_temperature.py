"""Temperature scaling: the fit is the NLL minimum (as torch's L-BFGS finds it), scales with the logits, and stops at
its bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import minimize_scalar

from videoxai.calibration import NonFiniteLogitsError, fit_temperature
from videoxai.calibration.temperature import nll_slope


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


def _torch_lbfgs_temperature(z: np.ndarray, y: np.ndarray) -> float:
    """The reference: L-BFGS (strong Wolfe) on log T in torch, as videoxai fitted T before it dropped torch."""
    zt, yt = torch.as_tensor(z, dtype=torch.float64), torch.as_tensor(y)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [log_t], lr=1.0, max_iter=100, tolerance_grad=1e-12, tolerance_change=1e-15, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(zt / torch.exp(log_t), yt)
        loss.backward()
        return loss

    opt.step(closure)
    return float(torch.exp(log_t.detach()))


@pytest.mark.parametrize("scale", [0.4, 1.0, 3.0])
def test_fit_agrees_with_torch_lbfgs_and_zeroes_the_slope(scale):
    z, y = _overconfident(1500, 12, scale, seed=3)
    fit = fit_temperature(z, y)
    # L-BFGS stops once the loss stops changing (its T is off by up to ~3e-8 relative); Brent's root is exact
    assert fit.temperature == pytest.approx(_torch_lbfgs_temperature(z, y), rel=1e-6)
    assert abs(nll_slope(z.astype(np.float64), y, 1.0 / fit.temperature)) < 1e-12
    assert fit.nll_after == pytest.approx(_nll(z, y, fit.temperature), abs=1e-14)
    assert fit.nll_before == pytest.approx(_nll(z, y, 1.0), abs=1e-14)


def test_anti_correlated_logits_stop_at_the_upper_bound():
    # the label is always the least likely class: the NLL falls as T grows, up to the bound
    z, _ = _overconfident(200, 4, 1.0, seed=4)
    fit = fit_temperature(z, z.argmin(1))
    assert fit.at_bound and fit.temperature == 1e2
    assert fit.nll_after == pytest.approx(_nll(z, z.argmin(1), 1e2), abs=1e-14)


def _first_lines(fit) -> list[str]:
    return [w.split("\n")[0] for w in fit.warnings()]


def test_the_bounds_say_what_they_mean():
    """Lower bound: separable (sharper always better); upper bound: no information (flatter always better)."""
    z, _ = _overconfident(200, 4, 1.0, seed=4)
    upper = fit_temperature(z, z.argmin(1))
    assert upper.bound == "upper" and upper.errors == 200
    assert _first_lines(upper) == [
        "temperature scaling: T hit its upper bound (T = 100): the val NLL keeps falling as the predictions flatten "
        "towards uniform"
    ]
    lower = fit_temperature(z, z.argmax(1))  # every top prediction right: separable
    assert lower.bound == "lower" and lower.errors == 0
    assert _first_lines(lower) == [
        "temperature scaling: too few val clips to fit T: 200 clips, 0 of them misclassified (it needs at least 50 "
        "clips and 20 misclassified ones)",
        "temperature scaling: T hit its lower bound (T = 0.01): the val NLL keeps falling as the predictions sharpen",
    ]
    assert "(nearly) separable" in lower.warnings()[1] and "no information" in upper.warnings()[0]


def test_too_few_val_clips_or_errors_are_named():
    """The user's case: 4 val clips, all wrong. Below 50 clips or 20 misclassified ones T is mostly noise (docs)."""
    z = np.array([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0], [3.0, 0, 0]])
    fit = fit_temperature(z, np.array([1, 2, 0, 2]))
    assert (fit.n, fit.errors, fit.bound) == (4, 4, "upper")
    assert _first_lines(fit) == [
        "temperature scaling: too few val clips to fit T: 4 clips, 4 of them misclassified (it needs at least 50 "
        "clips and 20 misclassified ones)",
        "temperature scaling: T hit its upper bound (T = 100): the val NLL keeps falling as the predictions flatten "
        "towards uniform",
    ]
    enough = fit_temperature(*_overconfident(400, 10, 2.0, seed=5))
    assert enough.errors >= 20 and enough.warnings() == []
    z, y = _overconfident(400, 10, 2.0, seed=6)
    y[10:] = z[10:].argmax(1)  # 400 clips, at most 10 of them wrong
    few_errors = fit_temperature(z, y)
    assert 0 < few_errors.errors <= 10 and _first_lines(few_errors) == [
        f"temperature scaling: too few val clips to fit T: 400 clips, {few_errors.errors} of them misclassified (it "
        "needs at least 50 clips and 20 misclassified ones)"
    ]
