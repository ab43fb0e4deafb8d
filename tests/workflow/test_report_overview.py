"""The report opens with the answer: its first page names what was analysed and shows the calibration summary and
the explanation scores (the numbers of summary.csv and aggregated_stats.json), linking to the figures' categories."""

from __future__ import annotations

import csv
import html
import json
import re
import zipfile
from pathlib import Path

import pytest

from tests.helpers import TINY_DEMO, run_snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

KEY = TINY_DEMO["models"][0]


def _first_page(report: Path) -> str:
    """The report's text, HTML entities and JSON escapes undone (the page is embedded in report.html's scripts)."""
    with zipfile.ZipFile(report) as z:
        (name,) = [n for n in z.namelist() if n.endswith("report.html")]
        text = z.read(name).decode()
    text = text.replace("\\n", "\n").replace('\\"', '"').replace("\\/", "/")
    return html.unescape(html.unescape(text))


def test_the_first_page_says_what_was_analysed_and_what_came_out(run: Path) -> None:
    proc = run_snakemake(run, "--report", "report.zip", timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    page = _first_page(run / "report.zip")
    for heading in ("What was analysed", "Calibration", "Explanations"):
        assert heading in page, heading
    assert KEY in page and "split" in page and "standard" in page
    assert "attention-rollout" in page and "grad-cam" in page
    # the calibration summary's numbers, as summary.csv has them
    (row,) = csv.DictReader((run / "results/calibration/summary.csv").open())
    low, high = float(row["ece_ci_low"]) * 100, float(row["ece_ci_high"]) * 100
    ece = f"{float(row['ece_debiased']) * 100:.2f} [{low:.2f}, {high:.2f}]"
    assert ece in page and f"{float(row['ece']) * 100:.2f}" in page, ece
    assert f"{float(row['accuracy']) * 100:.2f}" in page
    # the explanation scores, as each explainer folder's aggregated_stats.json has them
    for explainer in ("attention-rollout", "grad-cam"):
        stats = json.loads((run / f"figures/explainer/{KEY}/demo-test/{explainer}/aggregated_stats.json").read_text())[
            "evaluation"
        ]
        assert f"{stats['faithfulness']['deletion_auc']:.3f}" in page, explainer
        assert f"{stats['ground_truth']['map']['pointing_game']:.2f}" in page, explainer
    assert "not there yet" not in page and "not scored yet" not in page
    # links to the diagrams' and the galleries' categories
    assert re.search(r"showCategory\([^)]*Calibration", page) and re.search(r"showCategory\([^)]*Explanations", page)
