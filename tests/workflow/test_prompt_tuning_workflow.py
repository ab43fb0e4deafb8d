"""Prompt-tuning's model keys through Snakemake, for real: prompt-tuning run folders, prompt-tuning's checkpoint_paths.json,
the CLIP backbone from an offline Hugging Face cache; resolve → extract → calibration on the tiny demo dataset.

The run folders and the tiny CLIP are ``../shared/origin-fixtures`` (skipped where absent). The Hugging Face
cache is copied into the scratch folder, so the test can give the backbone a new snapshot and see what reruns.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import TINY_DEMO, make_workdir, origin_fixtures, run_snakemake
from videoxai.extract.predictions import load_predictions
from videoxai.models.checkpoints.files import sha256_file

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

KEYS = ["video_coop/ucf101/best-attention-0", "stt/ucf101/best-mean"]
REPO = "models--openai--clip-vit-base-patch16"


def hf_env(wd: Path) -> dict[str, str]:
    return {"HF_HOME": str(wd / "hf-home"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def runs_workdir(dest: Path) -> Path:
    """A scratch workflow for prompt-tuning's keys, with a copy of the fixtures' Hugging Face cache."""
    fixtures = origin_fixtures()
    wd = make_workdir(dest, {**TINY_DEMO, "models": KEYS, "checkpoint-paths": str(fixtures / "checkpoint_paths.json")})
    shutil.copytree(fixtures / "hf-home", wd / "hf-home")
    return wd


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wd = runs_workdir(tmp_path_factory.mktemp("runs"))
    proc = run_snakemake(wd, "--cores", "2", "calibration", env=hf_env(wd))
    (wd / "first_run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return wd


@pytest.mark.parametrize("key", KEYS)
def test_resolved_names_the_run_and_its_backbone(workdir: Path, key: str) -> None:
    fixtures = origin_fixtures()
    r = json.loads((workdir / f"results/models/{key}/resolved.json").read_text())
    assert r["format"] == "prompt-tuning-run" and r["method"] == key.split("/")[0]
    assert r["checkpoint"] == str(fixtures / "runs" / key / "best.pt")
    bb = r["backbone"]
    snapshot = workdir / "hf-home/hub" / REPO / "snapshots" / bb["revision"]
    assert bb["name"] == "openai/clip-vit-base-patch16" and bb["path"] == str(snapshot)
    assert bb["files"]["model.safetensors"] == sha256_file(snapshot / "model.safetensors")


@pytest.mark.parametrize("key", KEYS)
def test_prompt_tuning_models_score_the_demo_classes(workdir: Path, key: str) -> None:
    """Open-set: the CLIP families take the test set's class names; every clip is scored."""
    preds = load_predictions(workdir / f"results/predictions/{key}/demo/test.parquet")
    test_list = (workdir / "data/demo/testlist01.txt").read_text().split()
    assert len(preds.sample_ids) == len(test_list) == 8 and preds.num_errors == 0
    assert preds.class_names == preds.metadata["test_class_names"] and len(preds.class_names) == 8
    assert preds.logits.shape == (8, 8) and np.isfinite(preds.logits).all()
    resolved = json.loads((workdir / f"results/models/{key}/resolved.json").read_text())
    assert preds.metadata["checkpoint_sha256"] == resolved["sha256"]
    metrics = json.loads((workdir / f"results/calibration/{key}/demo/test/metrics.json").read_text())
    assert 0.0 <= metrics["ece"] <= 1.0


def test_nothing_to_do_then_a_new_backbone_snapshot_reruns_resolve_and_after(workdir: Path) -> None:
    proc = run_snakemake(workdir, "-n", "calibration", env=hf_env(workdir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr

    # the Hub moved on: a new snapshot of the backbone (same files, new commit), refs/main points at it
    repo = workdir / "hf-home/hub" / REPO
    old = (repo / "refs/main").read_text().strip()
    # a commit-like id (forty zeros would look like a runaway wildcard to Snakemake, in the backbone record's name)
    new = "0123456789abcdef" * 2 + "01234567"
    shutil.copytree(repo / "snapshots" / old, repo / "snapshots" / new)
    (repo / "refs/main").write_text(new)
    try:
        proc = run_snakemake(workdir, "-n", "calibration", env=hf_env(workdir))
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:", 1)[1], re.MULTILINE))
        assert jobs.get("resolve_model") == str(len(KEYS)), out[-3000:]
        assert jobs.get("extract_predictions") == str(len(KEYS)) and "calibrate" in jobs
    finally:
        (repo / "refs/main").write_text(old)
        shutil.rmtree(repo / "snapshots" / new)


def test_a_bad_run_fails_in_resolve_naming_the_file_and_writes_nothing(workdir: Path) -> None:
    """An unknown method: the resolve job fails with the file and the fix; no resolved.json."""
    fixtures = origin_fixtures()
    key = "action_clip/ucf101/best-mean"
    run = workdir / "runs" / key
    shutil.copytree(fixtures / "runs/video_coop/ucf101/best-mean", run)
    proc = run_snakemake(
        workdir,
        "--cores",
        "1",
        f"results/models/{key}/resolved.json",
        "--config",
        f"models=[{key}]",
        f"checkpoint-paths={{{key}: {run}}}",
        env=hf_env(workdir),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert str(run / "config.json") in out and "video_coop, dual_coop, stt, vidop, vilt, vita" in out, out[-3000:]
    assert not (workdir / f"results/models/{key}").exists() or not any((workdir / f"results/models/{key}").iterdir())


@pytest.mark.parametrize(
    "override, expected",
    [
        (["checkpoint-paths=/nowhere/checkpoint_paths.json"], ["checkpoint-paths", "/nowhere/checkpoint_paths.json"]),
        (["checkpoint-file={video_coop/ucf101/best-attention-0: ../best.pt}"], ["checkpoint-file"]),
        (["checkpoint-file={video_coop/ucf101/best-attention-0: 7.pt}"], ["'7.pt' is not a file of", "1.pt, best.pt"]),
    ],
)
def test_checkpoint_settings_are_checked_while_planning(
    tmp_path: Path, override: list[str], expected: list[str]
) -> None:
    wd = runs_workdir(tmp_path / "wd")
    proc = run_snakemake(wd, "-n", "calibration", "--config", *override, env=hf_env(wd))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for text in expected:
        assert text in out, out[-3000:]


def test_checkpoint_file_and_the_backbone_are_inputs_of_resolve(tmp_path: Path) -> None:
    wd = runs_workdir(tmp_path / "wd")
    proc = run_snakemake(
        wd, "-n", "calibration", "--config", "checkpoint-file={stt/ucf101/best-mean: 1.pt}", env=hf_env(wd)
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    fixtures = origin_fixtures()
    inputs = [line for line in out.splitlines() if line.strip().startswith("input:") and "best" in line]
    stt = next(line for line in inputs if "/stt/" in line)
    coop = next(line for line in inputs if "/video_coop/" in line)
    assert str(fixtures / "runs/stt/ucf101/best-mean/1.pt") in stt
    assert str(fixtures / "runs/video_coop/ucf101/best-attention-0/best.pt") in coop
    # the backbone through the record of its files (backbone_record, whose inputs they are)
    revision = (wd / "hf-home/hub" / REPO / "refs/main").read_text().strip()
    record = f"results/models/backbones/openai--clip-vit-base-patch16@{revision}.json"
    assert record in stt and record in coop
    snapshot = wd / "hf-home/hub" / REPO / "snapshots" / revision
    (files,) = [line for line in out.splitlines() if line.strip().startswith("input:") and str(snapshot) in line]
    assert str(snapshot / "model.safetensors") in files
