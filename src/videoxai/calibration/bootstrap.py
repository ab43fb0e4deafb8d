"""Every metric of one set of scores, as a point estimate and under bootstrap resampling.

Resamples are drawn as integer count vectors (how often each sample is drawn,
``N`` draws with replacement), so a resampled metric is the same estimator with
weights: no copy of the data per resample, one batch of resamples at a time.
All metrics share the same resamples (a paired bootstrap), and intervals are
percentile intervals of the resampled values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from videoxai.calibration.binned import Adaptive, Classwise, EqualWidth
from videoxai.calibration.point import METRICS
from videoxai.calibration.scores import Scores, as_array
from videoxai.calibration.smooth import MIN_POWER, grid_power, smooth_ece

F64 = np.float64
# resampled values held at once: bounds memory to a few times this many float64s
_BATCH_ELEMENTS = 2_000_000
# the bootstrap's smooth-ECE grid: fine enough for an interval, cheap enough for 1000 resamples
_BOOTSTRAP_MAX_POWER = 14
_BOOTSTRAP_ITERATIONS = 26


class MetricSuite:
    """All metrics of ``scores``; :meth:`evaluate` takes ``None`` or ``(B, N)`` resampling counts."""

    def __init__(self, scores: Scores, n_bins: int = 15):
        self.scores = scores
        self.n_bins = n_bins
        self.residual = scores.confidence - scores.correct.astype(F64)
        self.equal_width = EqualWidth(scores.confidence, scores.correct, n_bins)
        self.adaptive = Adaptive(scores.confidence, scores.correct, n_bins)
        self.classwise = Classwise(scores.probs, scores.labels, n_bins)
        value, sigma = smooth_ece(scores.confidence, self.residual)
        self.smooth_bandwidth = float(sigma[0])
        self._smooth_value = value
        self._smooth_power = min(_BOOTSTRAP_MAX_POWER, grid_power(0.5 * self.smooth_bandwidth))

    def evaluate(self, weights: Any = None) -> dict[str, np.ndarray]:
        """Every metric: 0-d/1-element arrays for ``None``, ``(B,)`` arrays for weights."""
        s = self.scores
        if weights is None:

            def mean(v):
                return v.astype(F64).mean()

            smooth = self._smooth_value[0]
        else:
            w = as_array(weights).astype(F64)
            total = w.sum(axis=1)

            def mean(v):
                return (w @ v.astype(F64)) / total

            smooth = smooth_ece(
                s.confidence,
                self.residual,
                w,
                power=max(MIN_POWER, self._smooth_power),
                iterations=_BOOTSTRAP_ITERATIONS,
                guess=self.smooth_bandwidth,
            )[0]
        out = {"accuracy": mean(s.correct), "nll": mean(s.nll), "brier": mean(s.brier)}
        out.update(self.equal_width.errors(weights))
        out["adaptive_ece"] = self.adaptive.error(weights)
        out["classwise_ece"] = self.classwise.error(weights)
        out["smooth_ece"] = smooth
        return out

    @property
    def n(self) -> int:
        return self.scores.n

    def point(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.evaluate().items()}

    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Per-bin tables of both schemes (``equal-width``, ``equal-mass``), as numpy arrays."""
        tables = {"equal-width": self.equal_width.table(), "equal-mass": self.adaptive.table()}
        return tables


def resample_counts(n: int, resamples: int, seed: int, batch: int | None = None) -> Iterator[np.ndarray]:
    """Batches of ``(b, n)`` int64 counts: row ``j`` says how often each sample is in resample ``j``.

    Deterministic for a given ``(n, resamples, seed)``: the draws come from one
    ``numpy.random.default_rng(seed)`` stream, batch after batch.
    """
    rng = np.random.default_rng(seed)
    batch = batch or max(1, _BATCH_ELEMENTS // max(n, 1))
    for start in range(0, resamples, batch):
        b = min(batch, resamples - start)
        draws = rng.integers(0, n, size=(b, n))
        flat = (draws + np.arange(b)[:, None] * n).ravel()
        yield np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.int64)


def bootstrap(suite: MetricSuite, resamples: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Each metric's value on ``resamples`` bootstrap resamples (same resamples for all metrics).

    ``suite`` is a :class:`MetricSuite` or any suite with ``n`` and ``evaluate(weights)``
    (the prompt-tuning convention's :class:`~videoxai.calibration.point.PromptTuningMetricSuite`).
    """
    values: dict[str, list[np.ndarray]] = {k: [] for k in METRICS}
    for counts in resample_counts(suite.n, resamples, seed):
        for k, v in suite.evaluate(counts).items():
            values[k].append(np.asarray(v))
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in values.items()}


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> list[float] | None:
    """Central percentile interval ``[lo, hi]`` (linear interpolation); None without samples."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(finite, [alpha, 1.0 - alpha])
    return [float(lo), float(hi)]
