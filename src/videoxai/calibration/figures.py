"""Publication figures: reliability diagrams and the all-model comparison (matplotlib, Agg).

Sizes are for a two-column paper: one panel fits a column (3.4 in), the
before/after pair spans the text width (6.9 in); text is 7-8 pt at that size.
PNG at 200 dpi and vector PDF (TrueType fonts, editable) of the same figure.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from videoxai.io import save_figure

COLUMN_WIDTH = 3.4
TEXT_WIDTH = 6.9
DPI = 200
# Okabe-Ito: distinguishable with the common colour-vision deficiencies and in greyscale order
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
ACCURACY_COLOR = "#0072B2"
GAP_COLOR = "#D55E00"
STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": True,
    "legend.framealpha": 0.9,
    "legend.edgecolor": "0.8",
    "legend.handlelength": 1.4,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 1.0,
    "patch.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
}


@dataclass
class Panel:
    """One reliability diagram: equal-width bin table and the numbers shown in its legend."""

    table: dict[str, np.ndarray]  # lower, upper, count, mean_confidence, accuracy, gap
    ece: float
    ece_ci: Sequence[float] | None
    subtitle: str | None = None
    ece_debiased: float | None = None  # the estimate the interval is built around


@dataclass
class Curve:
    """One model's reliability curve in the comparison figure."""

    label: str
    table: dict[str, np.ndarray]
    ece: float
    ece_ci: Sequence[float] | None


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def _figure(**kwargs: Any) -> Figure:
    """A figure on its own Agg canvas: no pyplot, so no global figure registry, GUI backend or its import time."""
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def _percent(value: float, ci: Sequence[float] | None) -> str:
    text = f"{100 * value:.2f}%"
    if ci is not None:
        text += f" [{100 * ci[0]:.2f}, {100 * ci[1]:.2f}]"
    return text


def ece_label(ece: float, debiased: float | None, ci: Sequence[float] | None) -> str:
    """The legend's ECE: the plug-in, then the debiased estimate with its 95% interval, and why the plug-in
    can lie outside that interval (it is biased upward; the interval is for the true ECE)."""
    if debiased is None or ci is None:
        return f"ECE {_percent(ece, ci)}"
    lines = [f"ECE {100 * ece:.2f}%", f"debiased {_percent(debiased, ci)}"]
    if not ci[0] <= ece <= ci[1]:
        lines[0] += " (plug-in: biased up,"
        lines.insert(1, "outside the CI of the true ECE)")
    return "\n".join(lines)


def _draw(ax, hist_ax, panel: Panel, show_ylabels: bool) -> None:
    t = panel.table
    occupied = t["count"] > 0
    left, width = t["lower"][occupied], (t["upper"] - t["lower"])[occupied]
    acc, conf = t["accuracy"][occupied], t["mean_confidence"][occupied]
    ax.bar(
        left,
        acc,
        width=width,
        align="edge",
        color=ACCURACY_COLOR,
        alpha=0.85,
        edgecolor="white",
        linewidth=0.5,
        zorder=2,
    )
    # hatch only, no fill: legible both over white (over-confidence) and over the bars (under-confidence)
    ax.bar(
        left,
        np.abs(conf - acc),
        bottom=np.minimum(conf, acc),
        width=width,
        align="edge",
        facecolor="none",
        edgecolor=GAP_COLOR,
        hatch="/////",
        linewidth=0.6,
        zorder=3,
    )
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.35", linewidth=0.8, zorder=4)
    handles = [
        Patch(facecolor=ACCURACY_COLOR, alpha=0.85, label="Accuracy"),
        Patch(facecolor="none", edgecolor=GAP_COLOR, hatch="/////", linewidth=0.6, label="Gap to confidence"),
        Line2D([], [], linestyle="--", color="0.35", linewidth=0.8, label="Perfect calibration"),
        Line2D([], [], linestyle="none", label=ece_label(panel.ece, panel.ece_debiased, panel.ece_ci)),
    ]
    # above the axes, never on the bars, wherever a model puts them; the panel's subtitle heads it
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=2,
        frameon=False,
        borderaxespad=0.3,
        columnspacing=1.2,
        title=panel.subtitle,
        title_fontsize=8,
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.tick_params(labelbottom=False)
    ax.grid(True, linewidth=0.3, color="0.88", zorder=0)
    ax.set_axisbelow(True)

    n = t["count"].sum()
    share = 100 * t["count"] / max(n, 1)
    hist_ax.bar(
        t["lower"],
        share,
        width=t["upper"] - t["lower"],
        align="edge",
        color="0.55",
        edgecolor="white",
        linewidth=0.5,
        zorder=2,
    )
    mean_conf = float(np.nansum(t["mean_confidence"] * t["count"]) / max(n, 1))
    mean_acc = float(np.nansum(t["accuracy"] * t["count"]) / max(n, 1))
    hist_ax.axvline(mean_acc, color=ACCURACY_COLOR, linewidth=1.0, zorder=3, label=f"Accuracy {100 * mean_acc:.1f}%")
    hist_ax.axvline(
        mean_conf, color=GAP_COLOR, linestyle=":", linewidth=1.2, zorder=3, label=f"Mean conf. {100 * mean_conf:.1f}%"
    )
    # headroom above the tallest bar keeps the legend off the bars, up to 100%; beyond, the legend moves
    # to the side away from the tallest bar
    tallest = float(share.max()) if share.size else 0.0
    top = max(5.0, tallest) * 1.75
    loc = "upper center"
    if top > 100.0:
        top = 100.0
        peak = int(np.argmax(share))
        loc = "upper left" if (t["lower"][peak] + t["upper"][peak]) / 2 > 0.5 else "upper right"
    hist_ax.legend(
        loc=loc,
        ncols=2,
        fontsize=6.5,
        borderaxespad=0.2,
        handlelength=1.2,
        columnspacing=1.0,
        framealpha=1.0,
    )
    hist_ax.set_xlim(0, 1)
    hist_ax.set_ylim(0, top)
    hist_ax.set_xlabel("Confidence")
    hist_ax.grid(True, axis="y", linewidth=0.3, color="0.88", zorder=0)
    hist_ax.set_axisbelow(True)
    if show_ylabels:
        ax.set_ylabel("Accuracy")
        hist_ax.set_ylabel("Samples (%)")


