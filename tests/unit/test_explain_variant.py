"""Explainer folder names (videoxai.explain.variant): the method and its settings not at their defaults, parseable."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.helpers import REPO
from videoxai.explain.leaderboard import ExplanationResult, variant_columns
from videoxai.explain.options import METHOD_OPTIONS, job_options
from videoxai.explain.variant import (
    EXPLAINER_SUFFIXES,
    EXPLAINER_VARIANT_PATTERN,
    SELECTION_SETTINGS,
    SELECTION_SUFFIXES,
    SELECTION_VARIANT_PATTERN,
    ExplainerVariant,
    ExplainerVariantError,
    SelectionVariant,
    list_digest,
    named_keys,
)

SCHEMA = yaml.safe_load((REPO / "src" / "videoxai" / "schemas" / "config.schema.yaml").read_text())["properties"]
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
DEFAULTS = {k: v["default"] for k, v in SCHEMA.items() if "default" in v}


@pytest.mark.parametrize("method", sorted(METHOD_OPTIONS))
@pytest.mark.parametrize("convention", ["standard", "prompt-tuning"])
def test_the_default_config_names_the_plain_method(method: str, convention: str) -> None:
    assert str(ExplainerVariant.from_config(method, convention, CONFIG)) == method
    assert str(ExplainerVariant.from_config(method, convention, DEFAULTS)) == method
    assert ExplainerVariant.parse(method) == ExplainerVariant(method)


def test_every_named_setting_is_a_config_key_with_the_schemas_default() -> None:
    for key in [*EXPLAINER_SUFFIXES, *SELECTION_SUFFIXES]:
        assert key in SCHEMA, key
    for key, default in SELECTION_SETTINGS.items():
        assert SCHEMA[key]["default"] == default, key
    # every option an explain job takes names its folder, apart from num-frames (the split's) and perturbation-batch
    for method in METHOD_OPTIONS:
        taken = set(job_options(method, "standard", DEFAULTS)) - {"num-frames", "perturbation-batch"}
        assert taken == set(named_keys(method)), method


@pytest.mark.parametrize(
    ("method", "settings", "name"),
    [
        ("grad-rollout", {"target-class": True, "classes-to-map": 8}, "grad-rollout+target-true+classes-8"),
        ("attention-rollout", {"head-fusion": "max", "discard-ratio": 0.5}, "attention-rollout+fusion-max+discard-0.5"),
        ("attention-rollout", {"use-cls-token": False, "selection-seed": 3}, "attention-rollout+cls-false+seed-3"),
        ("grad-cam", {"head-fusion": "max", "weighted-by-predictions": True}, "grad-cam+weighted-true"),
        ("rise", {"rise-masks": 24, "rise-seed": 5, "perturbation-batch": 4}, "rise+masks-24+rise-seed-5"),
        ("occlusion", {"occlusion-frames": 4, "occlusion-patch": 0.5}, "occlusion+patch-0.5+box-frames-4"),
        ("grad-cam", {"evaluate": False, "deletion-steps": 4}, "grad-cam+evaluate-false"),
        ("grad-cam", {"deletion-steps": 4, "insertion-baseline": "mean"}, "grad-cam+deletion-steps-4+insertion-mean"),
        ("grad-cam", {"classes-to-mix": 2, "mix-mode": "temporal"}, "grad-cam+pairs-2+mix-temporal"),
        ("legrad", {"legrad-readout": "layers", "prefer-annotated": True}, "legrad+readout-layers+annotated-true"),
    ],
)
def test_names_and_their_parse(method: str, settings: dict, name: str) -> None:
    variant = ExplainerVariant.from_config(method, "standard", {**DEFAULTS, **settings})
    assert str(variant) == name
    assert ExplainerVariant.parse(name) == variant
    assert re.fullmatch(EXPLAINER_VARIANT_PATTERN, name)
    job = variant.options()
    for key, value in settings.items():
        if key in job and (settings.get("evaluate", True) or key == "evaluate"):
            assert job[key] == (str(value).lower() if key == "target-class" else value)


def test_a_class_list_is_named_by_its_digest_and_given_back_from_the_config() -> None:
    classes = ["MoveRight", "Jump"]
    config = {**DEFAULTS, "classes-to-map": classes}
    variant = ExplainerVariant.from_config("grad-cam", "standard", config)
    assert str(variant) == f"grad-cam+classes-{list_digest(classes)}" and len(list_digest(classes)) == 12
    assert variant.selection.values(config)["classes-to-map"] == classes
    with pytest.raises(ExplainerVariantError, match="another list"):
        variant.selection.values({**DEFAULTS, "classes-to-map": ["Jump"]})


def test_prefer_annotated_names_only_an_annotated_dataset() -> None:
    config = {**DEFAULTS, "prefer-annotated": True}
    assert str(SelectionVariant.from_config(config, annotated=True)) == "+annotated-true"
    assert str(SelectionVariant.from_config(config, annotated=False)) == ""
    assert re.fullmatch(SELECTION_VARIANT_PATTERN, "") and re.fullmatch(SELECTION_VARIANT_PATTERN, "+classes-8")


def test_prompt_tuning_options_name_only_where_they_apply() -> None:
    config = {**DEFAULTS, "discard-ratio": 0.5}
    assert str(ExplainerVariant.from_config("attention-rollout-cls", "standard", config)) == "attention-rollout-cls"
    named = ExplainerVariant.from_config("attention-rollout-cls", "prompt-tuning", config)
    assert str(named) == "attention-rollout-cls+discard-0.5"
    assert ExplainerVariant.parse(str(named)).options("prompt-tuning")["discard-ratio"] == 0.5


@pytest.mark.parametrize(
    "name",
    [
        "grad-cam+fusion-max",  # grad-cam takes no head-fusion
        "attention-rollout+fusion-mean",  # a default names nothing
        "attention-rollout+discard-0.5+fusion-max",  # out of order
        "grad-cam+seed-1+classes-8",  # the selection's out of order
        "grad-cam+colour-red",  # no such setting
        "grad-cam+target-true+",
        "nothing+target-true",  # no such method
        "Grad-cam",
    ],
)
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(ExplainerVariantError):
        ExplainerVariant.parse(name)


def test_the_leaderboard_columns_of_a_folder() -> None:
    result = ExplanationResult("m/t/r", "demo", "test+pt", "attention-rollout+fusion-max+classes-8", "x.json")
    columns = variant_columns(result)
    assert columns["method"] == "attention-rollout" and columns["head-fusion"] == "max"
    assert columns["classes-to-map"] == 8 and columns["samples-per-class"] == 2 and columns["use-cls-token"] is True
    baseline = variant_columns(result, "random-map")
    assert baseline["method"] == "random-map" and baseline["classes-to-map"] == 8 and "head-fusion" not in baseline
