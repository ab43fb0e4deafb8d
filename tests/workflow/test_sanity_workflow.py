"""The cascading randomisation check (Adebayo et al. 2018) as a similarity curve over layers, from a real run of the
tiny demo (the session's finished run): results/explain/sanity.csv is each step's clip mean of the per-clip values
the explain stage wrote into the heatmaps files (read here with safetensors itself), with a bootstrap interval,
and figures/explainer/sanity.{png,pdf} is drawn."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

pytestmark = pytest.mark.workflow

KEY = "video_coop/demo/tiny"
EXPLAINERS = ("attention-rollout", "grad-cam")  # the tiny demo's (.test/config/config.yaml: the default list)


def heatmaps_metadata(run: Path, explainer: str) -> tuple[list[dict], dict]:
    with safe_open(str(run / f"results/explain/{KEY}/demo/test/{explainer}/heatmaps.safetensors"), "np") as f:
        meta = f.metadata()
    return json.loads(meta["clips"]), json.loads(meta["params"])


def test_the_sanity_curve_is_the_clip_mean_of_each_step(finished: Path) -> None:
    rows = list(csv.DictReader((finished / "results/explain/sanity.csv").open()))
    assert {r["explainer"] for r in rows} == set(EXPLAINERS) and {r["model"] for r in rows} == {KEY}
    for explainer in EXPLAINERS:
        clips, params = heatmaps_metadata(finished, explainer)
        mine = [r for r in rows if r["explainer"] == explainer]
        randomised = params["evaluation"]["sanity_randomised"]
        assert [int(r["step"]) for r in mine] == list(range(1, len(randomised) + 1))
        assert len(mine) == params["evaluation"]["sanity-steps"] > 1
        total = 0
        for s, r in enumerate(mine):
            total += len(randomised[s])
            assert int(r["n_modules"]) == total
            # readable layers, top-down: numbered blocks collapsed, the step's first module's layer first
            first = re.match(r"^(.*?\.\d+)(\..*)?$", randomised[s][0])
            assert r["layers"].split("; ")[0] == (first.group(1) if first else randomised[s][0] or "(model)")
            for measure, key in (("spearman", "sanity_spearman"), ("ssim", "sanity_ssim")):
                values = [c["evaluation"][key][s] for c in clips]
                values = np.array([v for v in values if v is not None], dtype=np.float64)
                assert values.size > 1, (explainer, measure, s)
                mean, lo, hi = float(r[measure]), float(r[f"{measure}_ci_low"]), float(r[f"{measure}_ci_high"])
                assert math.isclose(mean, values.mean(), rel_tol=1e-12, abs_tol=1e-15), (explainer, measure, s)
                assert values.min() <= lo <= mean <= hi <= values.max(), (explainer, measure, s, lo, mean, hi)
                assert -1.0 <= values.min() and values.max() <= 1.0
            assert int(r["n_clips"]) == sum(c["evaluation"]["sanity_spearman"][s] is not None for c in clips)
        assert total == sum(len(x) for x in randomised)
    # the explanation summary keeps the same per-step values per clip, and the steps' modules
    stats = json.loads((finished / f"figures/explainer/{KEY}/demo-test/grad-cam/aggregated_stats.json").read_text())
    clips, params = heatmaps_metadata(finished, "grad-cam")
    assert [c["sanity_ssim_steps"] for c in stats["per_clip"]] == [c["evaluation"]["sanity_ssim"] for c in clips]
    assert [s["randomised"] for s in stats["evaluation"]["sanity"]] == params["evaluation"]["sanity_randomised"]
    assert (finished / "figures/explainer/sanity.png").stat().st_size > 10_000
    assert (finished / "figures/explainer/sanity.pdf").read_bytes()[:5] == b"%PDF-"
