"""Nothing goes missing quietly: broken outputs are found and rebuilt, a killed run resumes, `verify` tells.

One tiny demo run (tests.helpers.TINY_DEMO) is made once; every test works on its own copy of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq

from tests.helpers import REPO, SNAKEMAKE, run_snakemake

PRED = "results/predictions/video_coop/demo/tiny/demo/test.parquet"
HEATMAPS = "results/explain/video_coop/demo/tiny/demo/test/grad-cam/heatmaps.safetensors"
FIGS = "figures/explainer/video_coop/demo/tiny/demo-test"


def damage(path: Path, keep: float = 0.5) -> None:
    """Cut a file short and keep its mtime: a bad copy, a sync tool, a full disk on another host."""
    st = path.stat()
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def planned(proc: subprocess.CompletedProcess) -> list[str]:
    return sorted(
        {line.split()[1].rstrip(":") for line in proc.stdout.splitlines() if line.startswith(("rule ", "checkpoint "))}
    )


def a_video(run: Path) -> Path:
    return min((run / FIGS / "grad-cam").rglob("*.mp4"))


def test_verify_passes_on_a_finished_run_and_builds_nothing(run: Path) -> None:
    before = sorted(p for p in run.rglob("*") if p.is_file() and ".snakemake" not in p.parts)
    proc = run_snakemake(run, "--cores", "1", "verify", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert " 0 missing or broken" in out
    after = sorted(p for p in run.rglob("*") if p.is_file() and ".snakemake" not in p.parts and "logs" not in p.parts)
    assert [p for p in after if p not in before] == []
    nothing = run_snakemake(run, "-n", timeout=300)
    assert "Nothing to be done" in nothing.stdout + nothing.stderr


def test_verify_lists_missing_and_broken_outputs(run: Path) -> None:
    damage(run / HEATMAPS)
    video = a_video(run)
    damage(video, 0.9)
    (run / f"{FIGS}/attention-rollout/aggregated_stats.json").unlink()
    proc = run_snakemake(run, "--cores", "1", "verify", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "3 missing or broken" in out, out
    for path in (HEATMAPS, str(video.relative_to(run)), f"{FIGS}/attention-rollout/aggregated_stats.json"):
        assert path in out
    command = out.rsplit("rebuild them with: ", 1)[1].splitlines()[0].strip()  # the message, not the source line
    assert command.startswith("snakemake --cores all --forcerun ") and HEATMAPS in command
    assert str(video.parent.relative_to(run)) in command  # a video is rebuilt with its folder output
    # the command it gives repairs the run
    args = command.split()[1:]
    fixed = run_snakemake(run, *args, timeout=1800)
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr[-3000:]
    again = run_snakemake(run, "--cores", "1", "verify", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr


def test_broken_predictions_with_their_mtime_kept_are_rebuilt(run: Path, finished: Path) -> None:
    damage(run / PRED)
    dry = run_snakemake(run, "-n", timeout=300)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out
    assert f"{PRED} is broken" in out and "has no Parquet footer" in out
    assert "extract_predictions" in planned(dry)
    proc = run_snakemake(run, "--cores", "2", timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert pq.read_table(run / PRED).equals(pq.read_table(finished / PRED))
    assert run_snakemake(run, "--cores", "1", "verify", timeout=300).returncode == 0


def test_deleted_predictions_are_rebuilt(run: Path) -> None:
    """An intermediate deleted by hand: Snakemake rebuilds it only because `all` asks for it."""
    (run / PRED).unlink()
    dry = run_snakemake(run, "-n", timeout=300)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "extract_predictions" in planned(dry)


def test_broken_heatmaps_rerun_only_that_explainer(run: Path) -> None:
    damage(run / HEATMAPS)
    dry = run_snakemake(run, "-n", timeout=300)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out
    assert f"{HEATMAPS} is broken" in out
    jobs = planned(dry)
    assert "explain_clips" in jobs and "extract_predictions" not in jobs and "calibrate" not in jobs, jobs
    assert "explainer=grad-cam" in dry.stdout and "explainer=attention-rollout" not in dry.stdout


def test_a_broken_video_reruns_its_render_job_only(run: Path) -> None:
    video = a_video(run)
    damage(video, 0.9)
    dry = run_snakemake(run, "-n", timeout=300)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out
    assert f"{video.relative_to(run)} is broken" in out
    jobs = planned(dry)
    assert jobs and "explain_clips" not in jobs and "extract_predictions" not in jobs, jobs
    assert "explainer=grad-cam" in dry.stdout and "explainer=attention-rollout" not in dry.stdout


def test_a_deleted_video_is_rendered_again(run: Path) -> None:
    video = a_video(run)
    video.unlink()
    dry = run_snakemake(run, "-n", timeout=300)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out
    assert f"{video.relative_to(run)} is missing from its folder" in out
    jobs = planned(dry)
    assert jobs and "explain_clips" not in jobs and "extract_predictions" not in jobs, jobs
    assert "explainer=grad-cam" in dry.stdout and "explainer=attention-rollout" not in dry.stdout


def test_snakemake_killed_mid_job_resumes_with_unlock_and_rerun_incomplete(run: Path, finished: Path) -> None:
    """kill -9 of snakemake and its job while the predictions are being written, then the README's recovery."""
    (run / PRED).unlink()
    target = PRED  # only the extraction: the rest is up to date
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "1", target],
        cwd=run,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    folder = (run / PRED).parent
    deadline = time.monotonic() + 600
    try:
        while not any(p.name.startswith(".test.parquet.tmp-") for p in folder.glob(".*")):
            assert proc.poll() is None, "snakemake ended before the extraction started writing"
            assert time.monotonic() < deadline, "extraction never started writing"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    temps = [p for p in folder.glob(".*") if p.name.startswith(".test.parquet.tmp-")]
    assert temps and not (run / PRED).exists()
    umask = os.umask(0)
    os.umask(umask)
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in temps)  # not 0600

    locked = run_snakemake(run, "--cores", "1", timeout=300)
    assert locked.returncode != 0
    assert "LockException" in locked.stdout + locked.stderr

    # the interrupted command again, after --unlock (no other run is active here)
    assert run_snakemake(run, "--unlock", timeout=300).returncode == 0
    resumed = run_snakemake(run, "--cores", "2", "--rerun-incomplete", target, timeout=1800)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert not [p for p in folder.glob(".*") if p.name.startswith(".test.parquet.tmp-")]
    assert pq.read_table(run / PRED).equals(pq.read_table(finished / PRED))


