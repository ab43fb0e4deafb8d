"""Temperature scaling (Guo et al. 2017): one scalar T > 0 fitted on held-out logits by NLL."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from videoxai.calibration.scores import ArrayLike, as_array, check_finite_logits, check_labels, log_softmax

F64 = np.float64
BOUNDS = (1e-2, 1e2)
# below these a fitted T is mostly noise: with ~20 misclassified clips its 90% range is about +-20% of T
# (benchmarks/temperature_spread.py; docs/calibration.md, "Temperature scaling")
MIN_VAL_CLIPS = 50
MIN_VAL_ERRORS = 20


@dataclass(frozen=True)
class TemperatureFit:
    temperature: float
    nll_before: float  # mean NLL of the fitting set at T = 1
    nll_after: float  # ... at the fitted T
    at_bound: bool  # the optimum lies at or beyond a bound: T is that bound (see ``bound``)
    n: int
    errors: int = 0  # fitting clips whose top prediction is wrong (T does not change which)
    bound: str | None = None  # "lower" (separable: sharper is always better), "upper" (no information), or None

    def warnings(self) -> list[str]:
        """What a user must know about this T, one message per finding (first line: what; second: what it means)."""
        found = []
        if self.n < MIN_VAL_CLIPS or self.errors < MIN_VAL_ERRORS:
            found.append(
                f"temperature scaling: too few val clips to fit T: {self.n} clips, {self.errors} of them misclassified "
                f"(it needs at least {MIN_VAL_CLIPS} clips and {MIN_VAL_ERRORS} misclassified ones)\n"
                f"a T fitted on so few clips (above all, so few errors) is mostly noise: even with {MIN_VAL_ERRORS} "
                "misclassified clips its 90% range is about +-20%; extract a larger val split, or set a fixed temperature"
            )
        if self.bound == "upper":
            found.append(
                f"temperature scaling: T hit its upper bound (T = {self.temperature:g}): the val NLL keeps falling "
                "as the predictions flatten towards uniform\n"
                "they carry (almost) no information about the val labels (e.g. most top predictions are wrong), "
                "so the scaled test predictions are nearly uniform"
            )
        elif self.bound == "lower":
            found.append(
                f"temperature scaling: T hit its lower bound (T = {self.temperature:g}): the val NLL keeps falling "
                "as the predictions sharpen\n"
                "the val predictions are (nearly) separable (every top prediction right, by a margin), so T is set "
                "by the bound, not by the data"
            )
        return found


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
    (``at_bound``, ``bound``): the lower bound when the fitting set is (almost)
    perfectly separable (the NLL keeps falling as T -> 0), the upper bound when
    its predictions are no better than uniform (the NLL keeps falling as T grows).
    :meth:`TemperatureFit.warnings` says so, and when the set is too small.
    ``max_iter`` bounds Brent's iterations.
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
        t, bound = hi, "upper"
    elif slope_hi <= 0:  # NLL still falls at the largest beta: T = low (or beyond), (nearly) separable data
        t, bound = lo, "lower"
    else:
        beta = brentq(
            lambda b: nll_slope(z, y, b), beta_lo, beta_hi, xtol=1e-15, rtol=4 * np.finfo(F64).eps, maxiter=max_iter
        )
        t, bound = 1.0 / beta, None
    return TemperatureFit(
        temperature=t,
        nll_before=scaled_nll(z, y, 1.0),
        nll_after=scaled_nll(z, y, t),
        at_bound=bound is not None,
        n=int(z.shape[0]),
        errors=int((z.argmax(axis=1) != y).sum()),
        bound=bound,
    )
