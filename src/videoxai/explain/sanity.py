"""Cascading model-parameter randomisation (Adebayo et al. 2018) as a similarity curve over layers, per model x
explainer: ``results/explain/sanity.csv`` and ``figures/explainer/sanity.png``.

The explain stage re-initialises a copy of the model from the top down in ``sanity-steps`` chunks and keeps, per
clip and step, the Spearman rank correlation and the SSIM of the method's map with the trained model's map
(:func:`videoxai.explain.evaluate.cascading_randomisation`); the explanation summary keeps them per clip
(``per_clip[*].sanity_spearman_steps`` / ``sanity_ssim_steps``) and the modules each step randomised
(``evaluation.sanity[*].randomised``). Here each step's clip mean gets a bootstrap 95% interval over clips, as the
leaderboard's scores do. A method whose curve stays near 1 as the model is destroyed explains the input, not the
model. numpy only; matplotlib for the figure.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from videoxai.explain.leaderboard import ExplanationResult, mean_interval
from videoxai.io import read_json, write_csv

log = logging.getLogger("videoxai.explain")

# (per-clip key, CSV column, heading): the two similarities Adebayo et al. report
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("sanity_spearman_steps", "spearman", "Spearman rank correlation"),
    ("sanity_ssim_steps", "ssim", "SSIM"),
)
COLUMNS = (
    "model",
    "test",
    "variant",
    "explainer",
    "step",
    "n_modules",
    "randomised_to",
    "layers",
    "n_clips",
    *(f"{c}{x}" for _, c, _ in MEASURES for x in ("", "_ci_low", "_ci_high")),
)
_NUMBERED = re.compile(r"^(.*?\.\d+)(\..*)?$")  # a module inside a numbered block: the block


def layer_group(module: str) -> str:
    """A module's readable layer: the numbered block it is in (``tower.blocks.1.attn_s.qkv`` -> ``tower.blocks.1``),
    else its own name; the model's own parameters (the root) are ``(model)``."""
    if module == "":
        return "(model)"
    m = _NUMBERED.match(module)
    return m.group(1) if m else module


def readable_layers(modules: Sequence[str]) -> list[str]:
    """The layers of a step's modules, in the order given (top-down), each once."""
    return list(dict.fromkeys(layer_group(m) for m in modules))


def sanity_rows(results: Sequence[ExplanationResult], resamples: int = 1000) -> list[dict[str, Any]]:
    """One row per explainer folder and randomisation step: the modules randomised so far (count, the layer reached,
    this step's layers top-down) and each similarity's clip mean with its bootstrap 95% interval. A folder whose
    summary predates the per-step values is left out, with the command that remakes it in the log."""
    rows = []
    for r in sorted(results):
        stats = read_json(r.stats)
        clips = stats.get("per_clip") or []
        if not clips or any("sanity_spearman_steps" not in c for c in clips):
            log.warning(
                "%s has no per-step sanity scores (made by an earlier version): snakemake --forcerun %s",
                r.stats,
                r.stats,
            )
            continue
        steps = (stats.get("evaluation") or {}).get("sanity") or []
        n_steps = max(len(c["sanity_spearman_steps"]) for c in clips)
        n_modules = 0
        for s in range(n_steps):
            randomised = steps[s].get("randomised") if s < len(steps) else None
            layers = readable_layers(randomised) if randomised is not None else []
            n_modules += len(randomised or [])
            row: dict[str, Any] = {
                "model": r.model,
                "test": r.test,
                "variant": r.variant,
                "explainer": r.explainer,
                "step": s + 1,
                "n_modules": n_modules if randomised is not None else None,
                "randomised_to": layer_group(randomised[-1]) if randomised else None,  # the deepest module reached
                "layers": "; ".join(layers) if layers else None,
            }
            for key, column, _ in MEASURES:
                values = [c[key][s] for c in clips if len(c.get(key) or []) > s]
                stat = mean_interval(values, resamples)
                row[column], row[f"{column}_ci_low"], row[f"{column}_ci_high"] = stat if stat else (None, None, None)
                if column == "spearman":  # the clips with a ranking (a constant map has none)
                    row["n_clips"] = sum(v is not None and math.isfinite(v) for v in values)
            rows.append(row)
    return rows


