"""Occlusion and RISE through Snakemake on the smallest demo: heatmaps, videos, strips and scores (issue #31)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import TINY_DEMO, explainer_folder, make_workdir, run_snakemake
from videoxai.explain.store import load_heatmaps

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

KEY = "video_coop/demo/tiny"
BUDGET = {  # small budgets: a test, not a study
    "occlusion-patch": 0.5,
    "occlusion-stride": 0.25,
    "occlusion-frames": 4,
    "occlusion-frame-stride": 4,
    "rise-masks": 24,
    "rise-seed": 5,
    "sanity-steps": 1,
    "deletion-steps": 4,
}


CONFIG = {**TINY_DEMO, "explainer-method": ["occlusion", "rise"], "classes-to-map": 2, "samples-per-class": 1, **BUDGET}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wd = make_workdir(
        tmp_path_factory.mktemp("perturbation"),
        CONFIG,
    )
    proc = run_snakemake(wd, "--cores", "2")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return wd


@pytest.mark.parametrize("explainer", ["occlusion", "rise"])
def test_perturbation_explainers_run_in_the_workflow(run: Path, explainer: str) -> None:
    folder = run / f"results/explain/{KEY}/demo/test/{explainer_folder(explainer, CONFIG)}"
    hs = load_heatmaps(folder / "heatmaps.safetensors")
    assert len(hs) == 2 and hs.heatmaps.shape[:2] == (2, 8) and float(hs.heatmaps.max()) == 1.0
    assert np.isfinite(hs.heatmaps.astype(np.float32)).all() and not hs.undefined_flags().any()
    assert hs.params["method"] == explainer
    if explainer == "rise":
        assert hs.params["rise-masks"] == 24 and hs.params["rise-seed"] == 5  # the config's budget and seed
    else:
        assert hs.params["occlusion-patch"] == 0.5 and hs.params["occlusion-frames"] == 4
    figures = run / f"figures/explainer/{KEY}/demo-test/{explainer_folder(explainer, CONFIG)}"
    assert len(list((figures / "video_samples").glob("*.mp4"))) == 2
    assert len(list((figures / "attention_maps").glob("*.png"))) == 2
    stats = json.loads((figures / "aggregated_stats.json").read_text())
    ev = stats["evaluation"]
    assert ev["faithfulness"]["n_clips"] == 2 and 0 <= ev["faithfulness"]["deletion_auc"] <= 1
    assert 0 <= ev["ground_truth"]["map"]["pointing_game"] <= 1  # the demo's masks
    assert 0 <= ev["ground_truth"]["map"]["relevance_rank_accuracy"] <= 1
    assert ev["random_logit"]["n_clips"] == 2
