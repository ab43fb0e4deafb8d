"""The calibration stage as two calls, one per workflow rule: :func:`calibrate` and :func:`summarize`."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from videoxai.calibration.figures import Curve, Panel, comparison_figure, reliability_diagram
from videoxai.calibration.report import CI_LEVEL, Evaluation, bins_table, evaluate
from videoxai.calibration.scores import check_finite_logits
from videoxai.calibration.suite import metric_suite
from videoxai.calibration.table import latex_table, summary_rows
from videoxai.checks import check_parquet
from videoxai.conventions import check_convention
from videoxai.extract.predictions import Predictions, load_predictions
from videoxai.io import atomic_path, read_json, write_csv, write_json, write_text

log = logging.getLogger("videoxai.calibration")
PathLike = str | os.PathLike[str]
# the bin columns the comparison figure reads of each bins.parquet
_CURVE_COLUMNS = ("lower", "upper", "count", "mean_confidence", "accuracy", "gap")


def _load(path: PathLike, role: str) -> Predictions:
    preds = load_predictions(path)
    if not preds.sample_ids:
        raise ValueError(f"{role} predictions {os.fspath(path)} have no status=ok rows to evaluate")
    check_finite_logits(preds.logits, preds.sample_ids, source=f"{role} predictions {os.fspath(path)}")
    return preds


def calibrate(
    test_predictions: PathLike,
    out_metrics: PathLike,
    out_bins: PathLike,
    out_png: PathLike,
    out_pdf: PathLike,
    n_bins: int = 15,
    bootstrap: int = 1000,
    seed: int = 0,
    val_predictions: PathLike | None = None,
    temperature: float | None = None,
    title: str | None = None,
    convention: str = "standard",
) -> dict[str, Any]:
    """Metrics, bins and reliability diagram of one predictions file; returns what ``metrics.json`` holds.

    - neither ``val_predictions`` nor ``temperature``: metrics of the logits as extracted.
    - ``temperature``: prompt-tuning's fixed option; every metric is of ``logits / temperature``.
    - ``val_predictions``: T is fitted on them (NLL, Brent's method on 1/T) and applied to the test
      logits; top-level metrics stay those before scaling, ``temperature_scaled``
      holds the metrics after, and the figure shows both side by side.

    ``bootstrap`` resamples (0 = no intervals) of the test set, seeded by ``seed``,
    give every metric's 95% interval (``<metric>_ci95``): the percentile interval for the means, and for the
    calibration errors an interval around their debiased estimate (``<metric>_debiased``;
    :mod:`videoxai.calibration.intervals`).

    ``convention`` (the config's ``conventions``): ``standard`` or ``prompt-tuning`` (prompt-tuning's
    bins and float32 arithmetic, :data:`videoxai.calibration.rules.PARAMS`); it
    applies to the metrics, ``bins.parquet`` and the diagram, and metrics.json
    records it as ``convention``. The point values are
    :func:`videoxai.calibration.point_metrics` of the same logits.
    """
    check_convention(convention)
    if val_predictions is not None and temperature is not None:
        raise ValueError("give either a fixed temperature or val_predictions to fit one, not both")
    test = _load(test_predictions, "test")
    t_used = 1.0 if temperature is None else float(temperature)
    suite = metric_suite(test.logits, test.labels, n_bins, convention, t_used, sample_ids=test.sample_ids)
    raw = evaluate(suite, bootstrap, seed)
    metrics: dict[str, Any] = {
        **_identity(test, test_predictions, suite.n, convention, n_bins, bootstrap, seed),
        "temperature": t_used,
        "temperature_source": "none" if temperature is None else "fixed",
        **raw.metrics,
        "temperature_scaled": None,
    }
    stages = {"raw": (t_used, raw)}
    panels = [_panel(raw, None if temperature is None else f"Fixed temperature $T$ = {t_used:.3g}")]
    if val_predictions is not None:
        fit, scaled, record = _temperature_scaled(
            test, test_predictions, val_predictions, n_bins, convention, bootstrap, seed
        )
        metrics["temperature_source"] = "fitted"
        metrics["temperature_scaled"] = record
        stages["scaled"] = (fit.temperature, scaled)
        panels[0].subtitle = "Before temperature scaling"
        panels.append(_panel(scaled, f"After temperature scaling ($T$ = {fit.temperature:.3g})"))
    if title and convention != "standard":
        title = f"{title} [{convention} convention]"
    _write_outputs(metrics, stages, panels, title, out_metrics, out_bins, out_png, out_pdf)
    return metrics


def _identity(
    test: Predictions, path: PathLike, n: int, convention: str, n_bins: int, bootstrap: int, seed: int
) -> dict[str, Any]:
    """What was evaluated and with which settings: the head of ``metrics.json``."""
    meta = test.metadata
    return {
        "model": meta.get("model_key"),
        "dataset": meta.get("dataset"),
        "split": meta.get("split"),
        "predictions": os.fspath(path),
        "n": n,
        "num_errors": test.num_errors,
        "num_classes": int(test.logits.shape[1]),
        "convention": convention,
        "n_bins": int(n_bins),
        "bootstrap": int(bootstrap),
        "seed": int(seed),
        "ci_level": CI_LEVEL,
    }


def _panel(evaluation: Evaluation, subtitle: str | None) -> Panel:
    """One reliability diagram panel: the equal-width bins, the ECE, its debiased estimate and interval."""
    m = evaluation.metrics
    return Panel(evaluation.tables["equal-width"], m["ece"], m["ece_ci95"], subtitle, m["ece_debiased"])


def _temperature_scaled(
    test: Predictions,
    test_path: PathLike,
    val_path: PathLike,
    n_bins: int,
    convention: str,
    bootstrap: int,
    seed: int,
) -> tuple[Any, Evaluation, dict[str, Any]]:
    """Fit T on the val predictions and evaluate the test logits divided by it: (fit, evaluation, metrics.json record)."""
    # only here: scipy.optimize costs a third of a second to import, and most runs fit no temperature
    from videoxai.calibration.temperature import fit_temperature

    val = _load(val_path, "val")
    _check_same_model(test, val, test_path, val_path)
    fit = fit_temperature(val.logits, val.labels)
    warnings = fit.warnings()
    for message in warnings:
        log.warning("%s", message)
    scaled = evaluate(metric_suite(test.logits, test.labels, n_bins, convention, fit.temperature), bootstrap, seed)
    record = {
        "temperature": fit.temperature,
        "val_predictions": os.fspath(val_path),
        "val_n": fit.n,
        "val_errors": fit.errors,
        "val_nll_before": fit.nll_before,
        "val_nll_after": fit.nll_after,
        "at_bound": fit.at_bound,
        "bound": fit.bound,
        "warnings": warnings,
        **scaled.metrics,
    }
    return fit, scaled, record


def _write_outputs(
    metrics: dict[str, Any],
    stages: dict[str, tuple[float, Evaluation]],
    panels: list[Panel],
    title: str | None,
    out_metrics: PathLike,
    out_bins: PathLike,
    out_png: PathLike,
    out_pdf: PathLike,
) -> None:
    """bins.parquet, the diagram, then metrics.json (each atomically; metrics.json last, as the rule's first output)."""
    with atomic_path(out_bins) as tmp:
        pq.write_table(bins_table(stages), tmp, write_page_checksum=True)
    reliability_diagram(panels, out_png, out_pdf, title=title)
    write_json(out_metrics, metrics)


def _check_same_model(test: Predictions, val: Predictions, test_path: PathLike, val_path: PathLike) -> None:
    """A temperature fitted on another model's (or class list's) logits means nothing for these."""
    if test.class_names != val.class_names:
        raise ValueError(
            f"val predictions {os.fspath(val_path)} have a different class list than "
            f"test predictions {os.fspath(test_path)}; fit the temperature on the same classes"
        )
    a, b = test.metadata.get("model_key"), val.metadata.get("model_key")
    if a and b and a != b:
        raise ValueError(f"val predictions are of model {b!r} but test predictions of {a!r}")


def summarize(
    metrics_paths: Sequence[PathLike],
    bins_paths: Sequence[PathLike],
    labels: Sequence[str],
    out_csv: PathLike,
    out_tex: PathLike,
    out_png: PathLike,
    out_pdf: PathLike,
    variants: Sequence[str] | None = None,
) -> None:
    """Across models: ``summary.csv`` (every metric and interval), a booktabs table, and the comparison figure.

    ``variants``: each result's split name (its settings; see :func:`videoxai.calibration.table.summary_rows`).

    The figure overlays each model's equal-width reliability curve of the logits
    as evaluated (stage ``raw``).
    """
    if not (len(metrics_paths) == len(bins_paths) == len(labels)) or not labels:
        raise ValueError(
            f"need one label per metrics/bins file, got {len(labels)} labels, "
            f"{len(metrics_paths)} metrics and {len(bins_paths)} bins files"
        )
    metrics = [read_json(p) for p in metrics_paths]
    if variants is not None and len(variants) != len(labels):
        raise ValueError(f"need one variant per label, got {len(variants)} variants and {len(labels)} labels")
    write_csv(out_csv, summary_rows(labels, metrics, variants))
    write_text(out_tex, latex_table(labels, metrics))
    comparison_figure([reliability_curve(*args) for args in zip(labels, metrics, bins_paths)], out_png, out_pdf)


def reliability_curve(label: str, metrics: dict[str, Any], bins_path: PathLike) -> Curve:
    """One result's equal-width reliability curve of the logits as evaluated (stage ``raw``), for a comparison."""
    # a broken bins file names itself and its rebuild command
    check_parquet(bins_path, ("stage", "scheme", *_CURVE_COLUMNS))
    # ParquetFile, not read_table: read_table goes through pyarrow.dataset, which imports pandas (0.2 s)
    with pq.ParquetFile(bins_path, page_checksum_verification=True) as f:
        t = f.read(columns=["stage", "scheme", *_CURVE_COLUMNS]).to_pydict()
    keep = [i for i, (s, sch) in enumerate(zip(t["stage"], t["scheme"])) if s == "raw" and sch == "equal-width"]
    table = {k: np.asarray([t[k][i] for i in keep], dtype=float) for k in _CURVE_COLUMNS}
    return Curve(label, table, metrics["ece"], metrics.get("ece_ci95"))


def compare_reliability(
    results: Sequence[Any], out_png: PathLike, out_pdf: PathLike | None = None, labels: Sequence[str] | None = None
) -> None:
    """Draw chosen results' reliability curves on one axis (the comparison figure of any rows).

    ``results``: :class:`videoxai.calibration.catalog.CalibrationResult` items, or rows of
    :func:`videoxai.results` (anything with ``metrics`` and ``bins`` paths and a ``label``).
    """
    picked = [r if hasattr(r, "metrics") else _Row(r) for r in results]
    names = list(labels) if labels is not None else [r.label for r in picked]
    curves = [reliability_curve(n, read_json(r.metrics), r.bins) for n, r in zip(names, picked, strict=True)]
    out_pdf = out_pdf if out_pdf is not None else os.path.splitext(os.fspath(out_png))[0] + ".pdf"
    comparison_figure(curves, out_png, out_pdf)


class _Row:
    """A DataFrame row (a pandas Series or a mapping) seen as a result."""

    def __init__(self, row: Any) -> None:
        self.metrics, self.bins, self.label = row["metrics_path"], row["bins_path"], row["label"]
