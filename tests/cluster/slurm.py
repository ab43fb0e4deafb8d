"""Bring the localhost SLURM test cluster up and down, run Snakemake on it, ask SLURM about jobs.

The cluster itself is made by ``.ci/slurm-setup.sh`` (packages, config,
daemons) and stopped by ``.ci/slurm-stop.sh`` (by pid); this module only
drives those scripts and reads SLURM's own records, so the tests check
what the scheduler did rather than what Snakemake says it did.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / ".ci" / "slurm-setup.sh"
STOP = REPO / ".ci" / "slurm-stop.sh"
SLURM_PROFILE = REPO / "profiles" / "slurm"
TEST_PROFILE = REPO / "tests" / "cluster" / "profile"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
CANNOT_INSTALL = 3  # slurm-setup.sh's exit status when the Debian packages cannot be installed


@dataclass(frozen=True)
class Cluster:
    """What slurm-setup.sh reported: where jobs go and which processes are the cluster."""

    node: str
    partition: str
    pids: dict[str, int]


def parse_key_values(text: str) -> dict[str, str]:
    """``key=value`` pairs, one per line (slurm-setup.sh's report); other lines are ignored."""
    pairs = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and " " not in key:
            pairs[key] = value
    return pairs


def start_cluster() -> Cluster:
    """Run slurm-setup.sh (idempotent); skip the calling test only if SLURM cannot be installed here."""
    proc = subprocess.run(["bash", str(SETUP)], check=False, capture_output=True, text=True, timeout=900)
    if proc.returncode == CANNOT_INSTALL:
        pytest.skip(f"SLURM packages cannot be installed here: {proc.stderr.strip().splitlines()[-1]}")
    if proc.returncode != 0:
        raise RuntimeError(f"{SETUP} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    report = parse_key_values(proc.stdout)
    pids = {k.removesuffix("_pid"): int(v) for k, v in report.items() if k.endswith("_pid")}
    if set(pids) != {"munged", "slurmctld", "slurmd"}:
        raise RuntimeError(f"{SETUP} did not report the three daemons' pids:\n{proc.stdout}")
    return Cluster(node=report["node"], partition=report["partition"], pids=pids)


def pid_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return not re.search(r"^State:\s+Z", status, re.MULTILINE)


def stop_cluster(cluster: Cluster) -> str:
    """Run slurm-stop.sh and check that every pid the setup reported is gone."""
    proc = subprocess.run(["bash", str(STOP)], check=False, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{STOP} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    alive = {name: pid for name, pid in cluster.pids.items() if pid_running(pid)}
    if alive:
        raise RuntimeError(f"still running after {STOP}: {alive}")
    return proc.stdout


def parse_scontrol_oneliner(line: str) -> dict[str, str]:
    """Fields of ``scontrol -o show job -d``; the first occurrence of a key wins."""
    fields: dict[str, str] = {}
    for m in re.finditer(r"(?:^|\s)([A-Za-z_:/]+)=(\S*)", line):
        fields.setdefault(m.group(1), m.group(2))
    return fields


def slurm_job(job_id: int | str) -> dict[str, str]:
    """SLURM's record of one job (kept MinJobAge=600 s after it ends; no slurmdbd needed)."""
    proc = subprocess.run(
        ["scontrol", "-o", "show", "job", "-d", str(job_id)], check=False, capture_output=True, text=True, timeout=30
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AssertionError(f"SLURM has no record of job {job_id}: {proc.stderr.strip()}")
    return parse_scontrol_oneliner(proc.stdout.strip().splitlines()[0])


def job_ids_in_log(text: str) -> list[str]:
    """Every ``SLURM_JOB_ID=<n>`` recorded in a log, in order (``none`` outside SLURM is skipped)."""
    return re.findall(r"SLURM_JOB_ID=(\d+)", text)


def submitted_job_ids(snakemake_output: str) -> dict[str, str]:
    """SLURM job id -> what it ran, as Snakemake announced each submission.

    The value is the folder of the job's SLURM log: ``rule_{rule}`` for a
    single job, ``group_{group}_{rules}`` for a bundle of grouped jobs.
    """
    found = re.findall(
        r"has been submitted with SLURM jobid (\d+) \(log: \S*/((?:rule|group)_[^/\s]+)/", snakemake_output
    )
    return dict(found)


def slurm_cpus_by_job(snakemake_output: str) -> dict[str, tuple[str, int]]:
    """SLURM job id -> (rule, threads Snakemake gave it), for single (ungrouped) submitted jobs.

    Joins each top-level ``rule X:`` block (its ``jobid:`` and ``threads:``
    lines; no ``threads:`` line means 1) with the announcement
    ``Job <jobid> has been submitted with SLURM jobid <id>``.
    """
    blocks = re.finditer(r"^(?:rule|checkpoint) (\w+):\n((?:    .*\n)+)", snakemake_output, re.MULTILINE)
    by_jobid = {}
    for m in blocks:
        jobid = re.search(r"^    jobid: (\d+)$", m.group(2), re.MULTILINE)
        threads = re.search(r"^    threads: (\d+)$", m.group(2), re.MULTILINE)
        if jobid:
            by_jobid[jobid.group(1)] = (m.group(1), int(threads.group(1)) if threads else 1)
    found = re.findall(r"^Job (\d+) has been submitted with SLURM jobid (\d+)", snakemake_output, re.MULTILINE)
    return {slurm_id: by_jobid[jobid] for jobid, slurm_id in found if jobid in by_jobid}


class SnakemakeRun:
    """Snakemake started in ``workdir`` in the background; ``wait()`` gives (exit status, output).

    Snakemake ignores SIGTERM, so the time limit sends SIGINT (it then
    cancels its SLURM jobs), and SIGKILL 30 s later if it still runs. The
    output is kept in ``workdir/snakemake.out``.
    """

    def __init__(self, workdir: Path, *args: str, env: dict[str, str] | None = None, limit_s: int = 600):
        self.workdir = workdir
        self.limit_s = limit_s
        self.started = time.monotonic()
        self.seconds: float | None = None
        cmd = ["timeout", "-s", "INT", "-k", "30", str(limit_s), SNAKEMAKE, *args]
        self.log_path = workdir / "snakemake.out"
        self._log = open(self.log_path, "w")
        self._log.write(f"$ {shlex.join(cmd)}\n")
        self._log.flush()
        full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        self.proc = subprocess.Popen(cmd, cwd=workdir, env=full_env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait(self) -> tuple[int, str]:
        rc = self.proc.wait(timeout=self.limit_s + 60)
        if self.seconds is None:
            self.seconds = time.monotonic() - self.started
            self._log.close()
        return rc, self.log_path.read_text()


def run_snakemake(workdir: Path, *args: str, env: dict[str, str] | None = None, limit_s: int = 600) -> tuple[int, str]:
    """Run Snakemake in ``workdir`` to the end; return (exit status, stdout+stderr)."""
    return SnakemakeRun(workdir, *args, env=env, limit_s=limit_s).wait()


def slurm_profile_args() -> list[str]:
    """The profile a user runs with, then the test cluster's overrides layered on top."""
    return ["--profile", str(SLURM_PROFILE), "--profile", str(TEST_PROFILE)]


def start_mini_workflow_if_wanted(request: pytest.FixtureRequest) -> None:
    """Start the ``mini_workflow`` fixture now if any selected test needs it, so it overlaps with the caller."""
    if any("mini_workflow" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("mini_workflow")
