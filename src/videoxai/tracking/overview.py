"""The report's first page: what was analysed, the calibration summary and the explanation scores, as RST.

`snakemake --report` renders the workflow's global description (workflow/report/workflow.rst) with Jinja and the
config; the Snakefile puts :func:`overview` there, so the page opens with the answer instead of the rule graph.
It reads only what the stages wrote (the summary CSV and each explainer folder's ``aggregated_stats.json``), and
says which of them are not there yet.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# (summary.csv column, heading, scale, decimals); the ECE's interval is built around its debiased estimate
# (docs/calibration.md), so that estimate stands beside it and the plug-in ECE has a column of its own
CALIBRATION_COLUMNS = (
    ("n", "clips", 1, 0),
    ("accuracy", "accuracy (%)", 100, 2),
    ("ece", "ECE (%)", 100, 2),
    ("ece_debiased", "ECE debiased [95% interval] (%)", 100, 2),
    ("adaptive_ece", "adaptive ECE (%)", 100, 2),
    ("nll", "NLL", 1, 3),
    ("brier", "Brier", 1, 3),
)


def _number(value: Any, scale: float = 1, digits: int = 2) -> str:
    """A table cell: the value scaled and rounded, or a dash where there is none."""
    try:
        x = float(value) * scale
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(x) else f"{x:.{digits}f}"


def _list_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An RST list-table (docutils renders it as an HTML table)."""
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + str(row[0]))
        lines.extend(f"     - {cell}" for cell in row[1:])
    return "\n".join(lines) + "\n"


def analysed(config: Mapping[str, Any]) -> str:
    """What was analysed: models, test datasets and split, conventions, explainers: an RST bullet list."""
    tests = config["dataset-test"] if isinstance(config["dataset-test"], list) else [config["dataset-test"]]
    datasets = []
    for name in tests:
        entry = config["datasets"].get(name, {})
        where = "generated demo" if entry.get("generate") else entry.get("root", "?")
        datasets.append(f"``{name}`` ({entry.get('format', '?')}, {where})")
    explainers = config["explainer-method"]
    explainers = explainers if isinstance(explainers, list) else [explainers]
    items = [
        ("models", ", ".join(f"``{m}``" for m in config["models"])),
        ("test data", ", ".join(datasets) + f", split ``{config['split']}``"),
        ("conventions", f"``{config.get('conventions', 'standard')}``"),
        (
            "calibration",
            f"{config.get('n-bins', 15)} equal-width bins, {config.get('bootstrap', 200)} bootstrap resamples"
            + (", temperature fitted on the val split" if config.get("temperature-scaling") else ""),
        ),
        ("explainers", ", ".join(f"``{e}``" for e in explainers)),
    ]
    return "\n".join(f"- **{k}**: {v}" for k, v in items) + "\n"


def calibration_table(summary_csv: str | os.PathLike[str]) -> str:
    """The calibration summary, one row per model and test split, with the ECE's 95% interval."""
    path = Path(summary_csv)
    if not path.is_file():
        return f"*The calibration summary is not there yet* (``{path}``): run the ``calibration`` target.\n"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        cells = [f"``{r.get('model', r.get('label', '?'))}``", f"{r.get('dataset', '?')}-{r.get('split', '?')}"]
        for key, _, scale, digits in CALIBRATION_COLUMNS:
            cell = _number(r.get(key), scale, digits)
            if key == "ece_debiased" and r.get("ece_ci_low") not in (None, ""):
                cell += f" [{_number(r['ece_ci_low'], 100)}, {_number(r['ece_ci_high'], 100)}]"
            cells.append(cell)
        out.append(cells)
    header = ["model", "test", *(c[1] for c in CALIBRATION_COLUMNS)]
    return _list_table("Calibration", header, out)


def _gt_scores(evaluation: Mapping[str, Any]) -> tuple[Any, Any]:
    """Pointing game and energy in mask/box: the demo's masks, else the dataset's annotations."""
    for scores in (evaluation.get("ground_truth"), (evaluation.get("annotations") or {}).get("overall")):
        if scores and scores.get("map"):
            return scores["map"].get("pointing_game"), scores["map"].get("energy_in_mask")
    return None, None


def explanation_table(stats_files: Mapping[tuple[str, str, str], str | os.PathLike[str]]) -> str:
    """The explanation scores, one row per model, test split and explainer (``{(model, test, explainer): path}``)."""
    rows, missing = [], 0
    for (model, test, explainer), path in sorted(stats_files.items()):
        if not Path(path).is_file():
            missing += 1
            continue
        evaluation = json.loads(Path(path).read_text()).get("evaluation", {})
        pointing, energy = _gt_scores(evaluation)
        faith = evaluation.get("faithfulness") or {}
        sanity = evaluation.get("sanity") or []
        rows.append(
            [
                f"``{model}``",
                test,
                f"``{explainer}``",
                _number(pointing),
                _number(energy, digits=3),
                _number(faith.get("deletion_auc"), digits=3),
                _number(faith.get("insertion_auc"), digits=3),
                _number(sanity[0]["spearman"]) if sanity else "–",
            ]
        )
    note = f"*{missing} of {len(stats_files)} explainer folders are not scored yet.*\n\n" if missing else ""
    if not rows:
        return note or "*No explanations were asked for.*\n"
    header = [
        "model",
        "test",
        "explainer",
        "pointing game",
        "energy in mask",
        "deletion AUC (lower: better)",
        "insertion AUC (higher: better)",
        "sanity: Spearman after 1 layer randomised (lower: better)",
    ]
    return note + _list_table("Explanation scores", header, rows)


def overview(
    config: Mapping[str, Any],
    summary_csv: str,
    stats_template: str,
    analyses: Sequence[Mapping[str, str]],
    explainers: Sequence[str],
) -> dict[str, str]:
    """The three parts of the first page, as RST text for the report's Jinja template.

    ``analyses`` are the wildcards (method, train, run, test, split) of each model and test split, and
    ``stats_template`` the path of an explainer folder's ``aggregated_stats.json`` with those and ``explainer``:
    each of ``explainers``, or the analysis's own ``explainer`` (its folder name) where it has one.
    """
    pairs = [(w, e) for w in analyses for e in ([w["explainer"]] if "explainer" in w else explainers)]
    stats = {
        (f"{w['method']}/{w['train']}/{w['run']}", f"{w['test']}-{w['split']}", e): stats_template.format(
            **{**w, "explainer": e}
        )
        for w, e in pairs
    }
    return {
        "analysed": analysed(config),
        "calibration": calibration_table(summary_csv),
        "explanations": explanation_table(stats),
    }