def write_sanity(
    results: Sequence[ExplanationResult],
    out_csv: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    out_pdf: str | os.PathLike[str],
    resamples: int = 1000,
) -> list[dict[str, Any]]:
    """``sanity.csv`` (a row per model x explainer x step) and the figure (a panel per model)."""
    rows = sanity_rows(results, resamples)
    write_csv(out_csv, rows, COLUMNS)
    sanity_figure(rows, out_png, out_pdf)
    return rows


def _panel_of(row: dict[str, Any]) -> str:
    return f"{row['model']} on {row['test']}" + (f" ({row['variant']})" if row["variant"] != "test" else "")


def sanity_figure(
    rows: Sequence[dict[str, Any]], out_png: str | os.PathLike[str], out_pdf: str | os.PathLike[str], dpi: int = 200
) -> None:
    """A column per model (x test dataset x variant), a row per similarity: x the layers randomised so far, top-down
    (0: the trained model, whose map equals itself), y the similarity with the trained model's map, a line per
    explainer with its 95% interval as a band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from videoxai.io import save_figure

    panels = list(dict.fromkeys(_panel_of(r) for r in rows)) or ["no explainer folder with sanity scores"]
    fig, axes = plt.subplots(
        len(MEASURES), len(panels), figsize=(3.6 * len(panels) + 0.6, 2.6 * len(MEASURES) + 0.8), squeeze=False
    )
    explainers = list(dict.fromkeys(r["explainer"] for r in rows))
    colours = {e: f"C{i % 10}" for i, e in enumerate(explainers)}
    for col, panel in enumerate(panels):
        mine = [r for r in rows if _panel_of(r) == panel]
        for row_i, (_, column, heading) in enumerate(MEASURES):
            ax = axes[row_i][col]
            ticks: dict[int, str] = {0: "trained"}
            for e in explainers:
                steps = [r for r in mine if r["explainer"] == e and r[column] is not None]
                if not steps:
                    continue
                x = np.array([0] + [r["step"] for r in steps])
                y = np.array([1.0] + [r[column] for r in steps])
                lo = np.array([1.0] + [_or_nan(r[f"{column}_ci_low"]) for r in steps])
                hi = np.array([1.0] + [_or_nan(r[f"{column}_ci_high"]) for r in steps])
                ax.plot(x, y, "o-", color=colours[e], label=e, markersize=3, linewidth=1.2)
                ax.fill_between(x, lo, hi, color=colours[e], alpha=0.2, linewidth=0)
                last = max(r["step"] for r in steps)
                for r in steps:
                    # the last step has randomised every module (down to the model's own parameters)
                    label = "everything" if r["step"] == last else (r["randomised_to"] or str(r["step"]))
                    ticks.setdefault(r["step"], label)
            ax.axhline(0.0, color="0.6", linewidth=0.6)
            ax.set_xticks(sorted(ticks), [ticks[k] for k in sorted(ticks)], rotation=30, ha="right", fontsize=7)
            ax.set_ylim(-1.05, 1.05)
            ax.grid(linewidth=0.4, alpha=0.5)
            ax.tick_params(axis="y", labelsize=8)
            if row_i == 0:
                ax.set_title(panel, fontsize=9)
            if col == 0:
                ax.set_ylabel(f"{heading}\nwith the trained model's map", fontsize=8)
            if row_i == len(MEASURES) - 1:
                ax.set_xlabel("randomised from the top down to", fontsize=8)
    if explainers:
        axes[0][0].legend(fontsize=7, loc="lower left")
    fig.text(0.99, 0.005, "mean over clips, 95% bootstrap interval (band); Adebayo et al. 2018", ha="right", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    save_figure(fig, out_png, out_pdf, dpi=dpi)
    plt.close(fig)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)
