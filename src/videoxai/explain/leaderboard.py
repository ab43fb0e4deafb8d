"""The explanation leaderboard: every model x explainer (x test dataset x variant) on disk, each score a clip mean
with a bootstrap 95% interval over clips, and the random-map and centre-prior baselines as rows of their own.

It reads each explainer folder's ``aggregated_stats.json`` (its ``per_clip`` scores:
:func:`videoxai.explain.summary.per_clip_scores`); the folders are found by their paths
(``figures/explainer/{method}/{train}/{run}/{test}-{split}/{explainer}/``), so a result of an earlier config stays
on the board. numpy only; matplotlib for the figure.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videoxai.explain.options import effective_convention
from videoxai.explain.variant import SELECTION_SETTINGS, ExplainerVariant, ExplainerVariantError
from videoxai.io import read_json, write_csv, write_text
from videoxai.keys import KEY_PART, SPLIT_VARIANT_PATTERN, ModelKey, SplitVariant

log = logging.getLogger("videoxai.explain")

STATS_NAME = "aggregated_stats.json"
# (score, heading, higher is better): pointing game and energy against the object masks, deletion / insertion AUC
# (faithfulness), the Spearman of the maps with the last randomised model's (the sanity check: lower is better),
# and the share of the temporal importance on frames where the object is visible
SCORES: tuple[tuple[str, str, bool], ...] = (
    ("pointing_game", "Pointing game", True),
    ("energy_in_mask", "Energy in mask", True),
    ("deletion_auc", "Deletion AUC", False),
    ("insertion_auc", "Insertion AUC", True),
    ("sanity_spearman", "Randomisation Spearman", False),
    ("temporal_in_tube", "Temporal in-tube share", True),
)
# the baselines: the clips' scores of a random map and of a centre prior (the same clips as the explainer's)
BASELINES = (("random-map", "random_"), ("centre-prior", "centre_"))
_FOLDER_RE = re.compile(rf"^({KEY_PART})-({SPLIT_VARIANT_PATTERN})$")


@dataclass(frozen=True, order=True)
class ExplanationResult:
    """One explainer folder: its model, test dataset, variant and explainer, and its ``aggregated_stats.json``."""

    model: str
    test: str
    variant: str
    explainer: str
    stats: str

    def wildcards(self) -> dict[str, str]:
        key = ModelKey.parse(self.model)
        return {
            "method": key.method,
            "train": key.train,
            "run": key.run,
            "test": self.test,
            "split": self.variant,
            "explainer": self.explainer,
        }


def stats_at(root: str | os.PathLike[str], method: str, train: str, run: str, test: str, split: str, explainer: str):
    """The folder the workflow writes for these wildcards (there yet or not)."""
    path = Path(root) / "explainer" / method / train / run / f"{test}-{split}" / explainer / STATS_NAME
    return ExplanationResult(f"{method}/{train}/{run}", test, split, explainer, os.fspath(path))


def find_explanation_results(root: str | os.PathLike[str] = "figures") -> list[ExplanationResult]:
    """Every explainer folder under ``{root}/explainer`` with its ``aggregated_stats.json``, sorted."""
    base = Path(root) / "explainer"
    found = []
    for stats in sorted(base.glob(f"*/*/*/*/*/{STATS_NAME}")):
        method, train, run, folder, explainer = stats.relative_to(base).parts[:5]
        m = _FOLDER_RE.match(folder)
        if not m:
            continue
        try:
            ModelKey.parse(f"{method}/{train}/{run}")
            ExplainerVariant.parse(explainer)  # the method and its settings (videoxai.explain.variant)
        except ValueError:
            continue
        found.append(stats_at(root, method, train, run, m.group(1), m.group(2), explainer))
    return sorted(found)


def mean_interval(values: Sequence[float], resamples: int = 1000, seed: int = 0) -> tuple[float, float, float] | None:
    """Mean and percentile-bootstrap 95% interval of a clip score (resampling clips); None without values, the
    interval NaN with fewer than two."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return None
    if v.size < 2 or resamples < 1:
        return float(v.mean()), math.nan, math.nan
    idx = np.random.default_rng(seed).integers(0, v.size, size=(resamples, v.size))
    means = v[idx].mean(axis=1)
    return float(v.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def variant_columns(result: ExplanationResult, baseline: str | None = None) -> dict[str, Any]:
    """The settings the folder's name gives, by config name (``method``, its options, the selection's): a baseline
    row has the selection's alone (its clips), its name as the method."""
    try:
        v = ExplainerVariant.parse(result.explainer)
        columns = v.columns(effective_convention(v.method, SplitVariant.parse(result.variant).convention))
    except ValueError:
        return {}
    if baseline is not None:
        return {"method": baseline, **{k: columns[k] for k in SELECTION_SETTINGS}}
    return columns


def _row(result: ExplanationResult, explainer: str, clips: list[dict[str, Any]], prefix: str, resamples: int):
    baseline = None if explainer == result.explainer else explainer
    row: dict[str, Any] = {
        "model": result.model,
        "test": result.test,
        "variant": result.variant,
        "explainer": explainer if baseline is None else _baseline_name(result, baseline),
        "n_clips": len(clips),
        "settings": variant_columns(result, baseline),
    }
    for score, _, _ in SCORES:
        stat = mean_interval([c.get(prefix + score) for c in clips], resamples)
        row[score], row[f"{score}_ci_low"], row[f"{score}_ci_high"] = stat if stat else (None, None, None)
    return row


def _baseline_name(result: ExplanationResult, baseline: str) -> str:
    """A baseline's name, with the selection's part of the folder it was scored on (``random-map+classes-8``)."""
    try:
        return baseline + str(ExplainerVariant.parse(result.explainer).selection)
    except ExplainerVariantError:
        return baseline


def leaderboard_rows(results: Sequence[ExplanationResult], resamples: int = 1000) -> list[dict[str, Any]]:
    """One row per explainer folder, then per (model, test, variant) a row for each baseline (from the first
    explainer's clips); a folder made before per-clip scores were kept is left out, with the command that
    remakes it in the log."""
    rows, baselines = [], {}
    for r in sorted(results):
        stats = read_json(r.stats)
        clips = stats.get("per_clip")
        if clips is None:
            log.warning(
                "%s has no per-clip scores (made by an earlier version): snakemake --forcerun %s", r.stats, r.stats
            )
            continue
        rows.append(_row(r, r.explainer, clips, "", resamples))
        if clips and "random_pointing_game" in clips[0]:
            for name, prefix in BASELINES:
                key = (r.model, r.test, r.variant, _baseline_name(r, name))
                baselines.setdefault(key, _row(r, name, clips, prefix, resamples))
    return [_flat(r) for r in rows + [baselines[k] for k in sorted(baselines)]]


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its settings as columns of their own, after the scores."""
    settings = row.pop("settings")
    return {**row, **settings}


def setting_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The variant settings' columns the rows have, in the order the first row that has each gives them."""
    known = {"model", "test", "variant", "explainer", "n_clips"} | {
        f"{s}{x}" for s, _, _ in SCORES for x in ("", "_ci_low", "_ci_high")
    }
    return list(dict.fromkeys(k for r in rows for k in r if k not in known))


def write_leaderboard(
    results: Sequence[ExplanationResult],
    out_csv: str | os.PathLike[str],
    out_tex: str | os.PathLike[str],
    out_png: str | os.PathLike[str],
    out_pdf: str | os.PathLike[str],
    resamples: int = 1000,
) -> list[dict[str, Any]]:
    """``summary.csv`` (every score with its interval), a booktabs table and the figure (a panel per score)."""
    rows = leaderboard_rows(results, resamples)
    columns = ["model", "test", "variant", "explainer", "n_clips"]
    columns += [f"{s}{x}" for s, _, _ in SCORES for x in ("", "_ci_low", "_ci_high")]
    columns += setting_columns(rows)  # method, its options, the selection's settings (videoxai.explain.variant)
    write_csv(out_csv, rows, columns)
    write_text(out_tex, latex_leaderboard(rows))
    leaderboard_figure(rows, out_png, out_pdf)
    return rows


def _tex(text: str) -> str:
    return text.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def latex_leaderboard(rows: Sequence[dict[str, Any]]) -> str:
    """Each score as its clip mean with the 95% interval below it; needs ``\\usepackage{booktabs,makecell}``."""
    used = [s for s in SCORES if any(r[s[0]] is not None for r in rows)]
    arrows = {True: r"$\uparrow$", False: r"$\downarrow$"}
    head = ["Model", "Test", "Explainer", "$n$"] + [f"{h} {arrows[up]}" for _, h, up in used]
    lines = [
        "% explanation leaderboard; needs \\usepackage{booktabs,makecell}",
        "\\begin{tabular}{lll" + "r" * (len(used) + 1) + "}",
        "\\toprule",
        " & ".join(head) + r" \\",
        "\\midrule",
    ]
    for r in rows:
        cells = [_tex(r["model"]), _tex(f"{r['test']} ({r['variant']})"), _tex(r["explainer"]), str(r["n_clips"])]
        for s, _, _ in used:
            v, lo, hi = r[s], r[f"{s}_ci_low"], r[f"{s}_ci_high"]
            if v is None:
                cells.append("--")
            elif lo is None or not math.isfinite(lo):
                cells.append(f"{v:.3f}")
            else:
                cells.append(f"\\makecell{{{v:.3f}\\\\ \\scriptsize[{lo:.3f}, {hi:.3f}]}}")
        lines.append(" & ".join(cells) + r" \\")
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        "% each score: the mean over clips, below it its 95% bootstrap interval",
    ]
    return "\n".join(lines) + "\n"


