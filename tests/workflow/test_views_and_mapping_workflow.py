"""Workflow wiring of num-temporal-views (a +v{V} file suffix) and class-mapping (a rule parameter)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import TINY_DEMO, make_workdir, run_snakemake
from videoxai.extract.predictions import load_predictions

pytestmark = pytest.mark.workflow

SMALL = TINY_DEMO
PRED = "results/predictions/video_coop/demo/tiny/demo/{split}.parquet"


def _set(workdir: Path, **keys) -> None:
    path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    cfg.update(keys)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))


def _planned(proc) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.parametrize(
    "override",
    [{"demo": {"ucf101": ["MoveRight"]}}, {"hmdb51": {"ucf101": {"a": "B"}}}],
    ids=["not-a-mapping", "unknown-test-dataset"],
)
def test_bad_class_mapping_stops_before_any_job(tmp_path: Path, override: dict) -> None:
    workdir = make_workdir(tmp_path, {**SMALL, "class-mapping": override})
    proc = run_snakemake(workdir, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "class-mapping" in out, out


def test_views_suffix_the_files_and_the_mapping_reruns_only_its_pair(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, {**SMALL, "num-temporal-views": 2, "use-augmentation": True})
    target = PRED.format(split="test+tta+v2")
    run = run_snakemake(workdir, "--cores", "2", target, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    meta = load_predictions(workdir / target).metadata
    assert meta["num_temporal_views"] == 2 and meta["options"]["num-temporal-views"] == 2 and meta["tta"]
    # another model's training dataset: not this job's parameter, nothing reruns
    _set(workdir, **{"class-mapping": {"demo": {"ucf101": {"MoveRight": "Biking"}}}})
    assert "Nothing to be done" in _planned(run_snakemake(workdir, "-n", target, timeout=300))
    # this pair's mapping: a changed parameter of the extraction job; the config's split carries +tta+v2
    _set(workdir, **{"class-mapping": {"demo": {"demo": {"MoveRight": "MoveRight"}}}})
    plan = _planned(run_snakemake(workdir, "-n", "calibration", timeout=300))
    assert f"output: {target}" in plan and "Params have changed" in plan
    assert "demo/test+tta+v2/metrics.json" in plan
    assert "rule resolve_model:" not in plan and "rule demo_dataset:" not in plan
