"""One set of scores -> the metrics dict (values, 95% intervals, bin counts) and the per-bin tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from videoxai.calibration.bootstrap import bootstrap
from videoxai.calibration.intervals import debiased_interval, median_corrected, percentile_interval
from videoxai.calibration.names import ANALYTIC_DEBIAS, CALIBRATION_ERRORS, METRICS, TEST_OF

CI_LEVEL = 0.95
BIN_COLUMNS = ("lower", "upper", "count", "mean_confidence", "accuracy", "gap")


@dataclass
class Evaluation:
    """Metrics of one scores set plus its bin tables (``scheme -> column -> array``)."""

    metrics: dict[str, Any]
    tables: dict[str, dict[str, np.ndarray]]


def evaluate(suite: Any, resamples: int, seed: int) -> Evaluation:
    """Point estimates of every metric and, with ``resamples > 0``, their 95% intervals.

    ``suite`` comes from :func:`videoxai.calibration.suite.metric_suite` (either
    convention); its ``point()`` is what :func:`~videoxai.calibration.suite.point_metrics` returns.

    Keys: each name in :data:`~videoxai.calibration.names.METRICS` (a float) with
    ``<name>_ci95`` (``[lo, hi]``, or None when ``resamples == 0``); for each
    calibration error also ``<name>_debiased``, the estimate its interval is built
    around (:mod:`~videoxai.calibration.intervals`); ``calibration_tests`` (the
    chi-square tests of perfect calibration, ``statistic``, ``dof``, ``p_value`` per
    scheme); ``smooth_ece_bandwidth``, ``bin_counts`` (equal-width) and
    ``adaptive_bin_counts``. A metric that is not finite (only prompt-tuning's NLL
    can be) is None.
    """
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 0:
        raise ValueError(f"bootstrap must be a non-negative number of resamples, got {resamples!r}")
    point = {k: float(v) for k, v in suite.evaluate().items()}
    samples = bootstrap(suite, int(resamples), seed) if resamples else {}
    tests = suite.calibration_tests()
    out: dict[str, Any] = {}
    for name in METRICS:
        # JSON has no infinity: prompt-tuning's NLL is infinite when a true-class probability underflows to 0
        out[name] = point[name] if np.isfinite(point[name]) else None
        if name not in CALIBRATION_ERRORS:
            out[f"{name}_ci95"] = percentile_interval(samples[name], CI_LEVEL) if resamples else None
            continue
        estimate, interval = error_interval(name, point, samples, tests[TEST_OF[name]]["p_value"])
        out[f"{name}_debiased"] = estimate
        out[f"{name}_ci95"] = interval
    out["calibration_tests"] = tests
    out["smooth_ece_bandwidth"] = suite.smooth_bandwidth
    tables = suite.tables()
    out["bin_counts"] = tables["equal-width"]["count"].round().astype(int).tolist()
    out["adaptive_bin_counts"] = tables["equal-mass"]["count"].round().astype(int).tolist()
    return Evaluation(out, tables)


def error_interval(
    name: str, point: dict[str, float], samples: dict[str, np.ndarray], p_value: float
) -> tuple[float | None, list[float] | None]:
    """(debiased estimate, 95% interval) of the calibration error ``name`` (see :mod:`~videoxai.calibration.intervals`).

    ``point`` and ``samples`` hold the unit-weight and resampled values of
    ``name`` (and of ``<name>_debiased`` where it has a closed form); ``p_value`` is
    the test of perfect calibration on its cells: at or above 5% the interval starts at 0.
    Without samples the interval is None (and so is the estimate of ``mce`` and ``smooth_ece``).
    """
    from_zero = p_value >= 1.0 - CI_LEVEL
    if name in ANALYTIC_DEBIAS:
        estimate = point[f"{name}_debiased"]
        reported = min(max(estimate, 0.0), 1.0)
        replicates = samples.get(f"{name}_debiased")
    else:  # no closed form: the plug-in is its own estimator, corrected by the bootstrap
        estimate = point[name]
        replicates = samples.get(name)
        reported = median_corrected(estimate, replicates) if replicates is not None else None
    if replicates is None or not len(replicates):
        return reported, None
    return reported, debiased_interval(point[name], estimate, replicates, CI_LEVEL, from_zero, reported)


def bins_table(stages: dict[str, tuple[float, Evaluation]]) -> pa.Table:
    """Long table of every bin: ``stage``, ``temperature``, ``scheme``, ``bin`` + :data:`BIN_COLUMNS`.

    ``stage`` is ``raw`` (the logits as evaluated, divided by any fixed temperature)
    or ``scaled`` (after the fitted temperature); ``scheme`` is ``equal-width`` or
    ``equal-mass``. Empty bins keep their row, with count 0 and NaN statistics.
    """
    cols: dict[str, list[Any]] = {k: [] for k in ("stage", "temperature", "scheme", "bin", *BIN_COLUMNS)}
    for stage, (temperature, evaluation) in stages.items():
        for scheme, table in evaluation.tables.items():
            n = len(table["count"])
            cols["stage"] += [stage] * n
            cols["temperature"] += [float(temperature)] * n
            cols["scheme"] += [scheme] * n
            cols["bin"] += list(range(n))
            for k in BIN_COLUMNS:
                cols[k] += table[k].tolist()
    types = {"stage": pa.string(), "scheme": pa.string(), "bin": pa.int32(), "count": pa.int64()}
    return pa.table(
        {
            k: _column(np.round(v).astype(np.int64) if k == "count" else v, types.get(k, pa.float64()))
            for k, v in cols.items()
        }
    )


_NUMPY_TYPES = {pa.float64(): np.float64, pa.int32(): np.int32, pa.int64(): np.int64}


def _column(values: Any, kind: pa.DataType) -> pa.Array:
    """A null-free Arrow column built from its buffers (strings or :data:`_NUMPY_TYPES`).

    Not ``pa.array``: to inspect its input that imports pandas, 0.2 s of a calibrate
    job that otherwise never needs it. Floats keep NaN as a value, as ``pa.array`` does.
    """
    if kind == pa.string():
        data = [v.encode() for v in values]
        offsets = np.zeros(len(data) + 1, dtype=np.int32)
        np.cumsum([len(d) for d in data], out=offsets[1:])
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
    else:
        buffers = [None, pa.py_buffer(np.ascontiguousarray(values, dtype=_NUMPY_TYPES[kind]))]
    return pa.Array.from_buffers(kind, len(values), buffers)
