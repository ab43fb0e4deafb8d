"""profiles/slurm on a real SLURM: jobs, logs, GPU requests, failures and retries.

A tiny workflow (tests/cluster/mini/Snakefile) runs once through
``--profile profiles/slurm`` plus the test cluster's overrides, with the
repository's profiles/ in the working folder as a user has them. The
tests then ask SLURM itself (``scontrol``) what ran, where and how it ended.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from snakemake.profiles import ProfileConfigFileParser

from tests.cluster.slurm import SLURM_PROFILE, Cluster, SnakemakeRun, job_ids_in_log, slurm_job, submitted_job_ids

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@dataclass
class MiniRun:
    workdir: Path
    returncode: int
    output: str


def profile_retries() -> int:
    # the profile reads slurm-account from the command line it is loaded for: give it the run's
    argv = sys.argv
    sys.argv = ["snakemake", "--config", "slurm-account=none"]
    try:
        with open(SLURM_PROFILE / "config.yaml") as f:
            return int(ProfileConfigFileParser().parse(f)["retries"])
    finally:
        sys.argv = argv


@pytest.fixture(scope="module")
def mini_run(mini_workflow: SnakemakeRun) -> MiniRun:
    rc, out = mini_workflow.wait()
    return MiniRun(mini_workflow.workdir, rc, out)


def test_workflow_fails_only_because_of_the_doomed_rule(mini_run: MiniRun) -> None:
    assert mini_run.returncode != 0, mini_run.output[-4000:]
    assert mini_run.returncode != 124, f"timed out:\n{mini_run.output[-4000:]}"
    out = mini_run.workdir / "out"
    for name in ("cpu.txt", "gpu.txt", "flaky.txt"):
        assert (out / name).is_file(), f"{name} missing:\n{mini_run.output[-4000:]}"
    assert not (out / "doomed.txt").exists()
    assert "Error in rule doomed" in mini_run.output


def test_every_job_ran_under_slurm(mini_run: MiniRun, slurm_cluster: Cluster) -> None:
    """Each rule's log names a SLURM job that SLURM ran for this workflow, on our partition."""
    submitted = submitted_job_ids(mini_run.output)
    for rule in ("cpu_step", "explain_clips", "flaky", "doomed"):
        ids = job_ids_in_log((mini_run.workdir / "logs" / f"{rule}.log").read_text())
        assert ids, f"logs/{rule}.log records no SLURM_JOB_ID"
        for job_id in ids:
            assert submitted.get(job_id) == f"rule_{rule}", (
                f"job {job_id} in logs/{rule}.log was not submitted for {rule}"
            )
            job = slurm_job(job_id)
            assert job["Comment"] == f"rule_{rule}"
            assert job["Partition"] == slurm_cluster.partition
            assert job["NodeList"] == slurm_cluster.node
            assert (mini_run.workdir / "logs" / "slurm" / f"rule_{rule}" / f"{job_id}.log").is_file()
    assert len(submitted) == 2 + 2 + 1 + profile_retries()


def test_gpu_rule_gets_a_gres_gpu_and_others_do_not(mini_run: MiniRun) -> None:
    """profiles/slurm's set-resources turns explain_clips into a GPU job; SLURM allocates gres gpu:1."""
    logs = mini_run.workdir / "logs"
    (gpu_id,) = job_ids_in_log((logs / "explain_clips.log").read_text())
    gpu_job = slurm_job(gpu_id)
    assert gpu_job["TresPerJob"] == "gres:gpu:1"
    assert gpu_job["JOB_GRES"] == "gpu:1"
    assert "CUDA_VISIBLE_DEVICES=0" in (logs / "explain_clips.log").read_text()

    (cpu_id,) = job_ids_in_log((logs / "cpu_step.log").read_text())
    cpu_job = slurm_job(cpu_id)
    assert cpu_job["JOB_GRES"] == "(null)"
    assert "CUDA_VISIBLE_DEVICES=none" in (logs / "cpu_step.log").read_text()


def test_failed_job_is_reported_and_retried(mini_run: MiniRun) -> None:
    """flaky: first SLURM job FAILED, Snakemake said so and resubmitted; the second COMPLETED."""
    attempts = (mini_run.workdir / "attempts" / "flaky.txt").read_text().split()
    assert len(attempts) == 2 and len(set(attempts)) == 2, attempts
    first, second = (slurm_job(j) for j in attempts)
    assert first["JobState"] == "FAILED"
    assert first["ExitCode"] != "0:0"
    assert second["JobState"] == "COMPLETED"
    assert f"SLURM-job '{attempts[0]}' failed, SLURM status is: 'FAILED'" in mini_run.output
    assert "Error in rule flaky" in mini_run.output
    assert "attempt 2: ok" in (mini_run.workdir / "logs" / "flaky.log").read_text()


def test_persistent_failure_stops_after_the_profiles_retries(mini_run: MiniRun) -> None:
    attempts = (mini_run.workdir / "attempts" / "doomed.txt").read_text().split()
    assert len(attempts) == 1 + profile_retries()
    assert len(set(attempts)) == len(attempts)
    for job_id in attempts:
        assert slurm_job(job_id)["JobState"] == "FAILED"
        assert f"SLURM-job '{job_id}' failed" in mini_run.output
