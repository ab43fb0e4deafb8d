"""A real-size model through the workflow, for real: a ViT-B/16-shaped CLIP (149.6 M parameters, random weights,
built here: no download) in a Hugging Face cache, a prompt-tuning run folder written by the project's own code,
UCF101-sized clips; resolve, extraction, attention-rollout and grad-rollout with their evaluation, rendering.

It runs under a memory budget a CI machine has (``--resources mem_mb=7500``, 2 cores): every job's logged peak
must stay within the mem_mb its rule declared, and the scheduler never runs declarations above the budget side
by side. A few minutes on 2 cores: 2 clips at 1 x 1 view, one clip explained, evaluation steps reduced.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import explainer_folder, make_workdir, run_snakemake
from videoxai.demo.real_size import write_backbone, write_clips, write_run
from videoxai.explain.store import load_heatmaps
from videoxai.extract.predictions import load_predictions
from videoxai.io import read_json
from videoxai.joblog import logged_peaks
from videoxai.setup.footprint import footprint_of_resolved

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

KEY = "video_coop/ucf101/best-attention"
CLASSES = ["ApplyEyeMakeup", "Archery"]
SPLIT = "test+v1+s1"
BUDGET_MB = 7500


SMALL = {"classes-to-map": 1, "samples-per-class": 1, "deletion-steps": 1, "sanity-steps": 1}


@pytest.fixture(scope="module")
def real_size(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real-size")
    snapshot = write_backbone(root / "hf-home" / "hub")
    run = write_run(root / "runs" / KEY, "video_coop", snapshot, CLASSES)
    write_clips(root / "ucf101", CLASSES, clips_per_class=1, frames=40)
    wd = make_workdir(
        root / "wd",
        {
            "models": [KEY],
            "checkpoint-paths": {KEY: str(run / "best.pt")},
            "datasets": {"ucf101": {"format": "ucf101", "root": str(root / "ucf101")}},
            "dataset-test": "ucf101",
            "num-temporal-views": 1,
            "num-spatial-views": 1,
            "explainer-method": ["attention-rollout", "grad-rollout"],
            **SMALL,
        },
    )
    env = {"HF_HOME": str(root / "hf-home"), "HF_HUB_OFFLINE": "1"}
    proc = run_snakemake(wd, "--cores", "2", "--resources", f"mem_mb={BUDGET_MB}", env=env, timeout=1800)
    (wd / "first_run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return wd


def test_the_model_is_vit_b16_sized(real_size: Path) -> None:
    fp = footprint_of_resolved(read_json(real_size / "results/models" / KEY / "resolved.json"))
    assert 149e6 < fp.params < 150e6
    assert (fp.vision.width, fp.vision.layers, fp.vision.heads, fp.vision.tokens, fp.image_size) == (
        768,
        12,
        12,
        197,
        224,
    )
    assert (fp.text.width, fp.text.layers) == (512, 12) and fp.joint_tokens == 1577


def test_every_job_stayed_within_its_declared_memory(real_size: Path) -> None:
    peaks = logged_peaks(real_size / "logs")
    rules = {p["rule"] for p in peaks}
    assert {"resolve_model", "extract_predictions", "explain_clips", "render_explanations"} <= rules
    over = [p for p in peaks if p["declared_mb"] is None or p["peak_mb"] > p["declared_mb"]]
    assert not over, over
    explain = [p for p in peaks if p["rule"] == "explain_clips"]
    assert len(explain) == 2 and all(1500 < p["peak_mb"] < BUDGET_MB for p in explain), explain
    assert all(p["declared_mb"] <= BUDGET_MB for p in peaks)


def test_predictions_at_the_configured_views(real_size: Path) -> None:
    preds = load_predictions(real_size / "results/predictions" / KEY / "ucf101" / f"{SPLIT}.parquet")
    assert len(preds.sample_ids) == 2 and preds.num_errors == 0
    assert np.isfinite(preds.logits).all() and preds.logits.shape == (2, 2)
    assert preds.metadata["num_temporal_views"] == 1 and preds.metadata["num_spatial_views"] == 1


@pytest.mark.parametrize("explainer", ["attention-rollout", "grad-rollout"])
def test_heatmaps_and_renders(real_size: Path, explainer: str) -> None:
    explainer = explainer_folder(explainer, SMALL, annotated=False)  # +deletion-steps-1+sanity-steps-1+classes-1+...
    hs = load_heatmaps(real_size / "results/explain" / KEY / "ucf101" / SPLIT / explainer / "heatmaps.safetensors")
    assert hs.heatmaps.shape == (1, 8, 14, 14)  # 224 px, patch 16
    assert hs.frames.shape == (1, 8, 224, 224, 3)
    assert np.isfinite(hs.heatmaps.astype(np.float32)).all() and hs.heatmaps.max() > 0
    evaluation = hs.clips[0]["evaluation"]
    assert "deletion_auc" in evaluation and len(evaluation["sanity_spearman"]) == 1
    fig = real_size / "figures/explainer" / KEY / f"ucf101-{SPLIT}" / explainer
    assert len(list((fig / "video_samples").glob("*.mp4"))) == 1
    assert len(list((fig / "attention_maps").glob("*.png"))) == 1
    log = (real_size / "logs/explain_clips" / KEY / "ucf101" / SPLIT / f"{explainer}.log").read_text()
    assert "explaining 1 clips with" in log and "1 per batch" in log


def test_an_stt_extraction_that_cannot_fit_fails_while_planning(real_size: Path) -> None:
    """stt's logits depend on the clips and views of its batch, so its batch is never split to fit: where it cannot
    fit the run's memory, planning says so in one line, with the fix, instead of a job being killed."""
    root = real_size.parent
    snapshot = next((root / "hf-home" / "hub").glob("models--*/snapshots/*"))
    key = "stt/ucf101/best-true-val"
    run = write_run(root / "runs" / key, "stt", snapshot, CLASSES)
    env = {"HF_HOME": str(root / "hf-home"), "HF_HUB_OFFLINE": "1"}
    overrides = [
        f"models=[{key}]",
        f"checkpoint-paths={{{key}: {run / 'best.pt'}}}",
        "num-temporal-views=4",
        "num-spatial-views=3",
    ]
    # what 1 x 1 views need on this machine (the estimate counts the loader's workers, so it follows the cores)
    proc = run_snakemake(real_size, "-n", "--resources", "mem_mb=1", "--config", *overrides[:2], env=env)
    out = proc.stdout + proc.stderr
    found = re.search(r"extracting ucf101/test\+v1\+s1 needs about (\d+) MB", out)
    assert proc.returncode != 0 and found, out[-3000:]
    fits = int(found.group(1))
    proc = run_snakemake(real_size, "-n", "--resources", f"mem_mb={fits}", "--config", *overrides, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert f"model {key}: extracting ucf101/test+v4+s3 needs about" in out and "lower batch-size" in out, out[-3000:]
    proc = run_snakemake(real_size, "-n", "--resources", f"mem_mb={fits}", "--config", *overrides[:2], env=env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]  # 1 x 1 views fit
