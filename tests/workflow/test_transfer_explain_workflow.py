"""Dataset-transfer options reach every job that sets the model up: the class mapping is a parameter (a CSV
mapping an input) of extraction *and* explanation, so editing a (test, train) pair's mapping reruns both.

(The extraction-side wiring of num-temporal-views and class-mapping is tested in tests/workflow/test_views_and_mapping_workflow.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.helpers import TINY_DEMO, explainer_folder, make_workdir, run_snakemake, selection_name
from videoxai.explain.store import load_heatmaps
from videoxai.io import read_json

pytestmark = pytest.mark.workflow

SMALL = {
    **TINY_DEMO,
    "explainer-method": "grad-cam",
    "classes-to-map": 1,
    "samples-per-class": 1,
    "evaluate": False,
    "num-temporal-views": 2,
    "class-mapping": {"demo": {"demo": {"MoveRight": "MoveRight"}}},
}
EXPLAIN = "results/explain/video_coop/demo/tiny/demo/test+v2"
HEATMAPS = f"{EXPLAIN}/{explainer_folder('grad-cam', SMALL)}/heatmaps.safetensors"
PRED = "results/predictions/video_coop/demo/tiny/demo/test+v2.parquet"


def _set(workdir: Path, **keys) -> None:
    path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg.update(keys)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def _jobs(plan: str) -> dict[str, str]:
    """Dry-run output split into one text block per planned job, keyed by rule name."""
    blocks = re.split(r"\n(?=(?:rule|checkpoint|localrule) \w+:)", plan)
    return {m.group(1): b for b in blocks if (m := re.match(r"(?:rule|checkpoint|localrule) (\w+):", b))}


def test_editing_the_class_mapping_reruns_extraction_and_explanation(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, SMALL)
    run = run_snakemake(workdir, "--cores", "2", HEATMAPS, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    # selected from the two-view predictions, explained over one view
    assert read_json(workdir / f"{EXPLAIN}/{selection_name(SMALL)}")["num_temporal_views"] == 2
    params = load_heatmaps(workdir / HEATMAPS).params
    assert params["num-temporal-views"] == 2 and params["input_spec"]["num_views"] == 1

    # this pair's inline mapping changes: both jobs that call plan_classes have changed parameters
    # (a dry run names only the first reason of a downstream job, so ask for parameter changes directly)
    _set(workdir, **{"class-mapping": {"demo": {"demo": {"MoveRight": "MoveLeft"}}}})
    changed = run_snakemake(workdir, "--list-changes", "params", timeout=300)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert HEATMAPS in changed.stdout and PRED in changed.stdout
    plan = run_snakemake(workdir, "-n", HEATMAPS, timeout=300)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    jobs = _jobs(plan.stdout)
    assert {"extract_predictions", "select_clips", "explain_clips"} <= set(jobs)
    assert "resolve_model" not in jobs and "demo_dataset" not in jobs

    # a CSV mapping is an input of the explain job too
    (workdir / "config" / "mapping.csv").write_text("test,train\nMoveRight,MoveRight\n")
    _set(workdir, **{"class-mapping": {"demo": {"demo": "config/mapping.csv"}}})
    jobs = _jobs(run_snakemake(workdir, "-n", HEATMAPS, timeout=300).stdout)
    assert "config/mapping.csv" in jobs["explain_clips"] and "config/mapping.csv" in jobs["extract_predictions"]
