"""Calibration under shift: every recalibration method, fitted on clean val predictions, scored on clean and
corrupted test predictions; the table across models and severities, and Ovadia et al. (2019)-style box plots.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from videoxai.calibration import zoo
from videoxai.calibration.metrics import accuracy, brier_score, calibration_error, classwise_calibration_error
from videoxai.extract.predictions import load_predictions
from videoxai.io import atomic_path

PathLike = str | os.PathLike[str]
COLUMNS = (
    "model",
    "dataset",
    "split",
    "corruption",
    "severity",
    "method",
    "n",
    "accuracy",
    "nll",
    "brier",
    "ece",
    "cw_ece",
)
FIGURE_METRICS = (("accuracy", "Accuracy"), ("ece", "ECE"), ("brier", "Brier score"), ("nll", "NLL"))


def _scores(p: np.ndarray, y: np.ndarray, n_bins: int) -> dict[str, float]:
    conf = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    return {
        "accuracy": accuracy(p, y),
        "nll": float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean()),
        "brier": brier_score(p, y),
        "ece": calibration_error(conf, correct, n_bins),
        "cw_ece": classwise_calibration_error(p, y, n_bins),
    }


def evaluate_methods(
    test_path: PathLike, val_path: PathLike | None, methods: Sequence[str], n_bins: int = 15
) -> list[dict[str, Any]]:
    """One row per method (``none`` first: the logits as extracted) for one test predictions file.

    Methods are fitted on ``val_path`` (clean val predictions of the same model); without one only ``none``.
    """
    test = load_predictions(test_path)
    meta = test.metadata
    shift = meta.get("corruption") or {}
    base = {
        "model": meta["model_key"],
        "dataset": meta["dataset"],
        "split": meta["split"],
        "corruption": shift.get("name", "none"),
        "severity": int(shift.get("severity", 0)),
        "n": len(test.labels),
    }
    rows = [{**base, "method": "none", **_scores(zoo.softmax(test.logits), test.labels, n_bins)}]
    if val_path is None:
        return rows
    val = load_predictions(val_path)
    if list(val.metadata["class_names"]) != list(meta["class_names"]):
        raise ValueError(f"val predictions {os.fspath(val_path)} have other classes than {os.fspath(test_path)}")
    for method in methods:
        fitted = zoo.fit(method, val.logits, val.labels, n_bins=n_bins)
        rows.append({**base, "method": method, **_scores(fitted.probs(test.logits), test.labels, n_bins)})
    return rows


def write_rows(path: PathLike, rows: Sequence[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row[k] for k in COLUMNS})


def read_rows(paths: Sequence[PathLike]) -> list[dict[str, Any]]:
    rows = []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                for k in ("accuracy", "nll", "brier", "ece", "cw_ece"):
                    row[k] = float(row[k])
                row["severity"], row["n"] = int(row["severity"]), int(row["n"])
                rows.append(row)
    return rows


def shift_figure(rows: Sequence[dict[str, Any]], out_png: PathLike, out_pdf: PathLike) -> None:
    """Per model (rows of panels) and metric (columns): one box per severity (0 = clean) over the corruptions,
    one colour per recalibration method, as Ovadia et al. (2019) plot them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from videoxai.io import save_figure

    models = list(dict.fromkeys(r["model"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    severities = sorted({r["severity"] for r in rows})
    fig, axes = plt.subplots(
        len(models), len(FIGURE_METRICS), figsize=(4 * len(FIGURE_METRICS), 3 * len(models)), squeeze=False
    )
    width = 0.8 / len(methods)
    colours = plt.get_cmap("tab10")
    for i, model in enumerate(models):
        for j, (metric, title) in enumerate(FIGURE_METRICS):
            ax = axes[i][j]
            for m, method in enumerate(methods):
                data = [
                    [r[metric] for r in rows if r["model"] == model and r["method"] == method and r["severity"] == s]
                    for s in severities
                ]
                positions = [k + (m - (len(methods) - 1) / 2) * width for k in range(len(severities))]
                kept = [(p, d) for p, d in zip(positions, data) if d]
                if not kept:
                    continue
                box = ax.boxplot(
                    [d for _, d in kept], positions=[p for p, _ in kept], widths=width * 0.9, patch_artist=True
                )
                for patch in box["boxes"]:
                    patch.set_facecolor(colours(m))
                ax.plot([], [], color=colours(m), lw=6, label=method)
            ax.set_xticks(range(len(severities)), [str(s) if s else "clean" for s in severities])
            ax.set_xlabel("shift intensity (severity)")
            ax.set_title(f"{model}: {title}", fontsize=9)
            if i == 0 and j == 0:
                ax.legend(fontsize=7, title="recalibration", title_fontsize=7)
    fig.tight_layout()
    save_figure(fig, out_png, out_pdf, dpi=120)
    plt.close(fig)
