"""The explanation leaderboard from a real run of the tiny demo: every model x explainer with intervals over clips,
the baselines as rows, the numbers those of the explainer folders."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from tests.helpers import TINY_DEMO, make_workdir, run_snakemake

pytestmark = pytest.mark.workflow

KEY = "video_coop/demo/tiny"


def test_the_leaderboard_lists_every_model_and_explainer_with_intervals(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, {**TINY_DEMO, "explainer-method": ["attention-rollout", "grad-cam"]})
    proc = run_snakemake(workdir, "--cores", "2", "explain", timeout=1500)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    rows = list(csv.DictReader((workdir / "results/explain/summary.csv").open()))
    assert [(r["model"], r["explainer"]) for r in rows] == [
        (KEY, "attention-rollout"),
        (KEY, "grad-cam"),
        (KEY, "centre-prior"),
        (KEY, "random-map"),
    ]
    for r in rows:
        for score in ("pointing_game", "energy_in_mask"):
            v, lo, hi = float(r[score]), float(r[f"{score}_ci_low"]), float(r[f"{score}_ci_high"])
            assert lo <= v <= hi and 0 <= lo and hi <= 1, (r["explainer"], score, lo, v, hi)
    for r in rows[:2]:
        stats = json.loads(
            (workdir / f"figures/explainer/{KEY}/demo-test/{r['explainer']}/aggregated_stats.json").read_text()
        )
        assert int(r["n_clips"]) == len(stats["per_clip"]) == stats["n_clips"] > 1
        # faithfulness is a clip mean in both places: the same number
        faith = stats["evaluation"]["faithfulness"]
        assert math.isclose(float(r["deletion_auc"]), faith["deletion_auc"], rel_tol=1e-9)
        assert math.isclose(float(r["insertion_auc"]), faith["insertion_auc"], rel_tol=1e-9)
        assert float(r["deletion_auc_ci_low"]) <= float(r["deletion_auc"]) <= float(r["deletion_auc_ci_high"])
        assert r["sanity_spearman"] and r["temporal_in_tube"]
    assert rows[2]["deletion_auc"] == "" and rows[3]["insertion_auc"] == ""  # baselines: mask scores only
    tex = (workdir / "results/explain/summary.tex").read_text()
    assert "grad-cam" in tex and "random-map" in tex and "\\makecell" in tex
    assert (workdir / "figures/explainer/leaderboard.png").stat().st_size > 10_000
    assert (workdir / "figures/explainer/leaderboard.pdf").is_file()
