"""One home for the point estimates: :func:`point_metrics` gives a notebook the numbers the workflow writes.

The calibration stage builds its estimates with :func:`metric_suite` and writes
``suite.point()`` to ``metrics.json``; :func:`point_metrics` returns exactly that
dict, so the two cannot drift apart.

Names (metrics.json's): ``accuracy``, ``nll``, ``brier``, ``ece``, ``rms_ce``,
``mce``, ``adaptive_ece``, ``classwise_ece``, ``smooth_ece``. Prompt-tuning's
``calibration.py`` names them the same except ``brier_score`` (here ``brier``);
it has no ``rms_ce`` or ``smooth_ece``. Under ``convention="prompt-tuning"`` the seven
metrics prompt-tuning computes follow its conventions (:mod:`videoxai.calibration.prompt_tuning`),
``rms_ce`` is the L2 error over prompt-tuning's bins and ``smooth_ece`` (bin-free)
is computed from prompt-tuning's float32 confidences.

No module of :mod:`videoxai.calibration` imports torch: the estimators are numpy
(and scipy), so a calibrate job starts without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from videoxai.calibration.prompt_tuning import (
    PromptTuningSuite,
    _as_numpy,
    check_convention,
    softmax_float32,
)

#: the metrics every convention reports, in table order (here, torch-free, so the summary job imports no torch)
METRICS = (
    "accuracy",
    "nll",
    "brier",
    "ece",
    "rms_ce",
    "mce",
    "adaptive_ece",
    "classwise_ece",
    "smooth_ece",
)


class PromptTuningMetricSuite:
    """Prompt-tuning's metrics plus smooth ECE, with the interface of :class:`~videoxai.calibration.bootstrap.MetricSuite`.

    ``evaluate(weights)`` takes ``None`` or ``(B, N)`` resampling counts (numpy or
    torch) and returns ``(B,)`` arrays; the bootstrap treats both suites alike.
    """

    def __init__(self, logits: Any, labels: Any, n_bins: int = 15, temperature: float = 1.0):
        self.suite = PromptTuningSuite(softmax_float32(logits, temperature), labels, n_bins)
        self.n_bins = self.suite.n_bins
        self._smooth: tuple[Any, Any, int] | None = None

    @property
    def n(self) -> int:
        return self.suite.n

    def _smooth_parts(self) -> tuple[Any, Any, int]:
        """(smooth ECE, bandwidth, bootstrap grid power) of prompt-tuning's confidences, computed once."""
        if self._smooth is None:
            from videoxai.calibration.bootstrap import _BOOTSTRAP_MAX_POWER
            from videoxai.calibration.smooth import grid_power, smooth_ece

            conf = self.suite.confidence
            value, sigma = smooth_ece(conf, conf - self.suite.correct)
            self._smooth = (value, float(sigma[0]), min(_BOOTSTRAP_MAX_POWER, grid_power(0.5 * float(sigma[0]))))
        return self._smooth

    @property
    def smooth_bandwidth(self) -> float:
        return self._smooth_parts()[1]

    def evaluate(self, weights: Any = None) -> dict[str, np.ndarray]:
        value, bandwidth, power = self._smooth_parts()
        if weights is None:
            out = self.suite.errors()
            out["smooth_ece"] = np.asarray([float(value[0])])
            return out
        w = _as_numpy(weights)
        out = self.suite.errors(w)
        from videoxai.calibration.bootstrap import _BOOTSTRAP_ITERATIONS
        from videoxai.calibration.smooth import MIN_POWER, smooth_ece

        conf = self.suite.confidence
        out["smooth_ece"] = smooth_ece(
            conf,
            conf - self.suite.correct,
            w,
            power=max(MIN_POWER, power),
            iterations=_BOOTSTRAP_ITERATIONS,
            guess=bandwidth,
        )[0]
        return out

    def point(self) -> dict[str, float]:
        return {k: float(v[0]) for k, v in self.evaluate().items()}

    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        return self.suite.tables()


def _check_logits(logits: np.ndarray) -> None:
    """NaN, +inf or an all -inf row make prompt-tuning's softmax NaN; a single -inf logit is a zero probability."""
    if logits.ndim != 2:
        raise ValueError(f"expected logits of shape (N, K), got {logits.shape}")
    bad = np.flatnonzero(
        np.isnan(logits).any(axis=1) | np.isposinf(logits).any(axis=1) | np.isneginf(logits).all(axis=1)
    )
    if bad.size:
        raise ValueError(
            f"{bad.size} row(s) have NaN, +inf or only -inf logits, e.g. rows {bad[:10].tolist()}; "
            "drop them (or mark them status=error) before computing calibration metrics"
        )


def metric_suite(
    logits: Any,
    labels: Any,
    n_bins: int = 15,
    convention: str = "standard",
    temperature: float = 1.0,
    sample_ids: Any = None,
) -> Any:
    """The estimators of one set of logits under ``convention``: point values, bootstrap and bin tables."""
    check_convention(convention)
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    if convention == "prompt-tuning":
        z = _as_numpy(logits)
        _check_logits(z)
        return PromptTuningMetricSuite(z, labels, n_bins, temperature)
    from videoxai.calibration.bootstrap import MetricSuite
    from videoxai.calibration.scores import Scores

    return MetricSuite(Scores.from_logits(logits, labels, temperature=temperature, sample_ids=sample_ids), n_bins)


def point_metrics(
    logits: Any, labels: Any, n_bins: int = 15, convention: str = "standard", temperature: float = 1.0
) -> dict[str, float]:
    """Point estimates of every calibration metric of ``softmax(logits / temperature)``, as metrics.json holds them.

    ``logits`` (N, K) and ``labels`` (N,) may be numpy arrays, torch tensors or
    nested lists. ``convention`` is ``"standard"`` (float64, ``[lo, hi)`` bins; the
    default) or ``"seed"`` (prompt-tuning's ``calibration.py``, to 1e-6). Returns
    ``accuracy, nll, brier, ece, rms_ce, mce, adaptive_ece, classwise_ece, smooth_ece``.
    """
    return metric_suite(logits, labels, n_bins, convention, temperature).point()
