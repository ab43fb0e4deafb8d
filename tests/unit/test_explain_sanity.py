"""The sanity-check table's parts: readable layer names, and a summary made before the per-step values."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from videoxai.explain.leaderboard import stats_at
from videoxai.explain.sanity import layer_group, readable_layers, sanity_rows


def test_modules_are_named_by_their_numbered_block_top_down() -> None:
    assert layer_group("tower.blocks.11.attn_s.qkv") == "tower.blocks.11"
    assert layer_group("visual.transformer.resblocks.3") == "visual.transformer.resblocks.3"
    assert layer_group("text.projection") == "text.projection"
    assert layer_group("") == "(model)"
    names = ["tower.blocks.1.mlp.2", "tower.norm", "tower.blocks.1.attn.qkv", "tower.blocks.0.mlp.0", ""]
    assert readable_layers(names) == ["tower.blocks.1", "tower.norm", "tower.blocks.0", "(model)"]


def write(tmp_path: Path, per_clip: list[dict], sanity: list[dict]):
    r = stats_at(tmp_path, "video_coop", "demo", "tiny", "demo", "test", "grad-cam")
    Path(r.stats).parent.mkdir(parents=True)
    Path(r.stats).write_text(json.dumps({"per_clip": per_clip, "evaluation": {"sanity": sanity}}))
    return r


def test_rows_are_step_means_and_a_constant_map_is_left_out(tmp_path: Path) -> None:
    clips = [
        {"sanity_spearman_steps": [0.5, 0.1], "sanity_ssim_steps": [0.8, 0.2]},
        {"sanity_spearman_steps": [0.3, None], "sanity_ssim_steps": [0.6, None]},
        {"sanity_spearman_steps": [0.1, -0.1], "sanity_ssim_steps": [0.4, 0.0]},
    ]
    sanity = [{"randomised": ["head", "blocks.1.mlp", "blocks.1.attn"]}, {"randomised": ["blocks.0.mlp", ""]}]
    rows = sanity_rows([write(tmp_path, clips, sanity)], resamples=200)
    assert [(r["step"], r["n_modules"], r["randomised_to"], r["layers"], r["n_clips"]) for r in rows] == [
        (1, 3, "blocks.1", "head; blocks.1", 3),
        (2, 5, "(model)", "blocks.0; (model)", 2),
    ]
    assert rows[0]["spearman"] == pytest.approx(0.3) and rows[1]["ssim"] == pytest.approx(0.1)
    assert rows[0]["ssim_ci_low"] <= rows[0]["ssim"] <= rows[0]["ssim_ci_high"]


def test_a_summary_without_per_step_values_is_left_out_and_named(tmp_path: Path, caplog) -> None:
    r = write(tmp_path, [{"sanity_spearman": 0.2}], [{"step": 1, "spearman": 0.2}])
    with caplog.at_level(logging.WARNING, logger="videoxai.explain"):
        assert sanity_rows([r]) == []
    assert f"snakemake --forcerun {r.stats}" in caplog.text
