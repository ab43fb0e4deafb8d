"""Workflow wiring of ``precision``: a +bf16 file suffix, the stages' autocast, float32 files untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import TINY_DEMO, make_workdir, run_snakemake
from videoxai.extract.predictions import load_predictions

pytestmark = pytest.mark.workflow

PRED = "results/predictions/video_coop/demo/tiny/demo/{split}.parquet"


def test_bfloat16_predictions_have_their_own_file_and_the_float32_ones_do_not_rerun(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, TINY_DEMO)
    full = PRED.format(split="test")
    run = run_snakemake(workdir, "--cores", "2", full, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    low = PRED.format(split="test+bf16")
    run = run_snakemake(workdir, "--cores", "2", low, timeout=600)  # the file name alone says bfloat16
    assert run.returncode == 0, run.stdout + run.stderr
    a, b = load_predictions(workdir / full), load_predictions(workdir / low)
    assert a.metadata["precision"] == "float32" and b.metadata["precision"] == "bfloat16"
    assert b.metadata["options"]["precision"] == "bfloat16" and "precision" not in a.metadata["options"]
    assert a.sample_ids == b.sample_ids and not np.array_equal(a.logits, b.logits)
    plan = run_snakemake(workdir, "-n", full, low, "--config", "precision=bfloat16", timeout=300)
    assert plan.returncode == 0 and "Nothing to be done" in plan.stdout, plan.stdout + plan.stderr


def test_compile_true_plans_compiled_predictions_of_their_own(tmp_path: Path) -> None:
    """The config's ``compile: true`` names the predictions ``+compiled`` (tests/unit/test_compile.py runs one)."""
    workdir = make_workdir(tmp_path, TINY_DEMO)
    plan = run_snakemake(workdir, "-n", "--config", "compile=True", "precision=bfloat16", timeout=300)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert PRED.format(split="test+bf16+compiled") in plan.stdout
    assert PRED.format(split="test") not in plan.stdout
