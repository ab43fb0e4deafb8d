"""The demo workflow under SLURM gives what it gives locally, and every job really ran under SLURM.

One run of the ``calibration`` and ``explain`` targets for the demo model
through ``--profile profiles/slurm`` (plus the test cluster's overlay):
every job is a SLURM job, from writing the demo data and training the model
to the grouped render jobs. Then the same targets run locally in a second
folder that starts from the SLURM run's demo data and trained checkpoint
(training stops on a wall-clock budget, so two trainings differ; nothing
after it may). The outputs must match: metrics.json byte for byte, Parquet
tables exactly (metadata too, apart from timestamps), clip selections and
heatmaps exactly.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cluster.slurm import (
    TEST_PROFILE,
    Cluster,
    job_ids_in_log,
    run_snakemake,
    slurm_job,
    start_mini_workflow_if_wanted,
    submitted_job_ids,
)
from tests.helpers import make_workdir

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

TARGETS = ("calibration", "explain")
GPU_RULES = {"extract_predictions", "explain_clips", "train_demo"}
# Small enough for CI (2 CPUs), big enough to exercise every stage.
TINY = {
    "demo": {"n-train": 64, "n-test": 32, "seed": 0, "train-seconds": 8},
    "bootstrap": 20,
    "classes-to-map": 2,
    "samples-per-class": 1,
}


@dataclass
class Run:
    workdir: Path
    output: str
    seconds: float


@dataclass
class Runs:
    slurm: Run
    local: Run


@pytest.fixture(scope="module")
def runs(slurm_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Runs:
    start_mini_workflow_if_wanted(request)  # it mostly waits on SLURM's polling: overlap it with this run
    wd = make_workdir(tmp_path_factory.mktemp("on_slurm"), TINY)
    start = time.monotonic()
    rc, out = run_snakemake(
        wd,
        "--profile", "profiles/slurm", "--profile", str(TEST_PROFILE), *TARGETS,
        env={"VIDEOXAI_SLURM_PARTITION": slurm_cluster.partition},
        limit_s=900,
    )
    slurm = Run(wd, out, time.monotonic() - start)
    assert rc == 0, f"SLURM run failed (exit {rc}):\n{out[-6000:]}"

    local_wd = make_workdir(tmp_path_factory.mktemp("local"), TINY)
    for name in ("data", "checkpoints"):  # copy2 keeps mtimes: Snakemake sees them as up to date
        shutil.copytree(wd / name, local_wd / name)
    start = time.monotonic()
    rc, out = run_snakemake(local_wd, "--cores", "2", *TARGETS, limit_s=600)
    assert rc == 0, f"local run failed (exit {rc}):\n{out[-6000:]}"
    return Runs(slurm, Run(local_wd, out, time.monotonic() - start))


def result_files(root: Path, pattern: str) -> list[Path]:
    return sorted(p.relative_to(root) for p in (root / "results").rglob(pattern))


def is_timestamp(value: Any) -> bool:
    """An ISO-8601 date-time string, e.g. a 'created' field."""
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def without_timestamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_timestamps(v) for k, v in value.items() if not is_timestamp(v)}
    if isinstance(value, list):
        return [without_timestamps(v) for v in value if not is_timestamp(v)]
    return value


def parquet_metadata(path: Path) -> dict[str, Any]:
    """Schema metadata, JSON values decoded, timestamps dropped."""
    raw = pq.read_schema(path).metadata or {}
    meta = {}
    for k, v in raw.items():
        try:
            meta[k.decode()] = json.loads(v)
        except ValueError:
            meta[k.decode()] = v.decode(errors="replace")
    return without_timestamps(meta)


def table_bytes(path: Path) -> bytes:
    """The table's data as Arrow IPC bytes, schema metadata left out: equal bytes = identical values (NaNs too)."""
    table = pq.read_table(path).combine_chunks()
    table = table.replace_schema_metadata(None)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def rule_of(log: Path) -> str:
    """logs/{rule}/....log or logs/{rule}.log -> rule."""
    return log.parts[0] if len(log.parts) > 1 else log.stem


def test_local_run_reused_the_slurm_runs_checkpoint_only(runs: Runs) -> None:
    """The comparison is fair: the local run trained nothing and made no new data, but ran every later stage."""
    ran = set(re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):$", runs.local.output, re.M))
    assert not ran & {"train_demo", "demo_dataset"}, ran
    assert {"extract_predictions", "calibrate", "select_clips", "explain_clips", "render_clip"} <= ran, ran


