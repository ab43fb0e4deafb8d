"""The whole demo through Snakemake, for real: data, training, every stage, then caching.

One run (minutes) is shared by the tests of this module; they check the
outputs a user would open, then that Snakemake's caching does what the
README promises.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import av
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.helpers import make_workdir, run_snakemake
from videoxai.explain.store import load_heatmaps
from videoxai.extract.predictions import load_predictions

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

KEYS = ["video_coop/demo/tiny", "dual_coop/demo/tiny", "stt/demo/tiny"]
KEY = KEYS[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wd = make_workdir(tmp_path_factory.mktemp("demo"))
    proc = run_snakemake(wd, "--cores", "2")
    (wd / "first_run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return wd


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    counts: dict[str, int] = {}
    table = dry_run_output.split("Job stats:", 1)[1]
    for line in table.splitlines()[3:]:
        m = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not m:
            break
        if m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


@pytest.mark.parametrize("key", KEYS)
def test_predictions_cover_every_test_clip(demo: Path, key: str) -> None:
    path = demo / f"results/predictions/{key}/demo/test.parquet"
    table = pq.read_table(path)
    test_list = (demo / "data/demo/testlist01.txt").read_text().split()
    assert table.num_rows == len(test_list) == 400
    assert set(table.column("status").to_pylist()) == {"ok"}
    preds = load_predictions(path)
    assert preds.logits.shape == (400, 8)
    assert preds.metadata["model_key"] == key
    assert len(preds.metadata["checkpoint_sha256"]) == 64
    resolved = json.loads((demo / f"results/models/{key}/resolved.json").read_text())
    assert resolved["sha256"] == preds.metadata["checkpoint_sha256"]
    report = json.loads((Path(resolved["checkpoint"]).parent / "train_report.json").read_text())
    accuracy = float((preds.preds == preds.labels).mean())
    assert abs(accuracy - report["test_accuracy"]) <= 1 / 400
    assert accuracy >= 0.7, f"demo model reached only {accuracy:.3f}"  # shipped: 0.95, 0.75, 0.91


def test_calibration_outputs(demo: Path) -> None:
    metrics = json.loads((demo / f"results/calibration/{KEY}/demo/test/metrics.json").read_text())
    for name in ("accuracy", "ece", "mce", "adaptive_ece", "classwise_ece", "brier"):
        assert 0.0 <= metrics[name] <= 1.0 + 1e-9, name
    assert metrics["nll"] >= 0
    assert metrics["n_bins"] == 15
    bins = pq.read_table(demo / f"results/calibration/{KEY}/demo/test/bins.parquet")
    assert bins.num_rows == 2 * 15  # equal-width and equal-mass bins
    assert sum(bins.filter(pc.equal(bins.column("scheme"), "equal-width")).column("count").to_pylist()) == 400
    for f in ("reliability_diagram.png", "reliability_diagram.pdf"):
        assert (demo / f"figures/calibration/{KEY}/demo-test/{f}").stat().st_size > 1000
    assert (demo / "results/calibration/summary.csv").read_text().count("\n") == 1 + len(KEYS)
    assert (demo / "figures/calibration/comparison.png").exists()


@pytest.mark.parametrize("explainer", ["attention-rollout", "grad-cam"])
def test_heatmaps_and_videos(demo: Path, explainer: str) -> None:
    selection = json.loads((demo / f"results/explain/{KEY}/demo/test/selection.json").read_text())
    clips = selection["clips"]
    assert len(clips) == 4 * 2
    hs = load_heatmaps(demo / f"results/explain/{KEY}/demo/test/{explainer}/heatmaps.safetensors")
    n, t, h, w = hs.heatmaps.shape
    assert (n, t) == (len(clips), 8)
    assert hs.frames.shape == (n, 8, 64, 64, 3) and hs.frames.dtype == np.uint8
    assert hs.temporal_importance.shape == (n, 8)
    assert 0.0 <= float(hs.heatmaps.min()) and float(hs.heatmaps.max()) <= 1.0
    folder = demo / f"figures/explainer/{KEY}/demo-test/{explainer}"
    for c in clips:
        name = f"class_{c['class_index']}_sample_{c['sample_index']}"
        with av.open(str(folder / "video_samples" / f"{name}.mp4")) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert stream.codec_context.pix_fmt == "yuv420p"
            assert sum(1 for _ in container.decode(stream)) == 8
        assert (folder / "attention_maps" / f"{name}.png").stat().st_size > 1000
    stats = json.loads((folder / "aggregated_stats.json").read_text())
    assert stats["n_clips"] == len(clips)
    ground_truth = stats["evaluation"]["ground_truth"]
    assert 0.0 <= ground_truth["map"]["energy_in_mask"] <= 1.0


def test_every_job_logged(demo: Path) -> None:
    logs = list((demo / "logs").rglob("*.log"))
    assert logs
    for log in logs:
        assert "SLURM_JOB_ID=" in log.read_text(), log


def test_every_job_held_no_more_memory_than_it_declared(demo: Path) -> None:
    """Each job logs its peak memory beside its rule's mem_mb (estimated from what it holds): the local scheduler,
    which sums the declarations, never runs more than the machine holds, and a cluster's --mem never kills one."""
    from videoxai.joblog import logged_peaks

    peaks = logged_peaks(demo / "logs")
    assert len(peaks) == len(list((demo / "logs").rglob("*.log")))
    over = [p for p in peaks if p["declared_mb"] is None or p["peak_mb"] > p["declared_mb"]]
    assert not over, over
    # the model jobs declare from the model's footprint: the demo's tiny models, a fraction of the old flat 6000
    model_jobs = [p for p in peaks if p["rule"] in ("extract_predictions", "explain_clips")]
    assert model_jobs and all(p["declared_mb"] < 3000 for p in model_jobs), model_jobs


