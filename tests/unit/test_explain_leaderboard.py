"""The explanation leaderboard's parts: finding explainer folders by their paths, clip means with intervals."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from videoxai.explain.leaderboard import find_explanation_results, leaderboard_rows, mean_interval, stats_at


def write_stats(root: Path, rel: str, per_clip=None) -> None:
    folder = root / "explainer" / rel
    folder.mkdir(parents=True, exist_ok=True)
    stats = {"n_clips": 0} if per_clip is None else {"n_clips": len(per_clip), "per_clip": per_clip}
    (folder / "aggregated_stats.json").write_text(json.dumps(stats))


def test_folders_are_found_by_their_paths_whatever_the_variant(tmp_path: Path) -> None:
    write_stats(tmp_path, "video_coop/demo/tiny/demo-test/grad-cam")
    write_stats(tmp_path, "video_coop/demo/tiny/demo-test+pt/grad-cam")
    write_stats(tmp_path, "stt/ucf-101/r/ucf-101-val+tta+v2/attention-rollout")  # a '-' in the dataset's name
    write_stats(tmp_path, "stt/ucf-101/r/ucf101-dev/attention-rollout")  # not a split the workflow writes
    (tmp_path / "explainer/leaderboard.png").write_text("")
    found = find_explanation_results(tmp_path)
    assert [(r.model, r.test, r.variant, r.explainer) for r in found] == [
        ("stt/ucf-101/r", "ucf-101", "val+tta+v2", "attention-rollout"),
        ("video_coop/demo/tiny", "demo", "test", "grad-cam"),
        ("video_coop/demo/tiny", "demo", "test+pt", "grad-cam"),
    ]
    assert found[1] == stats_at(tmp_path, "video_coop", "demo", "tiny", "demo", "test", "grad-cam")


def test_a_clip_mean_and_its_interval() -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(size=200).tolist()
    mean, lo, hi = mean_interval(values, resamples=2000)
    assert mean == pytest.approx(np.mean(values))
    se = np.std(values) / math.sqrt(len(values))  # the normal interval: the bootstrap's is close to it here
    assert lo == pytest.approx(mean - 1.96 * se, abs=0.01) and hi == pytest.approx(mean + 1.96 * se, abs=0.01)
    assert mean_interval([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)
    single = mean_interval([0.3, None])
    assert single[0] == 0.3 and math.isnan(single[1])
    assert mean_interval([None]) is None


def test_rows_with_baselines_and_old_folders_left_out(tmp_path: Path) -> None:
    clips = [
        {"pointing_game": 1.0, "random_pointing_game": 0.0, "centre_pointing_game": 1.0, "deletion_auc": 0.2},
        {"pointing_game": 0.0, "random_pointing_game": 0.0, "centre_pointing_game": 0.0, "deletion_auc": 0.4},
    ]
    write_stats(tmp_path, "m/d/r/demo-test/grad-cam", clips)
    write_stats(tmp_path, "m/d/r/demo-test/attention-rollout")  # made before per-clip scores were kept
    rows = leaderboard_rows(find_explanation_results(tmp_path))
    assert [r["explainer"] for r in rows] == ["grad-cam", "centre-prior", "random-map"]
    assert rows[0]["pointing_game"] == 0.5 and rows[0]["deletion_auc"] == pytest.approx(0.3)
    assert rows[2]["pointing_game"] == 0.0 and rows[2]["deletion_auc"] is None
