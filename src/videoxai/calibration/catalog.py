"""Every calibration result on disk, whichever config made it: what the summaries and the notebook API cover.

A result's path names all it is (``results/calibration/{method}/{train}/{run}/{test}/{split}/metrics.json``, the
split naming every setting: :class:`videoxai.keys.SplitVariant`), so finding the results is reading a folder tree,
and a result of an earlier config stays in the summaries after the config changes.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videoxai.keys import KEY_PART, ModelKey, ModelKeyError, SplitVariant, SplitVariantError

METRICS_NAME = "metrics.json"
BINS_NAME = "bins.parquet"


@dataclass(frozen=True, order=True)
class CalibrationResult:
    """One calibration result: its model, test dataset and variant, and its two files."""

    model: str
    test: str
    variant: str
    metrics: str
    bins: str

    @property
    def label(self) -> str:
        """How the summaries name the row: ``video_coop/demo/tiny on demo (test+b10)``."""
        return f"{self.model} on {self.test} ({self.variant})"

    def wildcards(self) -> dict[str, str]:
        key = ModelKey.parse(self.model)
        return {"method": key.method, "train": key.train, "run": key.run, "test": self.test, "split": self.variant}


def result_at(
    root: str | os.PathLike[str], method: str, train: str, run: str, test: str, split: str
) -> CalibrationResult:
    """The result the workflow writes for these wildcards (whether it is there yet or not)."""
    folder = Path(root) / "calibration" / method / train / run / test / split
    return CalibrationResult(
        f"{method}/{train}/{run}", test, split, os.fspath(folder / METRICS_NAME), os.fspath(folder / BINS_NAME)
    )


def find_calibration_results(root: str | os.PathLike[str] = "results") -> list[CalibrationResult]:
    """Every result under ``{root}/calibration`` with both files there, sorted; folders that name no result
    (another layout, a half-written variant) are left out."""
    base = Path(root) / "calibration"
    found = []
    for metrics in sorted(base.glob(f"*/*/*/*/*/{METRICS_NAME}")):
        method, train, run, test, split = metrics.relative_to(base).parts[:5]
        try:
            ModelKey.parse(f"{method}/{train}/{run}")
            SplitVariant.parse(split)
        except (ModelKeyError, SplitVariantError):
            continue
        if not _is_part(test) or not (metrics.parent / BINS_NAME).is_file():
            continue
        found.append(result_at(root, method, train, run, test, split))
    return sorted(found)


def pick_results(results: Sequence[CalibrationResult], patterns: Sequence[str]) -> list[CalibrationResult]:
    """The results whose summary label matches any of ``patterns`` (shell-style globs, ``*`` any text), in the
    patterns' order; the ``compare`` config key's choice for ``compare_curves``.

    A pattern matching no result is an error naming the labels there are: a figure silently missing a curve
    would compare less than was asked for.
    """
    if isinstance(patterns, str) or not patterns:
        raise ValueError(
            "compare_curves needs the results to draw: --config compare='[\"video_coop/* on demo (test)\", ...]' "
            "(labels of results/calibration/summary.csv, * matches any text; docs/comparisons.md)"
        )
    picked: list[CalibrationResult] = []
    for pattern in patterns:
        hits = [r for r in results if fnmatch.fnmatchcase(r.label, str(pattern))]
        if not hits:
            labels = ", ".join(repr(r.label) for r in results) or "none"
            raise ValueError(f"compare: {pattern!r} matches no calibration result; the labels are {labels}")
        picked += [r for r in hits if r not in picked]
    return picked


def _is_part(name: str) -> bool:
    return re.fullmatch(KEY_PART, name) is not None and name not in {".", ".."}


def results_table(root: str | os.PathLike[str] = "results") -> Any:
    """Every calibration result under ``root`` as a pandas DataFrame: the summary's columns (every metric with its
    interval, the variant's settings) and each result's ``model``, ``test``, ``variant``, ``metrics_path``,
    ``bins_path``. Needs pandas (``pip install 'videoxai[notebook]'``)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("videoxai.results needs pandas: pip install 'videoxai[notebook]' (or pandas)") from None
    from videoxai.calibration.table import summary_rows
    from videoxai.io import read_json

    found = find_calibration_results(root)
    rows = summary_rows([r.label for r in found], [read_json(r.metrics) for r in found], [r.variant for r in found])
    for row, r in zip(rows, found, strict=True):
        row.update(model=r.model, test=r.test, metrics_path=r.metrics, bins_path=r.bins)
    return pd.DataFrame(rows)