def test_second_run_does_nothing(demo: Path) -> None:
    proc = run_snakemake(demo, "--cores", "2")
    assert proc.returncode == 0, proc.stderr
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_n_bins_change_reruns_only_calibration(demo: Path) -> None:
    proc = run_snakemake(demo, "-n", "--config", "n-bins=10")
    assert proc.returncode == 0, proc.stderr
    assert job_counts(proc.stdout) == {"calibrate": len(KEYS), "calibration_summary": 1, "all": 1}


def threads_per_rule(dry_run_output: str) -> dict[str, set[int]]:
    """Rule -> the threads of its jobs, from a dry run's job blocks (no ``threads:`` line means 1)."""
    threads: dict[str, set[int]] = {}
    for block in re.split(r"\n(?=(?:local)?(?:rule|checkpoint) \w+:)", dry_run_output):
        m = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        if m:
            t = re.search(r"^\s+threads: (\d+)$", block, re.M)
            threads.setdefault(m.group(1), set()).add(int(t.group(1)) if t else 1)
    return threads


@pytest.mark.parametrize(("cores", "extract", "demo_data"), [(2, 1, 2), (8, 3, 8)])
def test_model_jobs_leave_room_for_a_second_one(demo: Path, cores: int, extract: int, demo_data: int) -> None:
    """An explanation takes one core and an extraction num-workers + 1 but at most half of them: on 2 cores two model
    jobs run side by side, one's start-up (torch, the model) overlapping the other's work; the demo data, first
    and alone, takes what there is (up to 8)."""
    proc = run_snakemake(demo, "-n", "--forceall", "--cores", str(cores))
    assert proc.returncode == 0, proc.stderr
    threads = threads_per_rule(proc.stdout)
    assert threads["explain_clips"] == {1}
    assert threads["extract_predictions"] == {extract}  # num-workers: 2 (the default) + 1 = 3
    assert threads["demo_dataset"] == {demo_data}
    assert threads["render_explanations"] == threads["calibrate"] == {1}


def test_explainer_change_reruns_no_extraction(demo: Path) -> None:
    proc = run_snakemake(demo, "-n", "--config", "use-cls-token=False")
    assert proc.returncode == 0, proc.stderr
    counts = job_counts(proc.stdout)
    assert "extract_predictions" not in counts and "train_demo" not in counts
    assert counts.get("explain_clips") == len(KEYS)  # only attention-rollout depends on use-cls-token


def test_report_holds_every_figure(demo: Path) -> None:
    proc = run_snakemake(demo, "--report", "report.zip")
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = [Path(n).name for n in zipfile.ZipFile(demo / "report.zip").namelist()]
    assert "report.html" in names
    for name in ("reliability_diagram.png", "comparison.png", "summary.csv"):
        assert name in names, name
    assert names.count("gallery.html") == 2 * len(KEYS)  # one per explainer and model
    clips = 4 * 2 * 2 * len(KEYS)  # classes x samples x explainers x models
    assert sum(n.endswith(".mp4") for n in names) == clips
    assert sum(n.startswith("class_") and n.endswith(".png") for n in names) == clips


def test_wandb_is_a_leaf_and_keeps_no_key(demo: Path) -> None:
    """Turning wandb on adds only tracking jobs; the offline run never writes the API key."""
    on = ("--config", "use-wandb=True")
    plan = run_snakemake(demo, "-n", *on)
    assert plan.returncode == 0, plan.stderr
    assert set(job_counts(plan.stdout)) == {"track_calibration", "track_explanations", "all"}
    fake_key = "0123456789abcdef0123456789abcdef01234567"
    env = {
        "WANDB_API_KEY": fake_key,
        "WANDB_CONFIG_DIR": str(demo / ".wandb-config"),
        "WANDB_CACHE_DIR": str(demo / ".wandb-cache"),
    }
    proc = run_snakemake(demo, "--cores", "2", *on, env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    # (not the hidden content records beside them: docs/integrity.md)
    records = [p for p in (demo / "results/wandb/records").rglob("*.json") if not p.name.startswith(".")]
    assert len(records) == 3 * len(KEYS)
    assert all(json.loads(r.read_text())["enabled"] for r in records)
    for path in demo.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert fake_key.encode() not in path.read_bytes(), path
    off = run_snakemake(demo, "-n")
    assert "Nothing to be done" in off.stdout + off.stderr
