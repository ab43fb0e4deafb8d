"""Two explanation variants of the same model side by side, for real (issue #28: compare analyses without losing any).

The explainer folder's name is the method and its settings not at their defaults (videoxai.explain.variant): a run
with ``head-fusion: max`` writes its heatmaps, renders and scores beside the ``mean`` run's and changes none of them;
the leaderboard has a row for each with the settings as columns; going back has nothing to do. The default config's
paths are those of earlier versions (no suffix anywhere).
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO, SNAKEMAKE, TINY_DEMO, make_workdir, run_snakemake
from tests.workflow.test_variants_workflow import snapshot
from videoxai.explain.store import load_heatmaps

pytestmark = pytest.mark.workflow

KEY = "video_coop/demo/tiny"
SMALL = {**TINY_DEMO, "explainer-method": "attention-rollout", "classes-to-map": 2, "samples-per-class": 1}
SCORED = {"deletion-steps": 2, "sanity-steps": 1}  # scored (rows with scores), cheaply: both variants share these
MEAN = "attention-rollout+deletion-steps-2+sanity-steps-1+classes-2+samples-1"
MAX = "attention-rollout+fusion-max+deletion-steps-2+sanity-steps-1+classes-2+samples-1"
RESULTS = f"results/explain/{KEY}/demo/test"
FIGURES = f"figures/explainer/{KEY}/demo-test"


def test_two_head_fusions_keep_their_own_results(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, {**SMALL, **SCORED})
    first = run_snakemake(workdir, "--cores", "2", "explain", timeout=900)
    assert first.returncode == 0, (first.stdout + first.stderr)[-4000:]
    before = snapshot(workdir)
    assert f"{RESULTS}/{MEAN}/heatmaps.safetensors" in before
    assert f"{RESULTS}/selection+classes-2+samples-1.json" in before

    second = run_snakemake(workdir, "--cores", "2", "explain", "--config", "head-fusion=max", timeout=900)
    assert second.returncode == 0, (second.stdout + second.stderr)[-4000:]
    assert "rule select_clips" not in second.stdout + second.stderr  # the same selection: both folders name it
    after = snapshot(workdir)
    # the leaderboard covers both (below): it and its checksum records are made again
    summaries = {p for p in before if Path(p).parent.as_posix() in ("results/explain", "figures/explainer")}
    assert {p: v for p, v in after.items() if p in before and p not in summaries} == {
        p: v for p, v in before.items() if p not in summaries
    }
    mean = load_heatmaps(workdir / f"{RESULTS}/{MEAN}/heatmaps.safetensors")
    fused = load_heatmaps(workdir / f"{RESULTS}/{MAX}/heatmaps.safetensors")
    assert mean.params["head-fusion"] == "mean" and fused.params["head-fusion"] == "max"
    assert [c["sample_id"] for c in mean.clips] == [c["sample_id"] for c in fused.clips]
    assert not np.array_equal(mean.heatmaps, fused.heatmaps)  # two explanations, not one copied
    for folder in (MEAN, MAX):
        assert len(list((workdir / f"{FIGURES}/{folder}/video_samples").glob("*.mp4"))) == 2

    with (workdir / "results/explain/summary.csv").open() as fh:
        rows = {r["explainer"]: r for r in csv.DictReader(fh)}
    assert {MEAN, MAX} <= set(rows)
    for folder, fusion in ((MEAN, "mean"), (MAX, "max")):
        row = rows[folder]
        assert row["model"] == KEY and row["method"] == "attention-rollout" and row["head-fusion"] == fusion
        assert row["classes-to-map"] == "2" and row["samples-per-class"] == "1" and row["deletion-steps"] == "2"
        assert row["n_clips"] == "2" and float(row["deletion_auc"]) >= 0
    baselines = [r for name, r in rows.items() if name.startswith("random-map")]
    assert [r["explainer"] for r in baselines] == ["random-map+classes-2+samples-1"]
    assert baselines[0]["method"] == "random-map" and baselines[0]["classes-to-map"] == "2"

    back = run_snakemake(workdir, "-n", "explain", timeout=300)  # the first settings again: everything is there
    assert back.returncode == 0, back.stderr[-3000:]
    assert "Nothing to be done" in back.stdout + back.stderr, back.stdout[-3000:]


def test_the_default_config_keeps_the_plain_names(tmp_path: Path) -> None:
    """Planning the repository's config (the demo): every explanation path is the one earlier versions wrote."""
    workdir = make_workdir(tmp_path)
    proc = subprocess.run(
        [SNAKEMAKE, "--summary", "--cores", "1"], cwd=workdir, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    paths = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    explain = sorted(p for p in paths if p.startswith(("results/explain/", "figures/explainer/")))
    expected = (
        {
            f"results/explain/{key}/demo/test/{name}"
            for key in ("video_coop/demo/tiny", "dual_coop/demo/tiny", "stt/demo/tiny")
            for name in (
                "selection.json",
                "attention-rollout/heatmaps.safetensors",
                "grad-cam/heatmaps.safetensors",
            )
        }
        | {
            f"figures/explainer/{key}/demo-test/{e}/{name}"
            for key in ("video_coop/demo/tiny", "dual_coop/demo/tiny", "stt/demo/tiny")
            for e in ("attention-rollout", "grad-cam")
            for name in ("aggregated_stats.json", "gallery.html", "video_samples", "attention_maps")
        }
        | {
            "results/explain/summary.csv",
            "results/explain/summary.tex",
            "figures/explainer/leaderboard.png",
            "figures/explainer/leaderboard.pdf",
            "results/explain/sanity.csv",
            "figures/explainer/sanity.png",
            "figures/explainer/sanity.pdf",
        }
    )
    assert set(explain) == expected
    assert not any("+" in p for p in explain)
    assert REPO.joinpath("config/config.yaml").read_text() == (workdir / "config/config.yaml").read_text()
