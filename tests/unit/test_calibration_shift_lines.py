"""The per-corruption line plots: the rows selected, the LaTeX table and the figure files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from videoxai.calibration.shift import COLUMNS
from videoxai.calibration.shift_lines import corruption_rows, lines_latex, write_corruption_outputs


def _row(model: str, corruption: str, severity: int, method: str, acc: float) -> dict:
    return {
        "model": model,
        "dataset": "demo",
        "split": "test" if corruption == "none" else f"test+{corruption}-{severity}",
        "corruption": corruption,
        "severity": severity,
        "method": method,
        "n": 8,
        "accuracy": acc,
        "nll": 1.0 + severity,
        "brier": 0.1 * severity,
        "ece": 0.01 * severity,
        "cw_ece": 0.02 * severity,
    }


ROWS = [
    _row(model, corruption, severity, method, 1.0 - 0.1 * severity)
    for model in ("a/demo/x", "mixture/demo/m")
    for corruption, severity in (("none", 0), ("fog", 1), ("fog", 5), ("contrast", 3))
    for method in ("none", "temperature")
]


def test_a_corruption_keeps_its_rows_and_the_clean_ones_sorted() -> None:
    rows = corruption_rows(list(reversed(ROWS)), "fog")
    assert [(r["model"], r["method"], r["severity"]) for r in rows] == [
        (model, method, s)
        for model in ("mixture/demo/m", "a/demo/x")
        for method in ("temperature", "none")
        for s in (0, 1, 5)
    ]
    assert all(r["corruption"] in ("none", "fog") for r in rows)


def test_an_absent_corruption_names_the_ones_there() -> None:
    with pytest.raises(ValueError, match=r"'rain'.*\['contrast', 'fog'\]"):
        corruption_rows(ROWS, "rain")


def test_latex_has_a_row_per_model_method_and_severity() -> None:
    rows = corruption_rows(ROWS, "fog")
    tex = lines_latex(rows, "fog")
    body = [line for line in tex.splitlines() if line.endswith(r"\\") and not line.startswith("Model")]
    assert len(body) == len(rows) == 12
    assert r"mixture/demo/m & demo & temperature & 5 & 8 & 50.00 & 5.00 & 10.00 & 0.5000 & 6.0000 \\" in body
    assert "clean" in body[0] and "\\begin{tabular}" in tex and "\\bottomrule" in tex


def test_outputs_are_written_side_by_side(tmp_path: Path) -> None:
    paths = [tmp_path / f"fog.{ext}" for ext in ("csv", "tex", "png", "pdf")]
    write_corruption_outputs(ROWS, "fog", *paths)
    with open(paths[0], newline="") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == list(COLUMNS) and len(table) == 12
    assert {r["corruption"] for r in table} == {"none", "fog"}
    assert paths[2].read_bytes()[:4] == b"\x89PNG" and paths[2].stat().st_size > 10_000
    assert paths[3].read_bytes()[:4] == b"%PDF"