def reliability_diagram(
    panels: Sequence[Panel],
    out_png: str | os.PathLike[str],
    out_pdf: str | os.PathLike[str],
    title: str | None = None,
    columns: int | None = None,
) -> Figure:
    """Accuracy bars against confidence with gap bars and the diagonal, over a confidence histogram (0-100%).

    One panel per entry of ``panels``, side by side (before / after temperature
    scaling), sharing axes so the two are directly comparable; at most ``columns`` a row
    (the recalibration zoo's many methods). Returns the figure written.
    """
    if not panels:
        raise ValueError("reliability_diagram needs at least one panel")
    cols = min(len(panels), columns or len(panels))
    rows = -(-len(panels) // cols)
    with _style():
        width = COLUMN_WIDTH if cols == 1 else TEXT_WIDTH * cols / 2
        fig = _figure(figsize=(width, 4.2 * rows), layout="constrained")
        axes = fig.subplots(
            2 * rows, cols, squeeze=False, sharex="col", sharey="row", gridspec_kw={"height_ratios": [3.0, 1.1] * rows}
        )
        fig.get_layout_engine().set(h_pad=0.02, w_pad=0.02, hspace=0.0, wspace=0.02)
        for j, panel in enumerate(panels):
            r, c = divmod(j, cols)
            _draw(axes[2 * r, c], axes[2 * r + 1, c], panel, show_ylabels=c == 0)
        for j in range(len(panels), rows * cols):  # the last row's empty places
            r, c = divmod(j, cols)
            axes[2 * r, c].set_visible(False)
            axes[2 * r + 1, c].set_visible(False)
        if title:
            wrap = 60 if cols == 1 else 110
            fig.suptitle(textwrap.fill(title, wrap), fontsize=8)
        fig.align_ylabels(axes[:, 0])
        save_figure(fig, out_png, out_pdf, DPI)
    return fig


def comparison_figure(
    curves: Sequence[Curve], out_png: str | os.PathLike[str], out_pdf: str | os.PathLike[str]
) -> None:
    """Every model's reliability curve (accuracy at each non-empty bin's mean confidence) on one axis.

    Marker area is proportional to the bin's share of samples; the legend sits
    below the axes so no curve is hidden, however many models there are.
    """
    if not curves:
        raise ValueError("comparison_figure needs at least one model")
    with _style():
        rows = len(curves) + 1
        fig = _figure(figsize=(COLUMN_WIDTH, 3.0 + 0.13 * rows), layout="constrained")
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.35", linewidth=0.8, label="Perfect calibration", zorder=1)
        for i, c in enumerate(curves):
            occupied = c.table["count"] > 0
            share = c.table["count"][occupied] / max(c.table["count"].sum(), 1)
            color = PALETTE[i % len(PALETTE)]
            marker = MARKERS[(i // len(PALETTE) + i) % len(MARKERS)]
            x, y = c.table["mean_confidence"][occupied], c.table["accuracy"][occupied]
            ax.plot(x, y, color=color, linewidth=1.0, alpha=0.9, zorder=2, clip_on=False)
            # marker area grows with the bin's share of samples: sparse bins look as uncertain as they are
            ax.scatter(
                x,
                y,
                s=6 + 60 * share,
                color=color,
                marker=marker,
                edgecolors="white",
                linewidths=0.4,
                zorder=3,
                clip_on=False,
            )
            ax.plot(
                [],
                [],
                color=color,
                marker=marker,
                markersize=3.5,
                markeredgecolor="white",
                markeredgewidth=0.4,
                linewidth=1.0,
                label=f"{c.label} (ECE {100 * c.ece:.2f}%)",
            )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("Confidence (bin mean)")
        ax.set_ylabel("Accuracy")
        ax.grid(True, linewidth=0.3, color="0.88", zorder=0)
        ax.set_axisbelow(True)
        fig.legend(loc="outside lower center", ncols=1, fontsize=6.5, frameon=False, handlelength=2.0)
        save_figure(fig, out_png, out_pdf, DPI)
