"""Bootstrap intervals: resampling by weights is exactly resampling the data, and it is seeded."""

from __future__ import annotations

import numpy as np
import pytest

from videoxai.calibration import Scores
from videoxai.calibration.bootstrap import bootstrap, resample_counts
from videoxai.calibration.intervals import percentile_interval
from videoxai.calibration.names import ANALYTIC_DEBIAS, METRICS
from videoxai.calibration.report import evaluate
from videoxai.calibration.suite import MetricSuite


def _logits(n: int = 400, k: int = 9, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) * 2
    y = rng.integers(0, k, n)
    z[np.arange(n // 3), y[: n // 3]] += 4
    z[:20] = np.round(z[:20])  # some exact ties in confidence
    z[10:20] = z[0]
    return z, y


def test_resample_counts_are_draws_with_replacement():
    batches = list(resample_counts(50, 23, seed=3, batch=10))
    assert [b.shape for b in batches] == [(10, 50), (10, 50), (3, 50)]
    counts = np.concatenate(batches)
    assert counts.dtype == np.int64
    assert (counts.sum(axis=1) == 50).all() and (counts >= 0).all()
    again = np.concatenate(list(resample_counts(50, 23, seed=3, batch=10)))
    assert np.array_equal(counts, again)
    assert not np.array_equal(counts, np.concatenate(list(resample_counts(50, 23, seed=4, batch=10))))


def test_weighted_metrics_equal_metrics_of_the_resampled_data():
    z, y = _logits()
    suite = MetricSuite(Scores.from_logits(z, y), n_bins=10)
    counts = next(resample_counts(len(y), 4, seed=1))
    batched = suite.evaluate(counts)
    for j in range(4):
        idx = np.repeat(np.arange(len(y)), counts[j])
        direct = MetricSuite(Scores.from_logits(z[idx], y[idx]), n_bins=10).point()
        for name in METRICS:
            # smooth ECE: the bootstrap's grid and bisection are coarser; exact elsewhere
            tol = 1e-6 if name == "smooth_ece" else 1e-12
            assert abs(float(batched[name][j]) - direct[name]) < tol, name


def test_unit_weights_give_the_point_estimate():
    z, y = _logits(seed=2)
    suite = MetricSuite(Scores.from_logits(z, y), n_bins=15)
    ones = suite.evaluate(np.ones((1, len(y)), dtype=np.int64))
    point = suite.point()
    for name in METRICS:
        assert abs(float(ones[name][0]) - point[name]) < (1e-6 if name == "smooth_ece" else 1e-12), name


def test_intervals_are_seeded_and_bracket_unbiased_metrics():
    z, y = _logits(seed=5)
    suite = MetricSuite(Scores.from_logits(z, y), 15)
    a = evaluate(suite, resamples=200, seed=7).metrics
    b = evaluate(suite, resamples=200, seed=7).metrics
    c = evaluate(suite, resamples=200, seed=8).metrics
    assert a == b
    assert a["ece_ci95"] != c["ece_ci95"]
    for name in ("accuracy", "nll", "brier"):  # means: the point estimate is inside its interval
        lo, hi = a[f"{name}_ci95"]
        assert lo < a[name] < hi
    for name in METRICS:
        lo, hi = a[f"{name}_ci95"]
        assert lo <= hi


def test_no_resamples_means_no_intervals():
    z, y = _logits(n=60)
    m = evaluate(MetricSuite(Scores.from_logits(z, y), 15), resamples=0, seed=0).metrics
    assert all(m[f"{name}_ci95"] is None for name in METRICS)
    with pytest.raises(ValueError, match="bootstrap"):
        evaluate(MetricSuite(Scores.from_logits(z, y), 15), resamples=-1, seed=0)


def test_percentile_interval():
    assert percentile_interval(np.arange(101.0)) == pytest.approx([2.5, 97.5], abs=1e-12)
    assert percentile_interval(np.array([np.nan])) is None


def test_bootstrap_returns_one_value_per_resample():
    z, y = _logits(n=80)
    values = bootstrap(MetricSuite(Scores.from_logits(z, y)), resamples=37, seed=0)
    assert set(values) == set(METRICS) | {f"{name}_debiased" for name in ANALYTIC_DEBIAS}
    assert all(v.shape == (37,) and np.isfinite(v).all() for v in values.values())
