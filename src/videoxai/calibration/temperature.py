"""Temperature scaling (Guo et al. 2017): one scalar T > 0 fitted on held-out logits by NLL."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from videoxai.calibration.scores import ArrayLike, as_array, check_finite_logits, check_labels, log_softmax

F64 = np.float64
BOUNDS = (1e-2, 1e2)


@dataclass(frozen=True)
class TemperatureFit:
    temperature: float
    nll_before: float  # mean NLL of the fitting set at T = 1
    nll_after: float  # ... at the fitted T
    at_bound: bool  # the optimum lies at or beyond a bound (e.g. perfectly separable data): T is that bound
    n: int


def scaled_nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean NLL of ``softmax(logits / temperature)``."""
    logp = log_softmax(np.asarray(logits, dtype=F64) / temperature)
    return float(-np.take_along_axis(logp, labels[:, None], axis=1).mean())


def nll_slope(logits: np.ndarray, labels: np.ndarray, inverse_temperature: float) -> float:
    """Derivative of the mean NLL with respect to ``beta = 1/T``: ``mean_i (E_{p_i}[z_i] - z_{i,y_i})``.

    The NLL is convex in ``beta`` (its second derivative is the mean variance of
    the logits under ``p``), so this slope never decreases and its root is the optimum.
    """
    p = np.exp(log_softmax(logits * inverse_temperature))
    expected = (p * logits).sum(axis=1)
    return float((expected - np.take_along_axis(logits, labels[:, None], axis=1)[:, 0]).mean())


def fit_temperature(
    logits: ArrayLike, labels: ArrayLike, bounds: tuple[float, float] = BOUNDS, max_iter: int = 100
) -> TemperatureFit:
    """Minimise the mean NLL of ``softmax(logits / T)`` over ``T`` in ``bounds``.

    The NLL is convex in ``beta = 1/T``, so the optimum is the root of its slope
    (:func:`nll_slope`), found by Brent's method (``scipy.optimize.brentq``) to
    float64 precision in ``beta``. When the slope has one sign over the whole
    range the optimum lies at or beyond a bound, and T is that bound
    (``at_bound``): it happens when the fitting set is (almost) perfectly
    separable, where the NLL keeps falling as T -> 0. ``max_iter`` bounds
    Brent's iterations.
    """
    z = as_array(logits, F64)
    y = as_array(labels, np.int64)
    if z.ndim != 2 or y.ndim != 1 or z.shape[0] != y.shape[0] or z.shape[0] == 0:
        raise ValueError(f"need logits (N, K) and labels (N,) with N > 0 to fit a temperature, got {tuple(z.shape)}")
    check_finite_logits(z, source="the temperature-fitting (val) predictions")
    check_labels(y, z.shape[1])
    lo, hi = float(bounds[0]), float(bounds[1])
    if not (0 < lo <= 1.0 <= hi and math.isfinite(hi)):
        raise ValueError(f"temperature bounds must satisfy 0 < low <= 1 <= high < inf, got {bounds!r}")
    beta_lo, beta_hi = 1.0 / hi, 1.0 / lo
    slope_lo, slope_hi = nll_slope(z, y, beta_lo), nll_slope(z, y, beta_hi)
    if slope_lo >= 0:  # NLL rises from the smallest beta on: the optimum is T = high (or beyond)
        t, at_bound = hi, True
    elif slope_hi <= 0:  # NLL still falls at the largest beta: T = low (or beyond), (nearly) separable data
        t, at_bound = lo, True
    else:
        beta = brentq(
            lambda b: nll_slope(z, y, b), beta_lo, beta_hi, xtol=1e-15, rtol=4 * np.finfo(F64).eps, maxiter=max_iter
        )
        t, at_bound = 1.0 / beta, False
    return TemperatureFit(
        temperature=t,
        nll_before=scaled_nll(z, y, 1.0),
        nll_after=scaled_nll(z, y, t),
        at_bound=at_bound,
        n=int(z.shape[0]),
    )