def leaderboard_figure(
    rows: Sequence[dict[str, Any]], out_png: str | os.PathLike[str], out_pdf: str | os.PathLike[str]
) -> None:
    """One panel per score: each row's clip mean and 95% interval, the baselines in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from videoxai.io import save_figure

    used = [s for s in SCORES if any(r[s[0]] is not None for r in rows)] or list(SCORES[:1])
    labels = [
        f"{r['model']} · {r['explainer']}" + (f" ({r['variant']})" if r["variant"] != "test" else "") for r in rows
    ]
    fig, axes = plt.subplots(
        1, len(used), figsize=(2.3 * len(used) + 2.5, 0.8 + 0.28 * max(len(rows), 1)), sharey=True, squeeze=False
    )
    y = np.arange(len(rows))
    for ax, (score, heading, up) in zip(axes[0], used, strict=True):
        for i, r in enumerate(rows):
            v, lo, hi = r[score], r[f"{score}_ci_low"], r[f"{score}_ci_high"]
            if v is None:
                continue
            colour = "0.55" if r["explainer"].split("+")[0] in dict(BASELINES) else "C0"
            err = None if lo is None or not math.isfinite(lo) else [[v - lo], [hi - v]]
            ax.errorbar(v, i, xerr=err, fmt="o", color=colour, markersize=4, capsize=2, linewidth=1)
        ax.set_title(f"{heading} {'↑' if up else '↓'}", fontsize=9)
        ax.grid(axis="x", linewidth=0.4, alpha=0.5)
        ax.tick_params(labelsize=8)
    axes[0][0].set_yticks(y, labels, fontsize=8)
    axes[0][0].invert_yaxis()
    fig.text(0.99, 0.005, "mean over clips, 95% bootstrap interval; grey: baselines", ha="right", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    save_figure(fig, out_png, out_pdf, dpi=200)
    plt.close(fig)


def leaderboard_table(root: str | os.PathLike[str] = "figures", resamples: int = 1000) -> Any:
    """The leaderboard of every explainer folder under ``root`` as a pandas DataFrame (the rows of
    ``results/explain/summary.csv``). Needs pandas (``pip install 'videoxai[notebook]'``)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("videoxai.leaderboard needs pandas: pip install 'videoxai[notebook]' (or pandas)") from None
    return pd.DataFrame(leaderboard_rows(find_explanation_results(root), resamples))
