"""Every output is a target of `rule all`: a deleted one is rebuilt, by exactly the jobs that make it (issue 17).

Snakemake reruns a job for a missing output only when something asks for that output, so before this a deleted
video, attention map, bins.parquet or PDF left `snakemake -n` saying "Nothing to be done" and `--report` failing.
One tiny demo run (tests.helpers.TINY_DEMO) is made once; every test works on its own copy of it.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.helpers import run_snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

MODEL = "video_coop/demo/tiny"
CALIB = f"results/calibration/{MODEL}/demo/test"
CALIB_FIG = f"figures/calibration/{MODEL}/demo-test"
EXPLAIN = f"results/explain/{MODEL}/demo/test"
FIGS = f"figures/explainer/{MODEL}/demo-test"
PRED = f"results/predictions/{MODEL}/demo/test.parquet"

# Every output the README lists for one model, and what a rerun must do when it alone is deleted: the job that
# makes it and the jobs made from it, each counted (one render job per explainer folder).
CALIBRATE = {"calibrate": 1, "calibration_summary": 1}
DELETED = {
    f"results/models/{MODEL}/resolved.json": None,  # everything of the model: checked by name only
    PRED: None,
    f"{CALIB}/metrics.json": CALIBRATE,
    f"{CALIB}/bins.parquet": CALIBRATE,
    f"{CALIB_FIG}/reliability_diagram.png": CALIBRATE,
    f"{CALIB_FIG}/reliability_diagram.pdf": CALIBRATE,
    "results/calibration/summary.csv": {"calibration_summary": 1},
    "results/calibration/summary.tex": {"calibration_summary": 1},
    "figures/calibration/comparison.png": {"calibration_summary": 1},
    "figures/calibration/comparison.pdf": {"calibration_summary": 1},
    f"{EXPLAIN}/selection.json": {
        "select_clips": 1,
        "explain_clips": 2,
        "aggregate_explanations": 2,
        "render_explanations": 2,
        "explanation_summary": 1,
    },
    f"{EXPLAIN}/grad-cam/heatmaps.safetensors": {
        "explain_clips": 1,
        "aggregate_explanations": 1,
        "render_explanations": 1,
        "explanation_summary": 1,
    },
    f"{FIGS}/grad-cam/aggregated_stats.json": {"aggregate_explanations": 1, "explanation_summary": 1},
    "results/explain/summary.csv": {"explanation_summary": 1},
    "results/explain/summary.tex": {"explanation_summary": 1},
    "figures/explainer/leaderboard.png": {"explanation_summary": 1},
    "figures/explainer/leaderboard.pdf": {"explanation_summary": 1},
    "results/explain/sanity.csv": {"explanation_summary": 1},
    "figures/explainer/sanity.png": {"explanation_summary": 1},
    "figures/explainer/sanity.pdf": {"explanation_summary": 1},
    f"{FIGS}/grad-cam/gallery.html": {"render_explanations": 1},
    "a video": {"render_explanations": 1},
    "an attention map": {"render_explanations": 1},
}


def resolve(run: Path, name: str) -> Path:
    """A README output by path, or the first grad-cam video / attention-rollout map."""
    if name == "a video":
        return min((run / FIGS / "grad-cam" / "video_samples").glob("*.mp4"))
    if name == "an attention map":
        return min((run / FIGS / "attention-rollout" / "attention_maps").glob("*.png"))
    return run / name


def job_counts(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """The 'Job stats' table Snakemake prints (without `all`); empty when there is nothing to do."""
    lines = (proc.stdout + proc.stderr).splitlines()
    if "Job stats:" not in lines:
        return {}
    counts: dict[str, int] = {}
    for line in lines[lines.index("Job stats:") + 3 :]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        if parts[0] != "all":
            counts[parts[0]] = int(parts[1])
    return counts


def test_every_readme_output_exists_after_a_run(finished: Path) -> None:
    for name in DELETED:
        path = resolve(finished, name)
        assert path.is_file() and path.stat().st_size > 0, path
    for explainer in ("grad-cam", "attention-rollout"):
        videos = sorted((finished / FIGS / explainer / "video_samples").glob("*.mp4"))
        maps = sorted((finished / FIGS / explainer / "attention_maps").glob("*.png"))
        assert videos and [v.stem for v in videos] == [m.stem for m in maps]
    nothing = run_snakemake(finished, "-n", timeout=300)
    assert "Nothing to be done" in nothing.stdout + nothing.stderr, nothing.stdout[-3000:]


@pytest.mark.parametrize("name", list(DELETED), ids=[Path(n).name for n in DELETED])
def test_a_deleted_output_is_planned_again(run: Path, name: str) -> None:
    resolve(run, name).unlink()
    proc = run_snakemake(run, "-n", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = job_counts(proc)
    expected = DELETED[name]
    if expected is None:  # upstream of everything: its own job and all calibration and explanation
        made_by = "resolve_model" if name.endswith("resolved.json") else "extract_predictions"
        assert counts.get(made_by) == 1 and counts.get("calibrate") == 1 and counts.get("render_explanations") == 2, (
            counts
        )
    else:
        assert counts == expected, counts


def test_a_rerun_rebuilds_exactly_what_was_deleted_and_the_report_works(run: Path, tmp_path: Path) -> None:
    deleted = [
        resolve(run, n)
        for n in (
            f"{CALIB}/bins.parquet",
            f"{CALIB_FIG}/reliability_diagram.pdf",
            "a video",
            "an attention map",
        )
    ]
    untouched = [
        run / PRED,
        run / EXPLAIN / "grad-cam" / "heatmaps.safetensors",
        run / FIGS / "grad-cam" / "aggregated_stats.json",
        run / CALIB / "metrics.json",
    ]
    before = {p: p.stat().st_mtime_ns for p in untouched}
    for path in deleted:
        path.unlink()
    proc = run_snakemake(run, "--cores", "2", timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    ran = sorted(
        line.split()[-1].rstrip(":")
        for line in out.splitlines()
        if line.startswith(("rule ", "localrule ", "checkpoint "))
    )
    assert ran == [
        "all",
        "calibrate",
        "calibration_summary",
        "render_explanations",
        "render_explanations",
    ], ran
    for path in deleted:
        assert path.is_file() and path.stat().st_size > 0, path
    # the jobs that made the deleted files wrote their other outputs again; nothing upstream was touched
    assert {p: p.stat().st_mtime_ns for p in untouched if p.name != "metrics.json"} == {
        p: t for p, t in before.items() if p.name != "metrics.json"
    }
    nothing = run_snakemake(run, "-n", timeout=300)
    assert "Nothing to be done" in nothing.stdout + nothing.stderr
    report = tmp_path / "report.zip"
    made = run_snakemake(run, "--report", str(report), timeout=600)
    assert made.returncode == 0, (made.stdout + made.stderr)[-3000:]
    names = zipfile.ZipFile(report).namelist()
    assert any(n.endswith(deleted[2].name) for n in names) and any(n.endswith("reliability_diagram.png") for n in names)
