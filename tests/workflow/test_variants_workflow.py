"""Two analysis variants of the same model side by side, for real: the demo, then again with other settings.

A result's identity is every setting that changes its numbers (videoxai.keys.SplitVariant): the second run
(conventions, n-bins, temperature scaling changed) writes its files beside the first run's and changes none of
them; going back to the first settings has nothing to do.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.helpers import TINY_DEMO, make_workdir, run_snakemake

pytestmark = pytest.mark.workflow

SMALL = {**TINY_DEMO, "explainer-method": "attention-rollout"}
CALIB = "results/calibration/video_coop/demo/tiny/demo"
VARIANT = ["conventions=prompt-tuning", "n-bins=10", "temperature-scaling=True"]


def snapshot(workdir: Path) -> dict[str, tuple[bytes, int]]:
    """Every result and figure file: its bytes and modification time."""
    return {
        str(p.relative_to(workdir)): (p.read_bytes(), p.stat().st_mtime_ns)
        for top in ("results", "figures")
        for p in sorted((workdir / top).rglob("*"))
        if p.is_file() and "wandb" not in p.parts
    }


def test_a_second_variant_leaves_the_first_intact(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, SMALL)
    first = run_snakemake(workdir, "--cores", "2", "calibration", timeout=900)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    before = snapshot(workdir)
    assert f"{CALIB}/test/metrics.json" in before

    second = run_snakemake(workdir, "--cores", "2", "calibration", "--config", *VARIANT, timeout=900)
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    after = snapshot(workdir)
    # every file of the first variant is there, byte for byte and untouched (the summaries cover both: see below)
    summaries = {p for p in before if "summary" in p or "comparison" in p}
    assert {p: v for p, v in after.items() if p in before and p not in summaries} == {
        p: v for p, v in before.items() if p not in summaries
    }
    metrics = json.loads((workdir / f"{CALIB}/test+pt+b10+ts/metrics.json").read_text())
    assert metrics["n_bins"] == 10 and metrics["convention"] == "prompt-tuning"
    assert metrics["temperature_source"] == "fitted" and metrics["temperature_scaled"]
    first_metrics = json.loads((workdir / f"{CALIB}/test/metrics.json").read_text())
    assert first_metrics["n_bins"] == 15 and first_metrics["convention"] == "standard"
    # the demo is in UCF101's layout, where prompt-tuning's label order differs: predictions of their own (+pt);
    # temperature scaling fits on the val split's
    preds = "results/predictions/video_coop/demo/tiny/demo"
    assert {f"{preds}/test+pt.parquet", f"{preds}/val+pt.parquet"} <= set(after)
    assert f"{preds}/test.parquet" in before

    # the summary holds both variants, their settings in columns; the comparison figure is made again
    rows = {r["variant"]: r for r in csv.DictReader((workdir / "results/calibration/summary.csv").open())}
    assert set(rows) == {"test", "test+pt+b10+ts"}
    assert (rows["test"]["convention"], rows["test"]["n_bins"], rows["test"]["ts_temperature"]) == (
        "standard",
        "15",
        "",
    )
    assert (rows["test+pt+b10+ts"]["convention"], rows["test+pt+b10+ts"]["n_bins"]) == ("prompt-tuning", "10")
    assert float(rows["test+pt+b10+ts"]["ts_temperature"]) > 0
    assert rows["test"]["label"] == "video_coop/demo/tiny on demo (test)"
    assert after["figures/calibration/comparison.png"] != before["figures/calibration/comparison.png"]

    # back to the first settings: both variants are there, and so is the summary of both
    again = run_snakemake(workdir, "-n", "calibration", timeout=300)
    assert again.returncode == 0, again.stderr
    assert "Nothing to be done" in again.stdout + again.stderr


def test_a_calibration_setting_reuses_the_predictions(tmp_path: Path) -> None:
    """n-bins alone changes no prediction: the new variant is one calibration job (and the summary)."""
    workdir = make_workdir(tmp_path, SMALL)
    plan = run_snakemake(workdir, "-n", "calibration", "--config", "n-bins=7", timeout=300)
    assert plan.returncode == 0, plan.stderr
    assert f"{CALIB}/test+b7/metrics.json" in plan.stdout
    assert "results/predictions/video_coop/demo/tiny/demo/test.parquet" in plan.stdout
    assert "test+b7.parquet" not in plan.stdout


def test_another_checkpoint_file_is_a_variant_of_its_own(tmp_path: Path) -> None:
    """checkpoint-file picks another weights file of a prompt-tuning run folder: its resolved.json, predictions and
    calibration sit beside those of the folder's default file (best.pt), which stay as they were."""
    from tests.workflow.test_prompt_tuning_workflow import hf_env, runs_workdir

    key = "stt/ucf101/best-mean"
    workdir = runs_workdir(tmp_path / "wd")
    models = [f"models=[{key}]", "explainer-method=attention-rollout"]
    first = run_snakemake(workdir, "--cores", "2", "calibration", "--config", *models, env=hf_env(workdir))
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    before = snapshot(workdir)
    other = [*models, f"checkpoint-file={{{key}: 1.pt}}"]
    second = run_snakemake(workdir, "--cores", "2", "calibration", "--config", *other, env=hf_env(workdir))
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    after = snapshot(workdir)
    assert {p: v for p, v in after.items() if p in before and "summary" not in p and "comparison" not in p} == {
        p: v for p, v in before.items() if "summary" not in p and "comparison" not in p
    }
    default = json.loads((workdir / f"results/models/{key}/resolved.json").read_text())
    chosen = json.loads((workdir / f"results/models/{key}/resolved+ckpt-1.pt.json").read_text())
    assert default["checkpoint"].endswith("/best.pt") and chosen["checkpoint"].endswith("/1.pt")
    assert f"results/predictions/{key}/demo/test+ckpt-1.pt.parquet" in after
    rows = list(csv.DictReader((workdir / "results/calibration/summary.csv").open()))
    assert sorted((r["variant"], r["checkpoint-file"]) for r in rows) == [("test", ""), ("test+ckpt-1.pt", "1.pt")]
