"""The report's first page (videoxai.tracking.overview): what it says when results are there and when not."""

from __future__ import annotations

import json
from pathlib import Path

import docutils.core

from videoxai.tracking.overview import analysed, explanation_table, overview

CONFIG = {
    "models": ["video_coop/ucf101/best-mean"],
    "datasets": {"ucf101": {"format": "ucf101", "root": "/data/UCF-101"}},
    "dataset-test": "ucf101",
    "split": "test",
    "conventions": "prompt-tuning",
    "explainer-method": "grad-rollout",
    "n-bins": 15,
    "bootstrap": 200,
}
STATS = "{root}/{method}/{train}/{run}/{test}-{split}/{explainer}.json"
ANALYSIS = {"method": "video_coop", "train": "ucf101", "run": "best-mean", "test": "ucf101", "split": "test"}


def _html(rst: str) -> str:
    """Rendered as the report renders its first page (docutils), so a malformed table fails here."""
    return docutils.core.publish_parts(rst, writer_name="html", settings_overrides={"halt_level": 2})["html_body"]


def test_what_was_analysed_names_models_data_split_and_conventions() -> None:
    text = _html(analysed(CONFIG))
    for word in ("video_coop/ucf101/best-mean", "/data/UCF-101", "test", "prompt-tuning", "grad-rollout", "15"):
        assert word in text, word


def test_before_the_run_each_part_says_what_is_missing(tmp_path: Path) -> None:
    parts = overview(
        CONFIG, str(tmp_path / "summary.csv"), STATS.replace("{root}", str(tmp_path)), [ANALYSIS], ["grad-rollout"]
    )
    assert "not there yet" in parts["calibration"] and "run the ``calibration`` target" in parts["calibration"]
    assert "1 of 1 explainer folders are not scored yet" in parts["explanations"]
    _html("\n".join(parts.values()))


def test_scores_against_annotations_when_the_data_has_no_masks(tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    evaluation = {
        "annotations": {"overall": {"map": {"pointing_game": 0.75, "energy_in_mask": 0.3704}}},
        "faithfulness": {"deletion_auc": 0.1213, "insertion_auc": 0.9261},
        "sanity": [{"step": 1, "spearman": 0.17}],
    }
    path.write_text(json.dumps({"evaluation": evaluation}))
    text = _html(explanation_table({("m/d/r", "ucf101-test", "grad-rollout"): str(path)}))
    for number in ("0.75", "0.370", "0.121", "0.926", "0.17"):
        assert number in text, number
