"""The config schema's ground-truth entry and prefer-annotated: what a user may write, and what is refused."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.helpers import REPO

jsonschema = pytest.importorskip("jsonschema")


def _schema() -> dict:
    return yaml.safe_load((REPO / "src" / "videoxai" / "schemas" / "config.schema.yaml").read_text())


def _config(ground_truth: object) -> dict:
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg = copy.deepcopy(cfg)
    cfg["datasets"]["demo"]["ground-truth"] = ground_truth
    return cfg


def test_the_default_config_names_the_demo_s_puppet_masks() -> None:
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    jsonschema.validate(cfg, _schema())
    assert cfg["datasets"]["demo"]["ground-truth"] == {"format": "jhmdb", "root": "puppet_mask"}
    assert cfg["prefer-annotated"] is False


@pytest.mark.parametrize(
    "entry",
    [
        {"format": "ucf101-24", "file": "UCF101v2-GT.pkl"},
        {"format": "ucf101-24", "file": "/data/pyannot.pkl"},
        {"format": "jhmdb", "root": "JHMDB/puppet_mask"},
    ],
)
def test_valid_ground_truth_entries(entry: dict) -> None:
    jsonschema.validate(_config(entry), _schema())


@pytest.mark.parametrize(
    "entry",
    [
        {"format": "ucf101-24"},  # no file
        {"format": "jhmdb", "file": "x.pkl"},  # a folder format given a file
        {"format": "ava", "file": "x.csv"},
        {"format": "ucf101-24", "file": "x.pkl", "extra": 1},
        "UCF101v2-GT.pkl",
    ],
)
def test_invalid_ground_truth_entries_are_refused(entry: object) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(_config(entry), _schema())
