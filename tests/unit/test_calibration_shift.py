"""The zoo table of one split: every method fitted on val or cross-fitted, scored with intervals, one diagram each."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.unit.test_calibration_stage import write_predictions
from videoxai.calibration import zoo
from videoxai.calibration.metrics import brier_score, calibration_error, classwise_calibration_error
from videoxai.calibration.shift import COLUMNS, ZooSettings, evaluate_methods, read_rows, write_rows
from videoxai.extract.predictions import load_predictions

METHODS = ["temperature", "matrix", "ets", "irm", "spline"]


def _metrics(p: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The zoo's metrics from their definitions (the calibration metrics module)."""
    return {
        "accuracy": float((p.argmax(1) == y).mean()),
        "nll": float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean()),
        "brier": brier_score(p, y),
        "ece": calibration_error(p.max(1), p.argmax(1) == y, 15),
        "cw_ece": classwise_calibration_error(p, y, 15),
    }


def test_methods_fitted_on_val_are_scored_with_intervals_and_drawn(tmp_path: Path) -> None:
    test = write_predictions(tmp_path / "test.parquet", 300, 2.0, seed=0)
    val = write_predictions(tmp_path / "val.parquet", 300, 2.0, seed=1, split="val")
    png, pdf = tmp_path / "zoo.png", tmp_path / "zoo.pdf"
    rows = evaluate_methods(test, val, METHODS, ZooSettings(bootstrap=100), png, pdf, title="zoo")
    assert [r["method"] for r in rows] == ["none", *METHODS]
    t, v = load_predictions(test), load_predictions(val)
    for row in rows:
        p = (
            zoo.softmax(t.logits)
            if row["method"] == "none"
            else zoo.fit(row["method"], v.logits, v.labels).probs(t.logits)
        )
        for name, value in _metrics(p, t.labels).items():
            assert row[name] == pytest.approx(value, abs=1e-12), (row["method"], name)
            lo, hi = row[f"{name}_ci_low"], row[f"{name}_ci_high"]
            assert lo <= hi and (name in ("ece", "cw_ece") or lo <= value <= hi)
        assert row["ece_ci_low"] <= row["ece_debiased"] <= row["ece_ci_high"]
    by = {r["method"]: r for r in rows}
    assert by["none"]["fitted_on"] == "" and by["temperature"]["fitted_on"] == "val"
    assert by["temperature"]["settings"].startswith("temperature=") and "lam=0.01" in by["matrix"]["settings"]
    assert "w_uniform=" in by["ets"]["settings"]
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20_000 and pdf.read_bytes()[:4] == b"%PDF"


def test_cross_fitting_recalibrates_each_fold_with_the_others(tmp_path: Path) -> None:
    test = write_predictions(tmp_path / "test.parquet", 200, 2.0, seed=0)
    settings = ZooSettings(fit_on="cross-fit", folds=4)
    rows = evaluate_methods(test, test, ["temperature"], settings)
    t = load_predictions(test)
    folds = zoo.fold_of(t.sample_ids, t.sample_ids, 4)
    expected = np.empty_like(t.logits, dtype=np.float64)
    temperatures = []
    for f in range(4):
        r = zoo.fit("temperature", t.logits[folds != f], t.labels[folds != f])
        expected[folds == f] = r.probs(t.logits[folds == f])
        temperatures.append(r.info["temperature"])
    row = rows[1]
    assert row["nll"] == pytest.approx(_metrics(expected, t.labels)["nll"], abs=1e-12)
    assert row["fitted_on"] == "cross-fit (4 folds of test)"
    assert row["settings"] == " | ".join(f"temperature={x:.4g}" for x in temperatures)
    # fitting on the whole split and scoring on it is not what cross-fitting gives
    full = zoo.fit("temperature", t.logits, t.labels).probs(t.logits)
    assert row["nll"] != pytest.approx(_metrics(full, t.labels)["nll"], abs=1e-9)


def test_the_penalty_strength_can_be_cross_validated(tmp_path: Path) -> None:
    test = write_predictions(tmp_path / "test.parquet", 100, 2.0, seed=0)
    val = write_predictions(tmp_path / "val.parquet", 60, 2.0, seed=1, split="val")
    grid = (0.0, 0.1, 10.0)
    rows = evaluate_methods(test, val, ["matrix", "isotonic"], ZooSettings(strength="cv", grid=grid, folds=3))
    v = load_predictions(val)
    best, _ = zoo.choose_strength("matrix", v.logits, v.labels, grid, 3, 0)
    assert rows[1]["settings"] == f"lam={best:.4g} mu={best:.4g} cv=3-fold"
    assert rows[2]["settings"] == ""  # isotonic regression has no penalty
    with pytest.raises(ValueError, match="recalibration-strength"):
        ZooSettings(strength="auto")
    with pytest.raises(ValueError, match="recalibration-fit"):
        ZooSettings(fit_on="test")


def test_the_table_round_trips_without_intervals(tmp_path: Path) -> None:
    test = write_predictions(tmp_path / "test.parquet", 50, 2.0, seed=0)
    rows = evaluate_methods(test, test, ["histogram"], ZooSettings(bootstrap=0))
    write_rows(tmp_path / "zoo.csv", rows)
    with open(tmp_path / "zoo.csv", newline="") as fh:
        assert tuple(next(csv.reader(fh))) == COLUMNS
    back = read_rows([tmp_path / "zoo.csv"])
    assert back[1]["accuracy"] == pytest.approx(rows[1]["accuracy"]) and back[1]["ece_ci_low"] is None
    assert back[1]["n"] == 50 and back[1]["method"] == "histogram"


@pytest.mark.parametrize(
    "settings,suffix",
    [
        (ZooSettings(), ""),
        (ZooSettings(folds=3), ""),  # folds change nothing with a fixed strength fitted on val
        (ZooSettings(strength="cv"), "+cv"),
        (ZooSettings(strength="cv", folds=10), "+cv-10"),
        (ZooSettings(fit_on="cross-fit"), "+crossfit-5"),
        (ZooSettings(fit_on="cross-fit", folds=2, strength="cv", grid=(0.01, 1.0)), "+crossfit-2+cv+grid-0.01_1"),
        (ZooSettings(strength=0.1), "+odir-0.1"),
        (ZooSettings(strength=1e-5), "+odir-0.00001"),
        (ZooSettings(strength=0), "+odir-0"),
        (ZooSettings(strength=1e16), "+odir-10000000000000000"),  # no exponent: its "+" would split the name
    ],
)
def test_each_zoo_setting_that_changes_a_number_is_in_the_name(settings: ZooSettings, suffix: str) -> None:
    """Issue #28: the defaults keep `recalibration.csv`; every other setting a token; the name gives them back."""
    assert settings.suffix == suffix
    back = ZooSettings.from_suffix(suffix)
    assert back.suffix == suffix and (back.fit_on, back.strength) == (settings.fit_on, settings.strength)
    assert back.grid == settings.grid and (back.folds == settings.folds or not settings.uses_folds)


@pytest.mark.parametrize(
    "suffix", ["+foo", "+odir-0.01", "+odir-1e-05", "+crossfit-2+cv-2", "+cv+crossfit-2", "+odir-x", "cv"]
)
def test_a_name_no_zoo_setting_has_is_an_error(suffix: str) -> None:
    with pytest.raises(ValueError):
        ZooSettings.from_suffix(suffix)
