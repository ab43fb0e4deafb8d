"""Calibration under shift through the workflow: corrupted split variants extracted and calibrated like the clean one."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.helpers import TINY_DEMO, make_workdir, run_snakemake
from videoxai.extract.predictions import load_predictions

pytestmark = pytest.mark.workflow

PRED = "results/predictions/video_coop/demo/tiny/demo/{split}.parquet"
METRICS = "results/calibration/video_coop/demo/tiny/demo/{split}/metrics.json"


def _set(workdir: Path, **keys) -> None:
    path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg.update(keys)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def test_corruptions_are_split_variants_with_their_own_predictions(tmp_path: Path) -> None:
    shift = {"corruptions": {"contrast": [1, 5], "motion_blur": [2]}, "recalibration": ["temperature", "dirichlet"]}
    workdir = make_workdir(tmp_path, {**TINY_DEMO, **shift})
    run = run_snakemake(workdir, "--cores", "2", "calibration", timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    accuracy = {}
    for split in ("test", "test+contrast-1", "test+contrast-5", "test+motion_blur-2"):
        meta = load_predictions(workdir / PRED.format(split=split)).metadata
        if split == "test":
            assert meta["corruption"] is None and "corruption" not in meta["options"]
        else:
            name, severity = split.split("+")[1].rsplit("-", 1)
            assert meta["corruption"] == {"name": name, "severity": int(severity), "seed": 0}
        accuracy[split] = json.loads((workdir / METRICS.format(split=split)).read_text())["accuracy"]
    assert accuracy["test+contrast-5"] < accuracy["test"]  # the demo model cannot see its shapes at 10% contrast
    with open(workdir / "results/calibration/summary.csv", newline="") as fh:
        labels = [row["label"] for row in csv.DictReader(fh)]
    assert labels == [
        "video_coop/demo/tiny on demo (test)",
        "video_coop/demo/tiny on demo (test+contrast-1)",
        "video_coop/demo/tiny on demo (test+contrast-5)",
        "video_coop/demo/tiny on demo (test+motion_blur-2)",
    ]
    # every method fitted on the clean val split, scored on every split beside the logits as extracted
    with open(workdir / "results/calibration/shift.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["corruption"], r["severity"], r["method"]) for r in rows] == [
        (c, s, m)
        for c, s in (("none", "0"), ("contrast", "1"), ("contrast", "5"), ("motion_blur", "2"))
        for m in ("none", "temperature", "dirichlet")
    ]
    none = {(r["corruption"], r["severity"]): float(r["accuracy"]) for r in rows if r["method"] == "none"}
    assert none[("contrast", "5")] == accuracy["test+contrast-5"]
    assert (workdir / "figures/calibration/shift.png").stat().st_size > 10_000
    assert (workdir / PRED.format(split="val")).is_file()  # the clean val split, fitted once for every split
    assert not (workdir / PRED.format(split="val+contrast-5")).exists()
    # a new seed reruns the corrupted extractions only
    _set(workdir, **{"corruption-seed": 1})
    plan = run_snakemake(workdir, "-n", "calibration", timeout=300)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"output: {PRED.format(split='test+contrast-5')}" in plan.stdout
    assert f"output: {PRED.format(split='test')}\n" not in plan.stdout


def test_cross_fitting_needs_no_val_split_and_records_its_folds(tmp_path: Path) -> None:
    """recalibration-fit: cross-fit (Kull et al. 2019): the zoo fitted in folds of the clean test split, the ODIR
    strength chosen by cross-validation; no val split is extracted; a reliability diagram per method."""
    methods = ["temperature", "matrix", "ets", "irm", "spline"]
    zoo_config = {
        "recalibration": methods,
        "recalibration-fit": "cross-fit",
        "recalibration-folds": 2,
        "recalibration-strength": "cv",
        "recalibration-grid": [0.01, 1.0],
        "corruptions": {"contrast": [5]},
    }
    workdir = make_workdir(tmp_path, {**TINY_DEMO, **zoo_config})
    run = run_snakemake(workdir, "--cores", "2", "calibration", timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert not (workdir / PRED.format(split="val")).exists()
    for split in ("test", "test+contrast-5"):
        # the zoo's settings in the name (issue #28): cross-fit in 2 folds, cv's strength over its own grid
        name = "recalibration+crossfit-2+cv+grid-0.01_1"
        with open(workdir / f"results/calibration/video_coop/demo/tiny/demo/{split}/{name}.csv") as fh:
            rows = {r["method"]: r for r in csv.DictReader(fh)}
        assert list(rows) == ["none", *methods]
        assert all(rows[m]["fitted_on"] == "cross-fit (2 folds of test)" for m in methods)
        assert {(r["strength"], r["folds"], r["grid"]) for r in rows.values()} == {("cv", "2", "0.01 1.0")}
        assert rows["matrix"]["settings"].count("cv=") == 2  # a strength chosen in each fold's fitting clips
        assert all(
            float(r["accuracy_ci_low"]) <= float(r["accuracy"]) <= float(r["accuracy_ci_high"]) for r in rows.values()
        )
        figure = workdir / f"figures/calibration/video_coop/demo/tiny/demo-{split}/{name}.png"
        assert figure.stat().st_size > 20_000 and figure.with_suffix(".pdf").is_file()


ZOO = "results/calibration/video_coop/demo/tiny/demo/test/recalibration{suffix}.csv"


def test_a_second_zoo_setting_never_overwrites_the_first(tmp_path: Path) -> None:
    """The zoo's settings are part of its table's name (issue #28): the default config keeps `recalibration.csv`, a
    fixed ODIR strength of 0.1 writes `recalibration+odir-0.1.csv` beside it, and the first table stays as it was."""
    workdir = make_workdir(tmp_path, {**TINY_DEMO, "recalibration": ["temperature", "vector"]})
    plan = run_snakemake(workdir, "-n", "calibration", timeout=300)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"output: {ZOO.format(suffix='')}," in plan.stdout  # the default config: today's path exactly
    first = workdir / ZOO.format(suffix="")
    run = run_snakemake(workdir, "--cores", "2", ZOO.format(suffix=""), timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    before = first.read_bytes()
    _set(workdir, **{"recalibration-strength": 0.1})
    second = workdir / ZOO.format(suffix="+odir-0.1")
    run = run_snakemake(workdir, "--cores", "2", ZOO.format(suffix="+odir-0.1"), timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert first.read_bytes() == before
    tables = {}
    for path in (first, second):
        with open(path, newline="") as fh:
            tables[path] = {r["method"]: r for r in csv.DictReader(fh)}
    assert tables[first]["vector"]["settings"] == "mu=0.01" and tables[first]["vector"]["strength"] == "0.01"
    assert tables[second]["vector"]["settings"] == "mu=0.1" and tables[second]["vector"]["strength"] == "0.1"
    assert tables[first]["vector"]["nll"] != tables[second]["vector"]["nll"]
    assert tables[first]["temperature"]["nll"] == tables[second]["temperature"]["nll"]  # no penalty to change
    assert (workdir / "figures/calibration/video_coop/demo/tiny/demo-test/recalibration+odir-0.1.png").is_file()
    # back to the default: its table is up to date; the shift table reads the configured variant's
    _set(workdir, **{"recalibration-strength": 0.01})
    plan = run_snakemake(workdir, "-n", ZOO.format(suffix=""), timeout=300)
    assert plan.returncode == 0 and "recalibrate" not in plan.stdout, plan.stdout


def test_an_unknown_corruption_stops_before_any_job(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, {**TINY_DEMO, "corruptions": {"snow": [1]}})
    proc = run_snakemake(workdir, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "corruptions" in out and "snow" in out, out


SHIFT_CONFIG = Path(__file__).resolve().parents[2] / ".test" / "config" / "shift.yaml"


@pytest.mark.slow
def test_the_documented_shift_config_makes_every_box_line_and_zoo_row(tmp_path: Path) -> None:
    """.test/config/shift.yaml over the tiny demo: the demo's models and their ensemble, three corruptions at every
    severity, every recalibration method; the box plots, a line plot (CSV, LaTeX) per corruption and the zoo
    tables hold every (model, method, severity), and the ensemble's shifted split mixes its members' shifted ones."""
    shift = yaml.safe_load(SHIFT_CONFIG.read_text())
    workdir = make_workdir(tmp_path, TINY_DEMO)
    (workdir / "config" / "shift.yaml").write_text(SHIFT_CONFIG.read_text())
    run = run_snakemake(workdir, "--cores", "2", "calibration", "--configfile", "config/shift.yaml", timeout=3000)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    models = [*shift["models"], *shift["mixtures"]]
    methods = ["none", *shift["recalibration"]]
    shifts = [("none", 0)] + [(c, s) for c, severities in shift["corruptions"].items() for s in severities]
    assert len(shift["corruptions"]) >= 3 and all(sorted(s) == [1, 2, 3, 4, 5] for s in shift["corruptions"].values())
    with open(workdir / "results/calibration/shift.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    got = {(r["model"], r["corruption"], int(r["severity"]), r["method"]) for r in rows}
    assert got == {(m, c, s, k) for m in models for c, s in shifts for k in methods} and len(rows) == len(got)
    for name in ("shift.png", "shift.pdf"):
        assert (workdir / "figures/calibration" / name).stat().st_size > 10_000
    for corruption in shift["corruptions"]:
        base = workdir / "figures/calibration/shift" / corruption
        assert base.with_suffix(".png").stat().st_size > 10_000 and base.with_suffix(".pdf").is_file()
        with open(base.with_suffix(".csv"), newline="") as fh:
            lines = list(csv.DictReader(fh))
        assert sorted((r["model"], r["method"], int(r["severity"])) for r in lines) == sorted(
            (m, k, s) for m in models for k in methods for s in range(6)
        )
        tex = base.with_suffix(".tex").read_text()
        assert tex.count(r"\\") - 1 == len(lines)  # a row per line, after the header
    # the zoo table and its reliability diagrams of every split: each method fitted on the clean val split
    for model in models:
        for c, s in shifts:
            split = "test" if c == "none" else f"test+{c}-{s}"
            with open(workdir / f"results/calibration/{model}/demo/{split}/recalibration.csv", newline="") as fh:
                assert [r["method"] for r in csv.DictReader(fh)] == methods
            assert (workdir / f"figures/calibration/{model}/demo-{split}/recalibration.png").stat().st_size > 20_000
    # the transfer matrix: every model on the demo, its accuracy that of its clean zoo table's `none` row
    with open(workdir / "results/calibration/transfer.csv", newline="") as fh:
        transfer = {r["model"]: r for r in csv.DictReader(fh)}
    assert sorted(transfer) == sorted(models) and {r["test"] for r in transfer.values()} == {"demo"}
    clean = {r["model"]: r for r in rows if r["corruption"] == "none" and r["method"] == "none"}
    for model, cell in transfer.items():
        assert float(cell["accuracy"]) == pytest.approx(float(clean[model]["accuracy"]))
        assert float(cell["ece_ci_low"]) <= float(cell["ece_ci_high"])
    assert (workdir / "figures/calibration/transfer.png").stat().st_size > 10_000
    assert "demo" in (workdir / "results/calibration/transfer.tex").read_text()
    # the ensemble under contrast 5 is the mean of its members' probabilities under contrast 5
    split = "test+contrast-5"
    members = [load_predictions(workdir / f"results/predictions/{m}/demo/{split}.parquet") for m in shift["models"]]
    mixed = load_predictions(workdir / f"results/predictions/mixture/demo/ensemble/demo/{split}.parquet")
    assert mixed.metadata["corruption"] == {"name": "contrast", "severity": 5, "seed": 0}
    assert all(m.sample_ids == mixed.sample_ids for m in members)
    p = sum(
        np.exp(m.logits - m.logits.max(1, keepdims=True))
        / np.exp(m.logits - m.logits.max(1, keepdims=True)).sum(1, keepdims=True)
        for m in members
    ) / len(members)
    row = next(
        r
        for r in rows
        if r["model"] == "mixture/demo/ensemble"
        and (r["corruption"], r["severity"], r["method"]) == ("contrast", "5", "none")
    )
    assert float(row["accuracy"]) == pytest.approx(float((p.argmax(1) == mixed.labels).mean()))
