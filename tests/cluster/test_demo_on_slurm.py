"""The demo workflow under SLURM gives what it gives locally, and every job really ran under SLURM.

The ``calibration`` and ``explain`` targets for the demo model (the
checkpoint that ships with the package) run twice from the same config, at
the same time, in two folders laid out as a user's: once through
``--profile profiles/slurm`` (plus the test cluster's overlay), where every
job is a SLURM job, from writing the demo data to the render jobs (one per explainer folder);
once locally. The outputs must match: metrics.json byte for byte, Parquet
tables exactly (metadata too, apart from timestamps), clip selections and
heatmaps exactly. SLURM's own records then show where each job ran.
"""

from __future__ import annotations

import json
import re
from collections import Counter
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
    SnakemakeRun,
    job_ids_in_log,
    slurm_cpus_by_job,
    slurm_job,
    start_mini_workflow_if_wanted,
    submitted_job_ids,
)
from tests.helpers import make_workdir

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

TARGETS = ("calibration", "explain")
GPU_RULES = {"extract_predictions", "explain_clips", "train_demo"}  # profiles/slurm gives these gpu: 1
# One model, small enough for CI (2 CPUs), big enough to exercise every stage. The shipped
# checkpoint, not one trained here: training stops on a wall-clock budget, so
# two trainings would differ.
TINY = {
    "models": ["video_coop/demo/tiny"],
    "train-demo-models": False,
    "demo": {"n-train": 8, "n-test": 32, "seed": 0, "train-seconds": 8},
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
    # All three mostly wait (on SLURM's polling, or for CPUs): run them side by side.
    start_mini_workflow_if_wanted(request)
    on_slurm = SnakemakeRun(
        make_workdir(tmp_path_factory.mktemp("on_slurm"), TINY),
        *("--profile", "profiles/slurm", "--profile", str(TEST_PROFILE), *TARGETS),
        *("--config", "slurm-account=none"),  # the test cluster has no accounts (last: --config takes every word)
        env={"VIDEOXAI_SLURM_PARTITION": slurm_cluster.partition},
        limit_s=900,
    )
    local = SnakemakeRun(make_workdir(tmp_path_factory.mktemp("local"), TINY), "--cores", "2", *TARGETS, limit_s=900)
    done = {}
    for name, run in (("SLURM", on_slurm), ("local", local)):
        rc, out = run.wait()
        assert rc == 0, f"{name} run failed (exit {rc}):\n{out[-6000:]}"
        done[name] = Run(run.workdir, out, run.seconds or 0.0)
    return Runs(done["SLURM"], done["local"])


def result_files(root: Path, pattern: str) -> list[Path]:
    return sorted(p.relative_to(root) for p in (root / "results").rglob(pattern))


def is_timestamp(value: Any) -> bool:
    """An ISO-8601 date-time string, e.g. a 'created' field."""
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value):
        return False
    try:
        datetime.fromisoformat(value)
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


def jobs_run(output: str) -> Counter[str]:
    """Rule -> how many of its jobs a Snakemake run started (grouped jobs included)."""
    return Counter(re.findall(r"^\s*(?:local)?(?:rule|checkpoint) (\w+):$", output, re.MULTILINE))


def test_both_runs_ran_the_same_jobs(runs: Runs) -> None:
    """The comparison is fair: the same jobs, every stage, in both runs."""
    on_slurm, local = jobs_run(runs.slurm.output), jobs_run(runs.local.output)
    assert on_slurm == local
    stages = {"demo_dataset", "resolve_model", "extract_predictions", "calibrate", "select_clips", "explain_clips"}
    assert stages | {"render_explanations", "aggregate_explanations"} <= set(on_slurm), on_slurm


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

    selections = result_files(runs.slurm.workdir, "selection*.json")
    assert selections and selections == result_files(runs.local.workdir, "selection*.json")
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
    """Each job's log names the SLURM job it ran in; SLURM ran that job for that rule."""
    logs = job_logs(runs.slurm.workdir)
    rules = {rule_of(rel) for rel in logs}
    assert {"demo_dataset", "resolve_model", "extract_predictions", "explain_clips", "render_explanations"} <= rules, (
        rules
    )
    submitted = submitted_job_ids(runs.slurm.output)
    seen: set[str] = set()
    for rel, ids in logs.items():
        assert len(ids) == 1, f"logs/{rel} should record exactly one SLURM_JOB_ID, found {ids}"
        (job_id,) = ids
        job = slurm_job(job_id)
        assert job["JobState"] == "COMPLETED" and job["Partition"] == slurm_cluster.partition, (rel, job)
        rule = rule_of(rel)
        assert submitted.get(job_id) == f"rule_{rule}", f"logs/{rel}: {job_id} was not submitted for {rule}"
        # The plugin's comment: rule_{rule}, then _wildcards_... for rules with wildcards.
        assert re.fullmatch(rf"rule_{rule}(_wildcards_.*)?", job["Comment"]), (rel, job["Comment"])
        seen.add(job_id)
    assert seen == set(submitted), "every submitted SLURM job has a rule log naming it"
    # Local runs record that they were not under SLURM.
    assert all(ids == [] for ids in job_logs(runs.local.workdir).values())


def test_one_render_job_per_explainer_folder(runs: Runs) -> None:
    """Every clip of a folder is rendered by one SLURM job: as many render jobs as heatmaps files."""
    renders = [ids[0] for rel, ids in job_logs(runs.slurm.workdir).items() if rule_of(rel) == "render_explanations"]
    assert len(renders) == len(set(renders)) == len(result_files(runs.slurm.workdir, "heatmaps.safetensors"))


def test_gpu_rules_ran_on_a_gres_gpu(runs: Runs) -> None:
    for rel, (job_id,) in job_logs(runs.slurm.workdir).items():
        job = slurm_job(job_id)
        if rule_of(rel) in GPU_RULES:
            assert job["TresPerJob"] == "gres:gpu:1" and job["JOB_GRES"] == "gpu:1", (rel, job)
        else:
            assert job["JOB_GRES"] == "(null)", (rel, job)


def test_threads_became_cpus_per_task(runs: Runs) -> None:
    """SLURM allocated each job the CPUs its rule's threads ask for (decoding workers + 1 for the GPU stages)."""
    jobs = slurm_cpus_by_job(runs.slurm.output)
    assert {rule for rule, _ in jobs.values()} >= {"extract_predictions", "explain_clips"}
    assert any(threads > 1 for _, threads in jobs.values()), "no multi-threaded job: the check proves nothing"
    for job_id, (rule, threads) in jobs.items():
        job = slurm_job(job_id)
        # Allocation is by whole cores, so NumCPUs may round up on a node with hyperthreads.
        assert job["CPUs/Task"] == str(threads) and int(job["NumCPUs"]) >= threads, (rule, job_id, job)
