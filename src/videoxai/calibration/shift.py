"""Calibration under shift: every recalibration method, fitted on clean val predictions (or cross-fitted on the
clean test split), scored with bootstrap intervals on clean and corrupted test predictions; a reliability diagram
per method; the table across models and severities, and Ovadia et al. (2019)-style box plots.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from videoxai.calibration import zoo
from videoxai.calibration.report import Evaluation, evaluate
from videoxai.calibration.scores import Scores
from videoxai.calibration.suite import MetricSuite
from videoxai.extract.predictions import load_predictions
from videoxai.io import write_csv
from videoxai.keys import number_text

PathLike = str | os.PathLike[str]
#: the metrics of each method, with 95% bootstrap intervals (``<metric>_ci_low``, ``<metric>_ci_high``)
ZOO_METRICS = ("accuracy", "nll", "brier", "ece", "cw_ece")
#: the calibration errors, whose intervals are built around a debiased estimate (``<metric>_debiased``)
DEBIASED = ("ece", "cw_ece")
COLUMNS = (
    "model",
    "dataset",
    "split",
    "corruption",
    "severity",
    "method",
    "n",
    *ZOO_METRICS,
    *(f"{m}_{end}" for m in ZOO_METRICS for end in ("ci_low", "ci_high")),
    *(f"{m}_debiased" for m in DEBIASED),
    "fitted_on",
    "strength",
    "folds",
    "grid",
    "settings",
)
FIGURE_METRICS = (("accuracy", "Accuracy"), ("ece", "ECE"), ("brier", "Brier score"), ("nll", "NLL"))
FIT_MODES = ("val", "cross-fit")
#: reliability diagrams a row in the zoo's figure
ZOO_COLUMNS = 4
# the suite's names of the zoo's metrics
_SUITE_NAMES = {"accuracy": "accuracy", "nll": "nll", "brier": "brier", "ece": "ece", "cw_ece": "classwise_ece"}


@dataclass(frozen=True)
class ZooSettings:
    """How the zoo is fitted and scored (config keys ``recalibration-*`` and ``bootstrap``, docs/shift.md).

    ``fit_on``: ``val`` (every method fitted on the clean val split) or ``cross-fit`` (Kull et al. 2019: the clean
    test split in ``folds`` folds, each fold's clips recalibrated by a method fitted on the other folds; a corrupted
    clip takes its clean twin's fold). ``strength``: the ODIR strength ``lam = mu`` of
    :data:`~videoxai.calibration.zoo.REGULARISED`, a number or ``"cv"`` (the ``grid`` value with the lowest
    held-out NLL over ``folds`` folds of the fitting clips). ``bootstrap`` resamples of the test clips give the
    intervals, seeded by ``seed``.
    """

    fit_on: str = "val"
    folds: int = 5
    strength: float | str = zoo.ODIR
    grid: tuple[float, ...] = zoo.ODIR_GRID
    bootstrap: int = 0
    seed: int = 0
    n_bins: int = 15

    def __post_init__(self) -> None:
        if self.fit_on not in FIT_MODES:
            raise ValueError(f"recalibration-fit must be one of {', '.join(FIT_MODES)}, got {self.fit_on!r}")
        if self.folds < 2:
            raise ValueError(f"recalibration-folds must be at least 2, got {self.folds}")
        if self.strength != "cv" and not (isinstance(self.strength, int | float) and self.strength >= 0):
            raise ValueError(f"recalibration-strength must be a number >= 0 or 'cv', got {self.strength!r}")

    @property
    def uses_folds(self) -> bool:
        return self.fit_on == "cross-fit" or self.strength == "cv"

    @property
    def suffix(self) -> str:
        """The zoo's part of a result's name (issue #28): a token per setting that is not at its default and changes a
        number, ``""`` for the defaults. ``+crossfit-5`` (cross-fit, its folds), ``+odir-0.1`` (a fixed strength),
        ``+cv`` / ``+cv-10`` (cross-validated strength, its folds when not 5 and not named by ``crossfit``),
        ``+grid-0.01_0.1`` (cv's grid); numbers as :func:`videoxai.keys.number_text` writes them (``+odir-0.00001``,
        never an exponent, whose ``+`` would split the name);
        the folds of a fit on val with a fixed strength change nothing, so they are not named."""
        default = ZooSettings()
        tokens = []
        if self.fit_on == "cross-fit":
            tokens.append(f"crossfit-{self.folds}")
        if self.strength == "cv":
            named = self.fit_on == "cross-fit" or self.folds == default.folds  # folds named once
            tokens.append("cv" if named else f"cv-{self.folds}")
            if tuple(map(float, self.grid)) != tuple(default.grid):
                tokens.append("grid-" + "_".join(number_text(g) for g in self.grid))
        elif float(self.strength) != default.strength:
            tokens.append(f"odir-{number_text(self.strength)}")
        return "".join("+" + t for t in tokens)

    @classmethod
    def from_suffix(cls, suffix: str, **rest: Any) -> ZooSettings:
        """The settings a name's :attr:`suffix` stands for (``rest``: what the name leaves out, such as
        ``bootstrap``), so a job rebuilds an earlier variant with that variant's settings; anything else is an
        error."""
        values: dict[str, Any] = {}
        for token in suffix.split("+")[1:] if suffix else []:
            name, _, value = token.partition("-")
            try:
                if name == "crossfit" and value:
                    values.update(fit_on="cross-fit", folds=int(value))
                elif name == "cv":
                    values.update(strength="cv", **({"folds": int(value)} if value else {}))
                elif name == "odir" and value:
                    values["strength"] = float(value)
                elif name == "grid" and value:
                    values["grid"] = tuple(float(g) for g in value.split("_"))
                else:
                    raise ValueError
            except ValueError:
                raise ValueError(f"not a recalibration setting: {token!r} in {suffix!r}") from None
        settings = cls(**{**rest, **values})
        if settings.suffix != suffix:
            raise ValueError(
                f"{suffix!r} is not the name of a recalibration setting (that would be {settings.suffix!r})"
            )
        return settings

    def columns(self) -> dict[str, Any]:
        """The zoo table's columns of these settings: strength, folds (when used), grid (with ``cv``)."""
        return {
            "strength": self.strength,
            "folds": self.folds if self.uses_folds else None,
            "grid": " ".join(repr(float(g)) for g in self.grid) if self.strength == "cv" else None,
        }


def _evaluation(p: np.ndarray, y: np.ndarray, settings: ZooSettings) -> Evaluation:
    """Every metric of recalibrated probabilities and their intervals; NLL with p_y floored at 1e-12 (isotonic
    regression and binning give exact zeros)."""
    suite = MetricSuite(Scores.from_probs(p, y, floor=1e-12), settings.n_bins)
    return evaluate(suite, settings.bootstrap, settings.seed)


def _scores(evaluation: Evaluation) -> dict[str, Any]:
    m = evaluation.metrics
    row: dict[str, Any] = {}
    for name in ZOO_METRICS:
        row[name] = m[_SUITE_NAMES[name]]
        ci = m[f"{_SUITE_NAMES[name]}_ci95"]
        row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci if ci is not None else (None, None)
    for name in DEBIASED:
        row[f"{name}_debiased"] = m[f"{_SUITE_NAMES[name]}_debiased"]
    return row


def _describe(r: zoo.Recalibrator) -> str:
    """What was fitted or chosen, as ``name=value`` pairs (the zoo table's ``settings``)."""
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float | np.floating) else f"{k}={v}" for k, v in r.info.items())


