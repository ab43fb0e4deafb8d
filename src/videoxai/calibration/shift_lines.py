"""One corruption's calibration against its severity: the shift table's rows of that corruption (with the clean
rows as severity 0), a line plot (one line per model, a row of panels per recalibration method) and a LaTeX table.

The box plots (videoxai.calibration.shift) pool the corruptions; these lines show which corruption hurts which model.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from videoxai.calibration.shift import FIGURE_METRICS, write_rows
from videoxai.calibration.table import latex_escape
from videoxai.io import write_text

PathLike = str | os.PathLike[str]


def corruption_rows(rows: Sequence[dict[str, Any]], corruption: str) -> list[dict[str, Any]]:
    """The rows of ``corruption`` and the clean rows (severity 0) of the same models and methods, sorted by model,
    method and severity; a clear error where the table has no row of that corruption."""
    shifted = [r for r in rows if r["corruption"] == corruption]
    if not shifted:
        found = sorted({r["corruption"] for r in rows} - {"none"})
        raise ValueError(
            f"the shift table has no row of corruption {corruption!r} (it has {found}): rerun shift_summary"
        )
    keys = {(r["model"], r["dataset"], r["method"]) for r in shifted}
    clean = [r for r in rows if r["corruption"] == "none" and (r["model"], r["dataset"], r["method"]) in keys]
    models = list(dict.fromkeys(r["model"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    return sorted(
        [*clean, *shifted],
        key=lambda r: (models.index(r["model"]), r["dataset"], methods.index(r["method"]), r["severity"]),
    )


def _label(row: dict[str, Any], datasets: set[str]) -> str:
    return row["model"] if len(datasets) == 1 else f"{row['model']} on {row['dataset']}"


def lines_figure(rows: Sequence[dict[str, Any]], corruption: str, out_png: PathLike, out_pdf: PathLike) -> None:
    """A row of panels per recalibration method, a column per metric; one line per model (and test dataset)
    through severities 0 (clean) to 5."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from videoxai.io import save_figure

    methods = list(dict.fromkeys(r["method"] for r in rows))
    datasets = {r["dataset"] for r in rows}
    curves = list(dict.fromkeys(_label(r, datasets) for r in rows))
    severities = sorted({r["severity"] for r in rows})
    fig, axes = plt.subplots(
        len(methods), len(FIGURE_METRICS), figsize=(4 * len(FIGURE_METRICS), 2.8 * len(methods)), squeeze=False
    )
    colours = plt.get_cmap("tab10")
    for i, method in enumerate(methods):
        for j, (metric, title) in enumerate(FIGURE_METRICS):
            ax = axes[i][j]
            for c, curve in enumerate(curves):
                points = sorted(
                    (r["severity"], r[metric]) for r in rows if r["method"] == method and _label(r, datasets) == curve
                )
                if points:
                    ax.plot(*zip(*points), marker="o", color=colours(c % 10), label=curve)
            ax.set_xticks(severities, [str(s) if s else "clean" for s in severities])
            ax.set_xlabel(f"{corruption} severity")
            ax.set_title(f"{method}: {title}", fontsize=9)
            if i == 0 and j == 0:
                ax.legend(fontsize=7, title="model", title_fontsize=7)
    fig.tight_layout()
    save_figure(fig, out_png, out_pdf, dpi=120)
    plt.close(fig)


def lines_latex(rows: Sequence[dict[str, Any]], corruption: str) -> str:
    """A booktabs ``tabular``: a row per model, method and severity; accuracy, ECE, class-wise ECE (in %), Brier and
    NLL. Needs ``\\usepackage{booktabs}``."""
    lines = [
        f"% calibration under {latex_escape(corruption)} by severity (0 = clean); needs \\usepackage{{booktabs}}",
        "\\begin{tabular}{lllrrrrrrr}",
        "\\toprule",
        r"Model & Test & Method & Severity & $n$ & Acc. (\%) & ECE (\%) & cw-ECE (\%) & Brier & NLL \\",
        "\\midrule",
    ]
    for r in rows:
        cells = [latex_escape(r["model"]), latex_escape(r["dataset"]), latex_escape(r["method"])]
        cells += [str(r["severity"]) if r["severity"] else "clean", str(r["n"])]
        cells += [f"{100 * r[k]:.2f}" for k in ("accuracy", "ece", "cw_ece")]
        cells += [f"{r['brier']:.4f}", f"{r['nll']:.4f}"]
        lines.append(" & ".join(cells) + r" \\")
    lines += ["\\bottomrule", "\\end{tabular}", ""]
    return "\n".join(lines)


def write_corruption_outputs(
    rows: Sequence[dict[str, Any]],
    corruption: str,
    csv_path: PathLike,
    tex_path: PathLike,
    png: PathLike,
    pdf: PathLike,
) -> list[dict[str, Any]]:
    """Everything of one corruption: its rows as CSV (the shift table's columns), LaTeX and the line plot."""
    selected = corruption_rows(rows, corruption)
    write_rows(csv_path, selected)
    write_text(tex_path, lines_latex(selected, corruption))
    lines_figure(selected, corruption, png, pdf)
    return selected
