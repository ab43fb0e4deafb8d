"""LeGrad through a real Snakemake run of the tiny demo: `explainer-method: [legrad]` on the three shipped demo
models (video_coop, dual_coop, stt: each a prompt-tuning family) selects, explains, renders and scores them, and the
leaderboard lists legrad for each; a mixture (no network of its own) gets its notice that it was skipped, and
LeGrad's `layers` readout, which only prompt-tuning run folders offer, stops the demo's explain job at once."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from tests.helpers import TINY_DEMO, make_workdir, run_snakemake

pytestmark = pytest.mark.workflow

KEYS = ["video_coop/demo/tiny", "dual_coop/demo/tiny", "stt/demo/tiny"]
MIXTURE = "mixture/demo/pair"


def test_legrad_on_every_demo_model_through_the_workflow(tmp_path: Path) -> None:
    wd = make_workdir(
        tmp_path,
        {**TINY_DEMO, "models": KEYS, "mixtures": {MIXTURE: KEYS[:2]}, "explainer-method": ["legrad"]},
    )
    proc = run_snakemake(wd, "--cores", "2", "explain", timeout=1500)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    for key in KEYS:
        folder = wd / f"results/explain/{key}/demo/test"
        selection = json.loads((folder / "selection.json").read_text())["clips"]
        with safe_open(str(folder / "legrad/heatmaps.safetensors"), "np") as f:
            heat, frames = f.get_tensor("heatmaps"), f.get_tensor("frames")
            clips, params = json.loads(f.metadata()["clips"]), json.loads(f.metadata()["params"])
        n, t = len(selection), params["input_spec"]["num_frames"]
        size = params["input_spec"]["size"]
        # one map per selected clip and frame, on the towers' 8 x 8 patch grid of the 64-pixel frames they saw
        assert heat.shape == (n, t, 8, 8) and frames.shape == (n, t, size, size, 3) and size == 64, (key, heat.shape)
        assert [c["sample_id"] for c in clips] == [c["sample_id"] for c in selection]
        assert params["method"] == "legrad" and params["legrad-readout"] == "logit"
        assert heat.min() >= 0 and heat.max() <= 1 and all(np.ptp(m) > 0 for m in heat.astype(np.float32))
        assert all(len(c["evaluation"]["sanity_spearman"]) == params["evaluation"]["sanity-steps"] for c in clips)
        # rendered: a video and a strip per clip, and the gallery
        figs = wd / f"figures/explainer/{key}/demo-test/legrad"
        assert (
            len(list((figs / "video_samples").glob("*.mp4"))) == n == len(list((figs / "attention_maps").glob("*.png")))
        )
        assert (figs / "gallery.html").is_file()
    rows = list(csv.DictReader((wd / "results/explain/summary.csv").open()))
    assert [(r["model"], r["explainer"]) for r in rows if r["explainer"] == "legrad"] == [
        (k, "legrad") for k in sorted(KEYS)
    ]
    assert {r["model"] for r in rows} == set(KEYS)  # the mixture has no row: it was not explained
    for r in rows:
        if r["explainer"] == "legrad":
            assert 0 <= float(r["pointing_game"]) <= 1 and r["deletion_auc"] and r["sanity_spearman"], r
    sanity = list(csv.DictReader((wd / "results/explain/sanity.csv").open()))
    assert sorted({(r["model"], r["explainer"]) for r in sanity}) == [(k, "legrad") for k in sorted(KEYS)]
    notice = json.loads((wd / f"results/explain/{MIXTURE}/demo/test/legrad/skipped.json").read_text())
    assert notice["skipped"] and notice["explainer"] == "legrad" and "no network" in notice["reason"]
    assert not (wd / f"results/explain/{MIXTURE}/demo/test/legrad/heatmaps.safetensors").exists()

    # LeGrad's CLIP-layer readout needs a prompt-tuning run folder's CLIP tower: the demo's tiny towers have none
    # (a readout of its own: its results are the folder legrad+readout-layers, beside the logit readout's)
    heatmaps = f"results/explain/{KEYS[0]}/demo/test/legrad+readout-layers/heatmaps.safetensors"
    refused = run_snakemake(wd, "--cores", "1", heatmaps, "--config", "legrad-readout=layers", timeout=600)
    assert refused.returncode != 0, (refused.stdout + refused.stderr)[-3000:]
    assert (wd / f"results/explain/{KEYS[0]}/demo/test/legrad/heatmaps.safetensors").is_file()  # kept
    log = (wd / f"logs/explain_clips/{KEYS[0]}/demo/test/legrad+readout-layers.log").read_text()
    assert "legrad-readout: layers reads CLIP's layers against a class text" in log, log[-3000:]
    assert "use legrad-readout: logit" in log
