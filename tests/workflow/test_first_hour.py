"""What a new user runs into in the first hour gets one line that names the fix (README, "Messages")."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO, SNAKEMAKE, TINY_DEMO, make_workdir

pytestmark = pytest.mark.workflow


def _snakemake(wd: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if path is not None:
        env["PATH"] = path
    return subprocess.run([SNAKEMAKE, *args], cwd=wd, env=env, capture_output=True, text=True, timeout=300)


def _path_without_slurm(tools: Path) -> Path:
    """A folder of links to every command on PATH but SLURM's (CI installs SLURM for tests/cluster)."""
    tools.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            link = tools / name
            if not name.startswith(("sbatch", "srun", "squeue", "sacct", "scontrol", "sinfo", "scancel")) and not (
                link.exists() or link.is_symlink()
            ):
                link.symlink_to(os.path.join(folder, name))
    return tools


def test_a_target_after_configfile_gets_one_line(tmp_path: Path) -> None:
    wd = make_workdir(tmp_path / "wd", TINY_DEMO)
    (wd / "my.yaml").write_text((wd / "config" / "config.yaml").read_text())
    proc = _snakemake(wd, "-n", "--configfile", "my.yaml", "calibration")
    assert proc.returncode == 1
    lines = [
        ln for ln in (proc.stdout + proc.stderr).splitlines() if not ln.startswith("Using workflow specific profile")
    ]
    assert lines == [
        "videoxai: --configfile takes config files, and 'calibration' is not one (no such file); if it is a target, "
        "put it before --configfile: snakemake --cores all calibration --configfile FILE"
    ]
    # the order the message gives works
    assert _snakemake(wd, "-n", "calibration", "--configfile", "my.yaml").returncode == 0


def test_the_cluster_profile_without_slurm_fails_in_one_line_and_touches_nothing(tmp_path: Path) -> None:
    wd = make_workdir(tmp_path / "wd", TINY_DEMO)
    (wd / "results").mkdir()
    kept = wd / "results" / "keep.txt"
    kept.write_text("an earlier result")
    proc = _snakemake(wd, "--profile", "profiles/slurm", "all", path=str(_path_without_slurm(tmp_path / "bin")))
    assert proc.returncode == 1
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if not ln.startswith("Using ")]
    assert lines == [
        "videoxai: --profile profiles/slurm submits jobs with SLURM's sbatch, which this machine does not have: "
        "run it on the cluster's login node, or drop --profile profiles/slurm to run here"
    ]
    assert kept.read_text() == "an earlier result" and sorted(p.name for p in (wd / "results").iterdir()) == [
        "keep.txt"
    ]
    assert not (wd / ".snakemake").exists()


def test_make_demo_takes_a_core_count_and_installs_no_test_extras() -> None:
    out = subprocess.run(
        ["make", "-n", "-B", "demo", "CORES=4", "VIDEOXAI_SYSTEM_DEPS=skip"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "snakemake --cores 4" in out
    assert "pip install --quiet -e .\n" in out and "[test]" not in out


PROGRESS = re.compile(
    r"(?P<what>extract|explain attention-rollout): (?P<done>\d+)/(?P<total>\d+) clips \(\d+%\), [0-9.e+-]+ clips/s, "
    r"(?P<when>.+) (?P<tail>left|in all)$"
)


def _progress(text: str) -> list[tuple[str, int, int, str]]:
    """(what, done, total, left | in all) of each progress line, as a job log or the terminal shows it."""
    out = []
    for line in text.splitlines():
        m = PROGRESS.search(line)
        if m:
            out.append((m["what"], int(m["done"]), int(m["total"]), m["tail"]))
    return out


def test_extraction_and_explanation_report_progress_in_the_terminal_and_the_job_log(tmp_path: Path) -> None:
    """Issue 27: clips done, rate and time left after the first batch (then every 30 s) and at the end."""
    wd = make_workdir(
        tmp_path / "wd",
        {**TINY_DEMO, "batch-size": 2, "explain-batch-size": 1, "explainer-method": ["attention-rollout"]},
    )
    proc = _snakemake(wd, "--cores", "2", "explain")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    logs = wd / "logs"
    (extract_log,) = (logs / "extract_predictions").rglob("*.log")
    (explain_log,) = (logs / "explain_clips").rglob("*.log")
    # a short run: the line after the first batch (with the time left) and the closing one
    assert _progress(extract_log.read_text()) == [("extract", 2, 8, "left"), ("extract", 8, 8, "in all")]
    assert _progress(explain_log.read_text()) == [
        ("explain attention-rollout", 1, 4, "left"),
        ("explain attention-rollout", 4, 4, "in all"),
    ]
    # the same lines reach the terminal (a SLURM job's log gets the job's stderr the same way)
    terminal = _progress(proc.stdout + proc.stderr)
    assert terminal == _progress(extract_log.read_text()) + _progress(explain_log.read_text())


def test_a_failed_job_prints_one_traceback(tmp_path: Path) -> None:
    """Issue 27: the terminal gets one line per failure; the traceback is in the job's log, shown once."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "Snakefile").write_text(
        'rule broken:\n    output: "out.txt"\n    log: "logs/broken.log"\n    script: "scripts/broken.py"\n'
    )
    (tmp_path / "scripts" / "broken.py").write_text(
        "from videoxai.joblog import job_logging\n"
        "with job_logging(snakemake.log[0], snakemake.rule):\n"
        "    raise ValueError('selection.json names a clip the split lacks: rerun select_clips')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", "1", "--show-failed-logs"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert out.count("Traceback (most recent call last)") == 1, out
    (failed,) = [ln.split(" ", 1)[1] for ln in out.splitlines() if " ERROR videoxai: " in ln and "(traceback" in ln]
    assert re.fullmatch(
        r"ERROR videoxai: rule broken failed after \d+\.\d s: ValueError: selection.json names a clip the split "
        r"lacks: rerun select_clips \(traceback in logs/broken.log\)",
        failed,
    )
    assert (tmp_path / "logs" / "broken.log").read_text().count("Traceback (most recent call last)") == 1
