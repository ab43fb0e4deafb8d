"""95% intervals from bootstrap resamples, and the chi-square test that decides whether one reaches 0.

Two kinds of metric, two intervals (the reasons and the coverage measured on
simulated data are in ``docs/calibration.md``):

- means of per-sample terms (accuracy, NLL, Brier): unbiased, so the central
  percentile interval of the resampled values (:func:`percentile_interval`).
- calibration errors (ECE and its relatives): the plug-in is biased upward (``|.|``
  of a noisy gap), most when the model is nearly calibrated, and a percentile
  interval inherits the bias, so it can lie wholly above its own estimate and
  miss the true value. :func:`debiased_interval` is Kumar et al. (2019)'s bootstrap
  interval around a debiased estimate, and it starts at 0 whenever the test of
  perfect calibration does not reject (then the data cannot rule out a true error of 0).
"""

from __future__ import annotations

import math

import numpy as np


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> list[float] | None:
    """Central percentile interval ``[lo, hi]`` (linear interpolation); None without samples."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return [float(lo), float(hi)]


def debiased_interval(
    plugin: float,
    estimate: float,
    replicates: np.ndarray,
    level: float = 0.95,
    from_zero: bool = False,
    reported: float | None = None,
) -> list[float] | None:
    """``[plugin + estimate - q_hi, plugin + estimate - q_lo]`` of the ``estimate``'s bootstrap ``replicates``, in [0, 1].

    Kumar et al.'s ``bootstrap_uncertainty``: the bootstrap distribution of the
    estimator around its value stands in for its distribution around the truth,
    reflected (the basic bootstrap) and moved by the estimator's bias correction
    ``estimate - plugin``. With ``estimate = plugin`` it is the basic interval
    ``[2 plugin - q_hi, 2 plugin - q_lo]``. ``from_zero``: the lower end is 0 (the test
    of perfect calibration did not reject). The interval is widened to hold the
    estimate reported with it (``reported``, by default ``estimate``) should that
    fall outside (never in the simulations of the docs).
    """
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0 or not (math.isfinite(plugin) and math.isfinite(estimate)):
        return None
    alpha = (1.0 - level) / 2.0
    q_lo, q_hi = np.quantile(finite, [alpha, 1.0 - alpha])
    centre = plugin + estimate
    lo = 0.0 if from_zero else min(max(centre - q_hi, 0.0), 1.0)
    hi = min(max(centre - q_lo, 0.0), 1.0)
    point = min(max(estimate if reported is None else reported, 0.0), 1.0)
    return [float(min(lo, point)), float(max(hi, point))]


def median_corrected(plugin: float, replicates: np.ndarray) -> float | None:
    """The bootstrap's bias correction ``2 plugin - median(replicates)``, in [0, 1]: the centre of the basic interval."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0 or not math.isfinite(plugin):
        return None
    return float(min(max(2.0 * plugin - float(np.median(finite)), 0.0), 1.0))


def chi2_sf(statistic: float, dof: int) -> float:
    """``P(X >= statistic)`` for ``X ~ chi-square(dof)``, without scipy (its import costs a calibrate job 0.3 s).

    Exact finite sums for ``dof <= 200`` (Abramowitz & Stegun 26.4.4-26.4.5, in logs);
    above, the Wilson-Hilferty cube-root normal approximation (error < 1e-3 there).
    """
    if dof < 1:
        raise ValueError(f"dof must be >= 1, got {dof}")
    if not statistic > 0:
        return 1.0
    if math.isinf(statistic):
        return 0.0
    if dof > 200:
        k = float(dof)
        z = ((statistic / k) ** (1.0 / 3.0) - (1.0 - 2.0 / (9.0 * k))) / math.sqrt(2.0 / (9.0 * k))
        return 0.5 * math.erfc(z / math.sqrt(2.0))
    half = statistic / 2.0
    log_half = math.log(half)
    if dof % 2 == 0:  # e^{-x} sum_{i < k/2} x^i / i!
        terms = [-half + i * log_half - math.lgamma(i + 1) for i in range(dof // 2)]
        head = 0.0
    else:  # erfc(sqrt x) + e^{-x} sum_{i=1}^{(k-1)/2} x^{i - 1/2} / Gamma(i + 1/2)
        terms = [-half + (i - 0.5) * log_half - math.lgamma(i + 0.5) for i in range(1, (dof + 1) // 2)]
        head = math.erfc(math.sqrt(half))
    if not terms:
        return min(head, 1.0)
    top = max(terms)
    return min(head + math.exp(top) * sum(math.exp(t - top) for t in terms), 1.0)