def test_metrics_json_identical(runs: Runs) -> None:
    files = result_files(runs.slurm.workdir, "metrics.json")
    assert files and files == result_files(runs.local.workdir, "metrics.json")
    for rel in files:
        assert (runs.slurm.workdir / rel).read_bytes() == (runs.local.workdir / rel).read_bytes(), rel


def test_parquet_identical_apart_from_timestamps(runs: Runs) -> None:
    files = result_files(runs.slurm.workdir, "*.parquet")
    assert len(files) >= 2 and files == result_files(runs.local.workdir, "*.parquet")  # predictions, bins
    for rel in files:
        a, b = runs.slurm.workdir / rel, runs.local.workdir / rel
        assert table_bytes(a) == table_bytes(b), rel
        assert parquet_metadata(a) == parquet_metadata(b), rel


def test_selection_and_heatmaps_identical(runs: Runs) -> None:
    from videoxai.explain.store import load_heatmaps

    selections = result_files(runs.slurm.workdir, "selection.json")
    assert selections and selections == result_files(runs.local.workdir, "selection.json")
    for rel in selections:
        assert (runs.slurm.workdir / rel).read_bytes() == (runs.local.workdir / rel).read_bytes(), rel
    heatmaps = result_files(runs.slurm.workdir, "heatmaps.safetensors")
    assert len(heatmaps) == 2 and heatmaps == result_files(runs.local.workdir, "heatmaps.safetensors")
    for rel in heatmaps:
        a, b = load_heatmaps(runs.slurm.workdir / rel), load_heatmaps(runs.local.workdir / rel)
        assert a.clips == b.clips and a.params == b.params, rel
        for field in ("heatmaps", "temporal_importance", "frames"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=f"{rel}: {field}")


def job_logs(workdir: Path) -> dict[Path, list[str]]:
    """Each rule log (not SLURM's own logs) -> the SLURM job ids it records."""
    logs = workdir / "logs"
    return {
        p.relative_to(logs): job_ids_in_log(p.read_text())
        for p in sorted(logs.rglob("*.log"))
        if rule_of(p.relative_to(logs)) != "slurm"
    }


def test_every_job_ran_under_slurm(runs: Runs, slurm_cluster: Cluster) -> None:
    """Each job's log names the SLURM job it ran in; SLURM ran that job for that rule (or render group)."""
    logs = job_logs(runs.slurm.workdir)
    rules = {rule_of(rel) for rel in logs}
    assert GPU_RULES | {"demo_dataset", "resolve_model", "calibrate", "render_clip"} <= rules, sorted(rules)
    submitted = submitted_job_ids(runs.slurm.output)
    seen: set[str] = set()
    for rel, ids in logs.items():
        assert len(ids) == 1, f"logs/{rel} should record exactly one SLURM_JOB_ID, found {ids}"
        (job_id,) = ids
        job = slurm_job(job_id)
        assert job["JobState"] == "COMPLETED" and job["Partition"] == slurm_cluster.partition, (rel, job)
        rule = rule_of(rel)
        if rule == "render_clip":
            assert submitted.get(job_id, "").startswith("group_render"), f"logs/{rel}: {job_id} is no render bundle"
        else:
            assert submitted.get(job_id) == f"rule_{rule}", f"logs/{rel}: {job_id} was not submitted for {rule}"
            # The plugin's comment: rule_{rule}, then _wildcards_... for rules with wildcards.
            assert re.fullmatch(rf"rule_{rule}(_wildcards_.*)?", job["Comment"]), (rel, job["Comment"])
        seen.add(job_id)
    assert seen == set(submitted), "every submitted SLURM job has a rule log naming it"
    # Local runs record that they were not under SLURM.
    assert all(ids == [] for ids in job_logs(runs.local.workdir).values())


def test_render_clips_were_bundled(runs: Runs) -> None:
    """Grouped render jobs: fewer SLURM jobs than clips rendered."""
    renders = [ids[0] for rel, ids in job_logs(runs.slurm.workdir).items() if rule_of(rel) == "render_clip"]
    assert len(renders) >= 2
    assert len(set(renders)) < len(renders)


def test_gpu_rules_ran_on_a_gres_gpu(runs: Runs) -> None:
    for rel, (job_id,) in job_logs(runs.slurm.workdir).items():
        job = slurm_job(job_id)
        if rule_of(rel) in GPU_RULES:
            assert job["TresPerJob"] == "gres:gpu:1" and job["JOB_GRES"] == "gpu:1", (rel, job)
        else:
            assert job["JOB_GRES"] == "(null)", (rel, job)
