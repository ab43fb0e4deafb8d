"""The one metric suite: every metric of one set of scores, as a point estimate and under resampling weights.

:class:`MetricSuite` takes the binning rule of a convention
(:class:`~videoxai.calibration.rules.BinningRule`) and the scores built with its
softmax precision; :func:`metric_suite` does both from a convention's name. The
bootstrap (:mod:`videoxai.calibration.bootstrap`) calls :meth:`MetricSuite.evaluate`
with integer resampling counts, so intervals come from the same estimators as the
point values.

:func:`point_metrics` gives a notebook the numbers the workflow writes: the
calibration stage writes ``metric_suite(...).point()`` to ``metrics.json``, and
:func:`point_metrics` returns exactly that dict, so the two cannot drift apart.
Under ``convention="prompt-tuning"`` the seven metrics prompt-tuning computes
follow its conventions (:data:`videoxai.calibration.rules.PARAMS`), ``rms_ce`` is
the L2 error over prompt-tuning's bins and ``smooth_ece`` (bin-free) is computed
from prompt-tuning's float32 confidences. Nothing here imports torch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from videoxai.calibration.binned import Adaptive, Classwise, EqualWidth
from videoxai.calibration.binning import STANDARD_RULE
from videoxai.calibration.intervals import chi2_sf
from videoxai.calibration.names import METRICS
from videoxai.calibration.rules import BinningRule, ConventionParams, binning_rule, convention_params
from videoxai.calibration.scores import Scores, as_array
from videoxai.calibration.smooth import MIN_POWER, grid_power, smooth_ece

F64 = np.float64
# the bootstrap's smooth-ECE grid: fine enough for an interval, cheap enough for 1000 resamples
BOOTSTRAP_MAX_POWER = 14
BOOTSTRAP_ITERATIONS = 26


def weighted_mean(values: np.ndarray, weights: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``(B,)`` weighted means of per-sample terms; infinite where a resample holds an infinite term.

    Only the float32 softmax's NLL can be infinite (a true-class probability that
    underflows to 0); ``0 * inf`` would make a resample without that row NaN.
    """
    v = values.astype(F64)
    finite = np.isfinite(v)
    if finite.all():
        return (weights @ v) / total
    out = (weights @ np.where(finite, v, 0.0)) / total
    return np.where((weights @ (~finite).astype(F64)) > 0, np.inf, out)


class MetricSuite:
    """All metrics of ``scores`` under ``binning``; :meth:`evaluate` takes ``None`` or ``(B, N)`` resampling counts."""

    def __init__(self, scores: Scores, n_bins: int = 15, binning: BinningRule | str = STANDARD_RULE):
        rule = binning_rule(binning)
        self.scores = scores
        self.n_bins = n_bins
        self.binning = rule
        self.residual = scores.confidence - scores.correct.astype(F64)
        self.equal_width = EqualWidth(scores.confidence, scores.correct, n_bins, rule)
        self.adaptive = Adaptive(scores.confidence, scores.correct, n_bins, rule)
        self.classwise = Classwise(scores.probs, scores.labels, n_bins, rule=rule)
        value, sigma = smooth_ece(scores.confidence, self.residual)
        self.smooth_bandwidth = float(sigma[0])
        self._smooth_value = value
        self._smooth_power = min(BOOTSTRAP_MAX_POWER, grid_power(0.5 * self.smooth_bandwidth))

    def evaluate(self, weights: Any = None) -> dict[str, np.ndarray]:
        """Every metric, and ``<name>_debiased`` of :data:`~videoxai.calibration.names.ANALYTIC_DEBIAS`:
        0-d/1-element arrays for ``None``, ``(B,)`` arrays for weights."""
        s = self.scores
        if weights is None:

            def mean(v):
                return v.astype(F64).mean()

            smooth = self._smooth_value[0]
        else:
            w = as_array(weights).astype(F64)
            total = w.sum(axis=1)

            def mean(v):
                return weighted_mean(v, w, total)

            smooth = smooth_ece(
                s.confidence,
                self.residual,
                w,
                power=max(MIN_POWER, self._smooth_power),
                iterations=BOOTSTRAP_ITERATIONS,
                guess=self.smooth_bandwidth,
            )[0]
        out = {"accuracy": mean(s.correct), "nll": mean(s.nll), "brier": mean(s.brier)}
        out.update(self.equal_width.errors(weights))
        out["adaptive_ece"] = self.adaptive.error(weights)
        out["classwise_ece"] = self.classwise.error(weights)
        out["smooth_ece"] = smooth
        out["adaptive_ece_debiased"] = self.adaptive.debiased(weights)
        out["classwise_ece_debiased"] = self.classwise.debiased(weights)
        return out

    def calibration_tests(self) -> dict[str, dict[str, float]]:
        """The chi-square tests of perfect calibration on each scheme's cells: statistic, dof and p-value.

        The statistic is None where it is infinite (a confidence of exactly 1 that was wrong; p-value 0).
        """
        tests = {
            "equal-width": self.equal_width.test(),
            "equal-mass": self.adaptive.test(),
            "class-wise": self.classwise.test(),
        }
        return {
            k: {"statistic": t if math.isfinite(t) else None, "dof": dof, "p_value": chi2_sf(t, dof)}
            for k, (t, dof) in tests.items()
        }

    @property
    def n(self) -> int:
        return self.scores.n

    def point(self) -> dict[str, float]:
        """Every metric of :data:`~videoxai.calibration.names.METRICS` as a float (what ``metrics.json`` holds)."""
        return {k: float(v) for k, v in self.evaluate().items() if k in METRICS}

    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Per-bin tables of both schemes (``equal-width``, ``equal-mass``), as numpy arrays."""
        return {"equal-width": self.equal_width.table(), "equal-mass": self.adaptive.table()}


def metric_suite(
    logits: Any,
    labels: Any,
    n_bins: int = 15,
    convention: str | ConventionParams = "standard",
    temperature: float = 1.0,
    sample_ids: Any = None,
) -> MetricSuite:
    """The estimators of one set of logits under ``convention``: point values, bootstrap and bin tables."""
    params = convention_params(convention)
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    scores = Scores.from_logits(logits, labels, temperature=temperature, sample_ids=sample_ids, softmax=params.softmax)
    return MetricSuite(scores, n_bins, params.binning)


def point_metrics(
    logits: Any,
    labels: Any,
    n_bins: int = 15,
    convention: str | ConventionParams = "standard",
    temperature: float = 1.0,
) -> dict[str, float]:
    """Point estimates of every calibration metric of ``softmax(logits / temperature)``, as metrics.json holds them.

    ``logits`` (N, K) and ``labels`` (N,) may be numpy arrays, torch tensors or
    nested lists. ``convention`` is ``"standard"`` (float64, ``[lo, hi)`` bins; the
    default), ``"prompt-tuning"`` (prompt-tuning's ``calibration.py``, to 1e-6) or a
    :class:`~videoxai.calibration.rules.ConventionParams` record. Returns
    :data:`~videoxai.calibration.names.METRICS`.
    """
    return metric_suite(logits, labels, n_bins, convention, temperature).point()