def test_a_killed_job_is_rerun_by_the_same_command(run: Path, finished: Path) -> None:
    """kill -9 of the extraction job alone: Snakemake reports it; the same command again completes and cleans up."""
    import psutil

    (run / PRED).unlink()
    proc = subprocess.Popen(
        [SNAKEMAKE, "--cores", "1", PRED],
        cwd=run,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    folder = (run / PRED).parent
    deadline = time.monotonic() + 600
    try:
        while not any(p.name.startswith(".test.parquet.tmp-") for p in folder.glob(".*")):
            assert proc.poll() is None and time.monotonic() < deadline, "extraction never started writing"
            time.sleep(0.2)
        jobs = [
            c
            for c in psutil.Process(proc.pid).children(recursive=True)
            if any("extract_predictions.py" in a for a in c.cmdline()) and c.name().startswith("python")
        ]
        job = min(jobs, key=lambda c: c.create_time())  # the job itself, not its DataLoader workers
        job.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    assert proc.returncode != 0
    assert "Error in rule extract_predictions" in out, out[-3000:]
    assert not (run / PRED).exists()
    again = run_snakemake(run, "--cores", "1", PRED, timeout=1800)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert not [p for p in folder.glob(".*") if p.name.startswith(".test.parquet.tmp-")]
    assert pq.read_table(run / PRED).equals(pq.read_table(finished / PRED))


def test_outputs_get_the_users_umask(finished: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    assert (finished / "data" / "demo").stat().st_mode & 0o777 == 0o777 & ~umask
    for path in (finished / PRED, finished / HEATMAPS, a_video(finished)):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


def test_runs_from_another_folder_with_the_repositorys_profile(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run_snakemake(tmp_path, "-s", str(REPO / "workflow" / "Snakefile"), "-d", str(elsewhere), "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert f"workflow specific profile {REPO / 'workflow' / 'profiles' / 'default'}" in out
    assert f"using {REPO / 'config' / 'config.yaml'}" in out
    assert "rule demo_dataset:" in proc.stdout
