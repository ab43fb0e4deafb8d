"""The transfer matrix: cells read from metrics.json, sorted by training dataset, as CSV, LaTeX and heat maps."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from videoxai.calibration.transfer import COLUMNS, transfer_cells, transfer_latex, write_transfer


def _metrics(path: Path, acc: float, ece: float) -> Path:
    m = {"split": "test", "n": 10, "accuracy": acc, "accuracy_ci95": [acc - 0.1, acc + 0.1], "ece": ece}
    m["ece_ci95"] = [ece / 2, ece * 2]
    path.write_text(json.dumps(m))
    return path


CASES = (  # model, test dataset, accuracy, ECE
    ("m/ucf101/a", "hmdb51", 0.4, 0.2),
    ("m/ucf101/a", "ucf101", 0.9, 0.05),
    ("m/hmdb51/b", "ucf101", 0.5, 0.15),
    ("m/hmdb51/b", "hmdb51", 0.7, 0.1),
)


def _cells(tmp_path: Path) -> tuple[list[Path], list[str], list[str]]:
    paths = [_metrics(tmp_path / f"{i}.json", acc, ece) for i, (_, _, acc, ece) in enumerate(CASES)]
    return paths, [c[0] for c in CASES], [c[1] for c in CASES]


def test_cells_are_read_and_sorted_by_training_dataset(tmp_path: Path) -> None:
    cells = transfer_cells(*_cells(tmp_path))
    assert [(c["train"], c["test"], c["accuracy"]) for c in cells] == [
        ("hmdb51", "hmdb51", 0.7),
        ("hmdb51", "ucf101", 0.5),
        ("ucf101", "hmdb51", 0.4),
        ("ucf101", "ucf101", 0.9),
    ]
    assert cells[0]["ece_ci_low"] == pytest.approx(0.05) and cells[0]["accuracy_ci_high"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="3 metrics files for 4 models"):
        transfer_cells(_cells(tmp_path)[0][:3], [c[0] for c in CASES], [c[1] for c in CASES])


def test_latex_has_a_row_per_model_and_a_cell_per_test_dataset_and_metric(tmp_path: Path) -> None:
    tex = transfer_latex(transfer_cells(*_cells(tmp_path)))
    assert (
        r"hmdb51 & m/hmdb51/b & 70.0 [60.0, 80.0] & 50.0 [40.0, 60.0] & 10.0 [5.0, 20.0] & 15.0 [7.5, 30.0] \\" in tex
    )
    assert r"Accuracy (\%)" in tex and "\\bottomrule" in tex


def test_a_missing_cell_is_a_dash_and_the_files_are_written(tmp_path: Path) -> None:
    paths, models, tests = _cells(tmp_path)
    out = [tmp_path / f"transfer.{ext}" for ext in ("csv", "tex", "png", "pdf")]
    write_transfer(paths[:3], models[:3], tests[:3], *out)
    with open(out[0], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS) and len(rows) == 3
    assert r"hmdb51 & m/hmdb51/b & -- & 50.0 [40.0, 60.0]" in out[1].read_text()
    assert out[2].read_bytes()[:4] == b"\x89PNG" and out[2].stat().st_size > 10_000
    assert out[3].read_bytes()[:4] == b"%PDF"
