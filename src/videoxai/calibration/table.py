"""The cross-model summary: a CSV of every metric and a LaTeX (booktabs) table of the main ones."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from videoxai.calibration.names import CALIBRATION_ERRORS, METRICS
from videoxai.keys import SplitVariant

# (metric key, column heading, scale, decimals, lower is better)
MAIN_COLUMNS = (
    ("accuracy", r"Acc.\ (\%) $\uparrow$", 100.0, 2, False),
    ("nll", r"NLL $\downarrow$", 1.0, 3, True),
    ("brier", r"Brier $\downarrow$", 1.0, 3, True),
    ("ece", r"ECE (\%) $\downarrow$", 100.0, 2, True),
    ("adaptive_ece", r"aECE (\%) $\downarrow$", 100.0, 2, True),
    ("classwise_ece", r"cwECE (\%) $\downarrow$", 100.0, 3, True),
    ("smooth_ece", r"smECE (\%) $\downarrow$", 100.0, 2, True),
)
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


# The evaluation options of a variant (videoxai.keys.SplitVariant.settings) that metrics.json does not hold itself
VARIANT_COLUMNS = (
    "use-augmentation",
    "use-handcrafted-prompts",
    "num-temporal-views",
    "num-spatial-views",
    "checkpoint-file",
    "precision",
    "compile",
)


def summary_rows(
    labels: Sequence[str], metrics: Sequence[dict[str, Any]], variants: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """One flat row per result: identity, every metric with its interval, and ``ts_`` columns after scaling.

    ``variants`` (the split names of the results' paths, ``test+pt+b10``) add a ``variant`` column and the
    evaluation options it names, so rows of two variants of one model tell apart by their settings.

    A calibration error's columns are ``<name>`` (plug-in), ``<name>_debiased`` (the estimate its
    interval is built around) and ``<name>_ci_low``/``<name>_ci_high``; ``calibration_p_value`` is the
    test of perfect calibration on the equal-width bins.
    """
    rows = []
    for i, (label, m) in enumerate(zip(labels, metrics)):
        row: dict[str, Any] = {"label": label}
        if variants is not None:
            settings = SplitVariant.parse(variants[i]).settings()
            row["variant"] = variants[i]
            row.update({k: settings[k] for k in VARIANT_COLUMNS})
        for key in (
            "model",
            "dataset",
            "split",
            "n",
            "num_classes",
            "convention",
            "n_bins",
            "bootstrap",
            "temperature",
            "temperature_source",
        ):
            row[key] = m.get(key)
        _flatten(row, m, "")
        ts = m.get("temperature_scaled")
        row["ts_temperature"] = ts["temperature"] if ts else None
        _flatten(row, ts, "ts_")
        rows.append(row)
    return rows


def _flatten(row: dict[str, Any], m: dict[str, Any] | None, prefix: str) -> None:
    for name in METRICS:
        ci = m.get(f"{name}_ci95") if m else None
        row[f"{prefix}{name}"] = m.get(name) if m else None
        if name in CALIBRATION_ERRORS:
            row[f"{prefix}{name}_debiased"] = m.get(f"{name}_debiased") if m else None
        row[f"{prefix}{name}_ci_low"] = ci[0] if ci else None
        row[f"{prefix}{name}_ci_high"] = ci[1] if ci else None
    test = ((m or {}).get("calibration_tests") or {}).get("equal-width")
    row[f"{prefix}calibration_p_value"] = test["p_value"] if test else None


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_table(labels: Sequence[str], metrics: Sequence[dict[str, Any]]) -> str:
    """A booktabs ``tabular``: value with its 95% interval below it in small type; best per column in bold.

    When any model has a fitted temperature, two columns follow: T and the ECE
    after scaling. A calibration error's interval is for its true value, built
    around the debiased estimate; a plug-in value outside it (the binned
    estimators are biased upward) is marked with a dagger, explained below the
    table. Needs ``\\usepackage{booktabs}`` (and ``makecell`` for the stacked cells).
    """
    columns = [(k, head, scale, dec, low, None) for k, head, scale, dec, low in MAIN_COLUMNS]
    if any(m.get("temperature_scaled") for m in metrics):
        columns += [
            ("temperature", "$T$", 1.0, 2, None, "temperature_scaled"),
            ("ece", r"ECE$_\mathrm{TS}$ (\%) $\downarrow$", 100.0, 2, True, "temperature_scaled"),
        ]
    best = {}
    for i, (key, _, _, _dec, low, nested) in enumerate(columns):
        values = [_value(m, key, nested) for m in metrics]
        finite = [round(v, 12) for v in values if v is not None and math.isfinite(v)]
        if low is not None and len(finite) > 1:
            best[i] = min(finite) if low else max(finite)
    lines = [
        "% calibration summary; needs \\usepackage{booktabs,makecell}",
        "\\begin{tabular}{l" + "r" * (len(columns) + 1) + "}",
        "\\toprule",
        " & ".join(["Model", "$n$"] + [c[1] for c in columns]) + r" \\",
        "\\midrule",
    ]
    outside = False
    for label, m in zip(labels, metrics):
        cells = [latex_escape(label), str(m.get("n", ""))]
        for i, (key, _, scale, dec, _, nested) in enumerate(columns):
            v = _value(m, key, nested)
            if v is None:
                cells.append("--")
                continue
            text = f"{scale * v:.{dec}f}"
            if i in best and round(v, 12) == best[i]:
                text = f"\\textbf{{{text}}}"
            src = m.get(nested) if nested else m
            ci = src.get(f"{key}_ci95") if src else None
            if ci and not ci[0] <= v <= ci[1]:
                text += r"$^\dagger$"
                outside = True
            if ci:
                text = f"\\makecell[r]{{{text}\\\\[-0.3ex]{{\\scriptsize[{scale * ci[0]:.{dec}f}, {scale * ci[1]:.{dec}f}]}}}}"
            cells.append(text)
        lines.append(" & ".join(cells) + r" \\")
    lines.append("\\bottomrule")
    if outside:
        note = r"$^\dagger$\,plug-in outside its 95\% interval (binned errors are biased upward; docs/calibration.md)"
        lines.append(f"\\multicolumn{{{len(columns) + 2}}}{{l}}{{\\scriptsize {note}}} \\\\")
    lines += ["\\end{tabular}", ""]
    return "\n".join(lines)


def _value(m: dict[str, Any], key: str, nested: str | None) -> float | None:
    src = m.get(nested) if nested else m
    v = src.get(key) if src else None
    return float(v) if v is not None else None
