"""Nothing goes missing or wrong quietly: damaged, replaced and stale outputs are found and rebuilt, a killed run
resumes, `verify` tells, planning and reporting change nothing (issues 17 and 26; docs/integrity.md lists the cases).

One tiny demo run (tests.helpers.TINY_DEMO) is made once; every test works on its own copy of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

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
    assert f"{PRED} is broken" in out and "were written (changed or replaced since)" in out
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
    """kill -9 of snakemake and its job while the predictions are being written, then the recovery docs/operations.md gives."""
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
        while not any(p.name.startswith(".test.parquet.videoxai-tmp-") for p in folder.glob(".*")):
            assert proc.poll() is None, "snakemake ended before the extraction started writing"
            assert time.monotonic() < deadline, "extraction never started writing"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    temps = [p for p in folder.glob(".*") if p.name.startswith(".test.parquet.videoxai-tmp-")]
    assert temps and not (run / PRED).exists()
    umask = os.umask(0)
    os.umask(umask)
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in temps)  # not 0600

    locked = run_snakemake(run, "--cores", "1", timeout=300)
    assert locked.returncode != 0
    assert "LockException" in locked.stdout + locked.stderr
    # the killed run registered itself while it held the lock: it is known to be gone, so --unlock is safe
    assert "this folder is locked, but no snakemake run is active in it" in locked.stderr

    # the interrupted command again, after --unlock (no other run is active here)
    assert run_snakemake(run, "--unlock", timeout=300).returncode == 0
    resumed = run_snakemake(run, "--cores", "2", "--rerun-incomplete", target, timeout=1800)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert not [p for p in folder.glob(".*") if p.name.startswith(".test.parquet.videoxai-tmp-")]
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
        while not any(p.name.startswith(".test.parquet.videoxai-tmp-") for p in folder.glob(".*")):
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
    assert not [p for p in folder.glob(".*") if p.name.startswith(".test.parquet.videoxai-tmp-")]
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


# ------------------------------------------------------------------------------------- issue 26: wrong content

CALIB = "results/calibration/video_coop/demo/tiny/demo/test"
EXPLAIN = "results/explain/video_coop/demo/tiny/demo/test"
SELECTION = f"{EXPLAIN}/selection.json"
RESOLVED = "results/models/video_coop/demo/tiny/resolved.json"
MANIFEST = "results/datasets/demo/test.manifest.json"


def keep_mtime(path: Path, data: bytes) -> None:
    """Write ``data`` over ``path`` and put its mtime back (`touch -r`): only its ctime tells."""
    st = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def flip_byte(path: Path, where: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x5A
    keep_mtime(path, bytes(data))


def change_digit(path: Path, key: str) -> None:
    """One digit of a JSON number after ``"key": ``, changed in place (same size: still valid JSON)."""
    text = path.read_text()
    i = text.index(f'"{key}": ') + len(key) + 4
    while not text[i].isdigit():
        i += 1
    keep_mtime(path, (text[:i] + ("7" if text[i] != "7" else "3") + text[i + 1 :]).encode())


def other_predictions(run: Path) -> bytes:
    """Another model's valid predictions file: rows reversed, logits changed, another checkpoint's sha256."""
    import json

    import pyarrow as pa

    table = pq.read_table(run / PRED)
    meta = json.loads(table.schema.metadata[b"videoxai"])
    meta["checkpoint_sha256"] = "0" * 64
    logits = pa.FixedSizeListArray.from_arrays(
        pa.array([-x for x in table.column("logits").combine_chunks().flatten().to_pylist()], pa.float32()),
        len(meta["class_names"]),
    )
    table = (
        table.set_column(table.schema.get_field_index("logits"), "logits", logits)
        .slice(0)
        .take(list(reversed(range(table.num_rows))))
    )
    table = table.replace_schema_metadata({b"videoxai": json.dumps(meta).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def snapshot(run: Path) -> dict[str, tuple[int, int]]:
    """(mtime, ctime) of every file under results/ and figures/: any write, rename or touch changes the ctime."""
    return {
        str(p.relative_to(run)): (p.stat().st_mtime_ns, p.stat().st_ctime_ns)
        for folder in ("results", "figures")
        for p in sorted((run / folder).rglob("*"))
        if p.is_file()
    }


def a_map(run: Path, explainer: str = "attention-rollout") -> Path:
    return min((run / FIGS / explainer / "attention_maps").glob("*.png"))


def change_class_index(path: Path) -> None:
    import json

    selection = json.loads(path.read_text())
    selection["clips"][0]["class_index"] = (selection["clips"][0]["class_index"] + 1) % 8
    keep_mtime(path, json.dumps(selection, indent=2, sort_keys=True).encode() + b"\n")


# what is done to a finished run's file (mtime kept each time), and the job that must rebuild it
WRONG_CONTENT = {
    "another model's predictions": (lambda run: keep_mtime(run / PRED, other_predictions(run)), PRED),
    "a byte in the predictions' data": (lambda run: flip_byte(run / PRED, 0.3), PRED),
    "a byte in the predictions' metadata": (lambda run: flip_byte(run / PRED, 0.985), PRED),
    "a digit of metrics.json": (lambda run: change_digit(run / CALIB / "metrics.json", "ece"), f"{CALIB}/metrics.json"),
    "a digit of resolved.json": (lambda run: change_digit(run / RESOLVED, "num_frames"), RESOLVED),
    "a class index of selection.json": (lambda run: change_class_index(run / SELECTION), SELECTION),
    "the other explainer's heatmaps": (
        lambda run: keep_mtime(run / HEATMAPS, (run / EXPLAIN / "attention-rollout/heatmaps.safetensors").read_bytes()),
        HEATMAPS,
    ),
    "a byte in the heatmaps' data": (lambda run: flip_byte(run / HEATMAPS, 0.6), HEATMAPS),
    "a byte in a video's data": (lambda run: flip_byte(a_video(run), 0.7), "a video"),
    "another clip's video": (
        lambda run: keep_mtime(a_video(run), max((run / FIGS / "grad-cam").rglob("*.mp4")).read_bytes()),
        "a video",
    ),
    "another clip's attention map": (
        lambda run: keep_mtime(a_map(run), max((run / FIGS / "attention-rollout").rglob("*.png")).read_bytes()),
        "an attention map",
    ),
}


@pytest.mark.parametrize("case", list(WRONG_CONTENT), ids=list(WRONG_CONTENT))
def test_a_whole_file_of_the_wrong_content_is_rebuilt_like_a_deleted_one(run: Path, case: str) -> None:
    """`-n` names the file and plans exactly what deleting it plans; nothing is touched while planning."""
    from tests.workflow.test_every_output import DELETED, job_counts

    damage_it, name = WRONG_CONTENT[case]
    target = {"a video": a_video(run), "an attention map": a_map(run)}.get(name, run / name)
    damage_it(run)
    before = snapshot(run)
    dry = run_snakemake(run, "-n", timeout=300)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out
    assert f"videoxai: {target.relative_to(run)} is broken: " in out, out
    assert snapshot(run) == before  # planning changed nothing: no mtime set, no file written
    counts = job_counts(dry)
    expected = DELETED[name]
    if expected is None:
        made_by = "resolve_model" if name == RESOLVED else "extract_predictions"
        assert counts.get(made_by) == 1 and counts.get("calibrate") == 1 and counts.get("render_explanations") == 2
    else:
        assert counts == expected, counts


def test_verify_lists_wrong_content_and_its_command_repairs_the_run(run: Path, finished: Path) -> None:
    """The looping case: a selection with one class index changed; and a byte of a video. `verify` names both,
    its one command rebuilds them, and then all is well (before: 4 videos 'missing' forever, the command a no-op)."""
    change_class_index(run / SELECTION)
    video = min((run / FIGS / "attention-rollout" / "video_samples").glob("*.mp4"))
    flip_byte(video, 0.7)
    proc = run_snakemake(run, "--cores", "1", "verify", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "2 missing or broken" in out, out
    listed = {
        line.split()[0]: line
        for line in out.splitlines()
        if line.startswith("  results/") or line.startswith("  figures/")
    }
    assert "its content is not what was written" in listed[SELECTION], out
    assert "its content is not what was written" in listed[str(video.relative_to(run))], out
    command = out.rsplit("rebuild them with: ", 1)[1].splitlines()[0].strip()
    assert command == f"snakemake --cores all --forcerun {SELECTION} {video.parent.relative_to(run)}"
    fixed = run_snakemake(run, *command.split()[1:], timeout=1800)
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr[-3000:]
    again = run_snakemake(run, "--cores", "1", "verify", timeout=300)
    assert again.returncode == 0 and " 0 missing or broken" in again.stdout + again.stderr
    assert (run / SELECTION).read_bytes() == (finished / SELECTION).read_bytes()
    assert "Nothing to be done" in run_snakemake(run, "-n", timeout=300).stdout


def test_a_file_copied_with_its_record_is_stale_by_its_provenance(run: Path) -> None:
    """resolved.json replaced by another model's, with a record that vouches for it: the predictions made from the
    first one are stale; `verify` says which input changed."""
    from videoxai import checksums

    resolved = run / RESOLVED
    text = resolved.read_text().replace('"num_frames": 8', '"num_frames": 16')
    keep_mtime(resolved, text.encode())
    made = checksums.make_record(resolved, inputs=checksums.read_record(resolved)["inputs"], rule="resolve_model")
    checksums.record_path(resolved).write_text(checksums.dump_record(made))
    dry = run_snakemake(run, "-n", timeout=300)
    out = dry.stdout + dry.stderr
    assert f"videoxai: {PRED} is broken: was made from another {RESOLVED} than the one there now" in out, out
    assert "extract_predictions" in planned(dry) and "resolve_model" not in planned(dry)
    proc = run_snakemake(run, "--cores", "1", "verify", timeout=300)
    assert f"was made from another {RESOLVED}" in proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------ issue 26: real inputs


def test_a_video_replaced_after_extraction_reruns_what_reads_it_and_nothing_else(run: Path) -> None:
    clips = sorted((run / "data" / "demo").rglob("*.avi"))
    target = next(c for c in clips if c.parent.name == "MoveLeft" and "_g01_" in c.name)
    keep_mtime(target, next(c for c in clips if c.parent.name == "MoveRight").read_bytes())
    dry = run_snakemake(run, "-n", timeout=300)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0, out
    assert f"clips of demo/test changed: {MANIFEST} updated" in out
    jobs = planned(dry)
    assert {"extract_predictions", "explain_clips", "select_clips", "calibrate"} <= set(jobs), jobs
    assert not {"resolve_model", "demo_dataset", "video_manifest"} & set(jobs), jobs


def test_a_touched_video_and_a_doubled_listing_rerun_nothing(run: Path) -> None:
    """Same content, new mtime: nothing reruns. Every test clip listed twice: counted once, one warning line."""
    os.utime(min((run / "data" / "demo").rglob("*.avi")))
    listing = run / "data" / "demo" / "testlist01.txt"
    listing.write_text(listing.read_text() * 2)
    dry = run_snakemake(run, "-n", timeout=300)
    out = dry.stdout + dry.stderr
    assert dry.returncode == 0 and "Nothing to be done" in out, out
    warnings = [line for line in out.splitlines() if "already listed" in line]
    assert warnings == [
        "videoxai: dataset 'demo', test split: 8 entries list a clip already listed, each counted once: e.g. "
        "MoveRight/v_MoveRight_g01_c01.avi (testlist01.txt:1, again at testlist01.txt:9)"
    ], out


# ------------------------------------------------------------------- issue 26: planning and reporting change nothing


def test_report_refuses_a_damaged_figure_in_one_line_and_changes_nothing(run: Path, tmp_path: Path) -> None:
    """Before: the planning check set the PNG's mtime to 0 and `--report` crashed (ZIP timestamps before 1980)."""
    flip_byte(a_map(run), 0.5)
    before = snapshot(run)
    report = tmp_path / "report.zip"
    proc = run_snakemake(run, "--report", str(report), timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and not report.exists()
    assert "1 output(s) are damaged, stale or missing" in out and str(a_map(run).relative_to(run)) in out, out
    assert "Traceback" not in out and "1980" not in out
    assert snapshot(run) == before


def _read_only(run: Path, *args: str) -> subprocess.CompletedProcess:
    """Snakemake with results/ and figures/ mounted read-only (a private mount namespace: even root cannot write)."""
    import shlex

    mounts = " && ".join(f"mount --bind {d} {d} && mount -o remount,bind,ro {d}" for d in ("results", "figures"))
    script = f"{mounts} && exec {shlex.quote(SNAKEMAKE)} {' '.join(shlex.quote(a) for a in args)}"
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        cwd=run,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


@pytest.mark.needs("root")
def test_a_read_only_results_folder_gets_one_line(run: Path, tmp_path: Path) -> None:
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    if os.geteuid() != 0 or probe.returncode != 0:
        pytest.skip("needs root and a private mount namespace to mount results/ read-only")
    flip_byte(run / HEATMAPS, 0.6)
    dry = _read_only(run, "-n")
    assert dry.returncode == 0 and "OSError" not in dry.stderr, dry.stderr[-3000:]
    assert "1 damaged output(s) lie in a read-only folder" in dry.stderr
    verify = _read_only(run, "--cores", "1", "verify")
    assert verify.returncode != 0 and "Errno 30" not in verify.stdout + verify.stderr
    assert f"{HEATMAPS}  its content is not what was written" in verify.stdout + verify.stderr  # the only one listed
    report = _read_only(run, "--report", str(tmp_path / "r.zip"))
    assert report.returncode != 0 and "Errno 30" not in report.stderr and "output(s) are damaged" in report.stderr


def test_unlock_is_refused_while_another_run_is_active(run: Path) -> None:
    """A run registers itself while it holds the lock; here this test's own process stands in for it."""
    import json
    import socket

    from videoxai.runs import _start_ticks

    (run / ".snakemake" / "locks").mkdir(parents=True, exist_ok=True)
    (run / ".snakemake" / "locks" / "0.output.lock").write_text("results/x\n")
    entry = run / ".snakemake" / "videoxai" / "runs" / f"{socket.gethostname()}-{os.getpid()}.json"
    entry.parent.mkdir(parents=True, exist_ok=True)
    info = {"host": socket.gethostname(), "pid": os.getpid(), "start": _start_ticks(os.getpid()), "since": "now"}
    entry.write_text(json.dumps({**info, "command": "snakemake --cores all"}))
    unlock = run_snakemake(run, "--unlock", timeout=300)
    assert unlock.returncode != 0
    assert "another snakemake run is active in this folder" in unlock.stderr and "do not --unlock" in unlock.stderr
    assert (run / ".snakemake" / "locks" / "0.output.lock").exists()
    entry.unlink()  # that run ended (killed: no registry entry left alive)
    assert run_snakemake(run, "--unlock", timeout=300).returncode == 0


def test_a_deleted_manifest_is_made_again(run: Path) -> None:
    """`all` asks for the manifests: a deleted one is rebuilt, and what reads the clips reruns (whether they changed
    since is unknown); before `all` asked for it, nothing reran and later video changes went unnoticed."""
    from tests.workflow.test_every_output import job_counts

    (run / MANIFEST).unlink()
    dry = run_snakemake(run, "-n", timeout=300)
    counts = job_counts(dry)
    assert counts.get("video_manifest") == 1 and counts.get("extract_predictions") == 1, counts
    assert counts.get("explain_clips") == 2 and "resolve_model" not in counts, counts