def _fitter(method: str, settings: ZooSettings) -> Any:
    """``(logits, labels) -> Recalibrator``: the penalty strength fixed, or chosen by cross-validation."""

    def fit(z: np.ndarray, y: np.ndarray) -> zoo.Recalibrator:
        if method not in zoo.REGULARISED or settings.strength != "cv":
            strength = zoo.ODIR if settings.strength == "cv" else float(settings.strength)
            return zoo.fit(method, z, y, lam=strength, mu=strength, n_bins=settings.n_bins)
        if len(y) < 2:
            r = zoo.fit(method, z, y, n_bins=settings.n_bins)
            r.info["cv"] = f"skipped ({len(y)} clip)"
            return r
        best, _ = zoo.choose_strength(method, z, y, settings.grid, settings.folds, settings.seed)
        r = zoo.fit(method, z, y, lam=best, mu=best, n_bins=settings.n_bins)
        r.info["cv"] = f"{min(settings.folds, len(y))}-fold"
        return r

    return fit


def evaluate_methods(
    test_path: PathLike,
    fit_path: PathLike | None,
    methods: Sequence[str],
    settings: ZooSettings | None = None,
    out_png: PathLike | None = None,
    out_pdf: PathLike | None = None,
    title: str | None = None,
) -> list[dict[str, Any]]:
    """One row per method (``none`` first: the logits as extracted) for one test predictions file.

    Methods are fitted on ``fit_path``: the clean val predictions of the same model, or under
    ``settings.fit_on == "cross-fit"`` the clean test predictions (the test file itself for a clean split);
    without one only ``none``. With ``out_png`` / ``out_pdf``, a reliability diagram per method, side by side.
    """
    settings = settings or ZooSettings()
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
    results = [("none", zoo.softmax(test.logits), "", "")]
    if fit_path is not None:
        fitting = load_predictions(fit_path)
        if list(fitting.metadata["class_names"]) != list(meta["class_names"]):
            raise ValueError(f"predictions {os.fspath(fit_path)} have other classes than {os.fspath(test_path)}")
        if settings.fit_on == "cross-fit":
            fit_folds = zoo.fold_of(fitting.sample_ids, fitting.sample_ids, settings.folds, settings.seed)
            test_folds = zoo.fold_of(test.sample_ids, fitting.sample_ids, settings.folds, settings.seed)
            label = f"cross-fit ({settings.folds} folds of {fitting.metadata['split']})"
        for method in methods:
            fitter = _fitter(method, settings)
            if settings.fit_on == "cross-fit":
                p, fitted = zoo.cross_fit(fitter, fitting.logits, fitting.labels, fit_folds, test.logits, test_folds)
                results.append((method, p, label, " | ".join(_describe(r) for r in fitted)))
            else:
                r = fitter(fitting.logits, fitting.labels)
                results.append((method, r.probs(test.logits), fitting.metadata["split"], _describe(r)))
    rows, panels = [], []
    for method, p, fitted_on, described in results:
        evaluation = _evaluation(p, test.labels, settings)
        rows.append(
            {
                **base,
                "method": method,
                **_scores(evaluation),
                "fitted_on": fitted_on,
                **settings.columns(),
                "settings": described,
            }
        )
        panels.append((method, evaluation))
    if out_png is not None and out_pdf is not None:
        from videoxai.calibration.figures import Panel, reliability_diagram

        reliability_diagram(
            [
                Panel(e.tables["equal-width"], e.metrics["ece"], e.metrics["ece_ci95"], m, e.metrics["ece_debiased"])
                for m, e in panels
            ],
            out_png,
            out_pdf,
            title=title,
            columns=ZOO_COLUMNS,
        )
    return rows


def write_rows(path: PathLike, rows: Sequence[dict[str, Any]]) -> None:
    write_csv(path, rows, COLUMNS)


def read_rows(paths: Sequence[PathLike]) -> list[dict[str, Any]]:
    rows = []
    for path in paths:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                for k in COLUMNS[COLUMNS.index("accuracy") : COLUMNS.index("fitted_on")]:
                    row[k] = float(row[k]) if row.get(k) not in (None, "") else None
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
