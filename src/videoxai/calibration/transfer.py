"""The transfer matrix: each configured model (a row, labelled by its training dataset) on each test dataset (a
column), accuracy and ECE with their 95% bootstrap intervals, from the clean calibration results' metrics.json.

Rows are models, sorted by training dataset, not pooled: two models trained on one dataset are two rows, so a cell
is always one model's result and its interval that model's.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from typing import Any

from videoxai.calibration.table import latex_escape
from videoxai.io import write_csv, write_text

PathLike = str | os.PathLike[str]
COLUMNS = (
    "model",
    "train",
    "test",
    "split",
    "n",
    "accuracy",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "ece",
    "ece_ci_low",
    "ece_ci_high",
)
METRICS = (("accuracy", "Accuracy (%)"), ("ece", "ECE (%)"))


def transfer_cells(
    metrics_paths: Sequence[PathLike], models: Sequence[str], tests: Sequence[str]
) -> list[dict[str, Any]]:
    """One cell per (model, test dataset): ``models[i]`` on ``tests[i]`` read from ``metrics_paths[i]``; sorted
    by training dataset, model and test dataset."""
    if not len(metrics_paths) == len(models) == len(tests):
        raise ValueError(f"{len(metrics_paths)} metrics files for {len(models)} models and {len(tests)} test datasets")
    cells = []
    for path, model, test in zip(metrics_paths, models, tests, strict=True):
        with open(path, encoding="utf-8") as fh:
            m = json.load(fh)
        cell: dict[str, Any] = {"model": model, "train": model.split("/")[1], "test": test}
        cell.update(split=m.get("split"), n=m.get("n"))
        for key, _ in METRICS:
            ci = m.get(f"{key}_ci95") or (None, None)
            cell.update({key: m.get(key), f"{key}_ci_low": ci[0], f"{key}_ci_high": ci[1]})
        cells.append(cell)
    return sorted(cells, key=lambda c: (c["train"], c["model"], c["test"]))


def _grid(cells: Sequence[dict[str, Any]]) -> tuple[list[str], list[str], dict[tuple[str, str], dict[str, Any]]]:
    rows = list(dict.fromkeys(c["model"] for c in cells))
    cols = sorted({c["test"] for c in cells})
    return rows, cols, {(c["model"], c["test"]): c for c in cells}


def _text(cell: dict[str, Any] | None, key: str) -> str:
    if cell is None or cell[key] is None or not math.isfinite(cell[key]):
        return "--"
    text = f"{100 * cell[key]:.1f}"
    if cell[f"{key}_ci_low"] is not None:
        text += f" [{100 * cell[f'{key}_ci_low']:.1f}, {100 * cell[f'{key}_ci_high']:.1f}]"
    return text


def transfer_latex(cells: Sequence[dict[str, Any]]) -> str:
    """A booktabs ``tabular`` per metric, side by side in one table: a row per model (training dataset first), a
    column per test dataset, each cell the value and its 95% interval in %. Needs ``\\usepackage{booktabs}``."""
    rows, cols, at = _grid(cells)
    lines = [
        "% transfer matrix: training dataset x test dataset, value [95% interval] in %; needs \\usepackage{booktabs}",
        "\\begin{tabular}{ll" + "r" * (len(cols) * len(METRICS)) + "}",
        "\\toprule",
        " & ".join(["", ""] + [f"\\multicolumn{{{len(cols)}}}{{c}}{{{title}}}" for _, title in METRICS]).replace(
            "%", r"\%"
        )
        + r" \\",
        " & ".join(["Train", "Model"] + [latex_escape(t) for _ in METRICS for t in cols]) + r" \\",
        "\\midrule",
    ]
    for model in rows:
        train = model.split("/")[1]
        cells_text = [_text(at.get((model, t)), key) for key, _ in METRICS for t in cols]
        lines.append(" & ".join([latex_escape(train), latex_escape(model)] + cells_text) + r" \\")
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def transfer_figure(cells: Sequence[dict[str, Any]], out_png: PathLike, out_pdf: PathLike) -> None:
    """Two heat maps (accuracy, ECE): a row per model labelled by its training dataset, a column per test dataset,
    each cell annotated with its value and 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from videoxai.io import save_figure

    rows, cols, at = _grid(cells)
    fig, axes = plt.subplots(
        1, len(METRICS), figsize=(2.2 * len(cols) * len(METRICS) + 4, 0.6 * len(rows) + 2), squeeze=False
    )
    for ax, (key, title) in zip(axes[0], METRICS, strict=True):
        grid = np.array(
            [[np.nan if (c := at.get((r, t))) is None or c[key] is None else c[key] for t in cols] for r in rows]
        )
        image = ax.imshow(100 * grid, cmap="viridis" if key == "accuracy" else "magma_r", aspect="auto")
        fig.colorbar(image, ax=ax, shrink=0.8)
        for i, r in enumerate(rows):
            for j, t in enumerate(cols):
                ax.text(
                    j,
                    i,
                    _text(at.get((r, t)), key).replace(" [", "\n["),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white",
                    bbox={"facecolor": "black", "alpha": 0.3, "lw": 0},
                )
        ax.set_xticks(range(len(cols)), cols)
        ax.set_yticks(range(len(rows)), [f"{r.split('/')[1]}: {r}" for r in rows], fontsize=7)
        ax.set_xlabel("test dataset")
        ax.set_ylabel("training dataset: model")
        ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, out_png, out_pdf, dpi=120)
    plt.close(fig)


def write_transfer(
    metrics_paths: Sequence[PathLike],
    models: Sequence[str],
    tests: Sequence[str],
    csv_path: PathLike,
    tex_path: PathLike,
    png: PathLike,
    pdf: PathLike,
) -> list[dict[str, Any]]:
    """The transfer matrix as CSV, LaTeX and heat maps."""
    cells = transfer_cells(metrics_paths, models, tests)
    write_csv(csv_path, cells, COLUMNS)
    write_text(tex_path, transfer_latex(cells))
    transfer_figure(cells, png, pdf)
    return cells
