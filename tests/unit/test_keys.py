"""Split variants (``test+tta+hand+v2``): one parser, one writer, one wildcard pattern, all in agreement."""

from __future__ import annotations

import itertools
import re

import pytest

from videoxai.keys import SPLIT_VARIANT_PATTERN, SPLITS, SplitVariant, SplitVariantError

ALL = [
    SplitVariant(split, tta, hand, views)
    for split, tta, hand, views in itertools.product(SPLITS, (False, True), (False, True), (None, 1, 2, 12))
]


@pytest.mark.parametrize("variant", ALL, ids=str)
def test_parse_and_str_are_each_others_inverse_and_the_wildcard_matches(variant: SplitVariant) -> None:
    name = str(variant)
    assert SplitVariant.parse(name) == variant
    assert re.fullmatch(SPLIT_VARIANT_PATTERN, name)


def test_the_suffixes_and_the_options_they_stand_for() -> None:
    assert str(SplitVariant("test")) == "test"
    assert (
        str(SplitVariant("test", augmentation=True, handcrafted_prompts=True, temporal_views=2)) == "test+tta+hand+v2"
    )
    assert SplitVariant.parse("val+hand+v3").options() == {
        "split": "val",
        "use-augmentation": False,
        "use-handcrafted-prompts": True,
        "num-temporal-views": 3,
    }
    assert SplitVariant.parse("test").options()["num-temporal-views"] is None  # the model's own views


@pytest.mark.parametrize(
    "name", ["test+hand+tta", "test+v2+tta", "test+v0", "test+v", "test+tta+tta", "tests", "test+", "", "dev+tta"]
)
def test_names_out_of_order_or_unknown_are_refused_by_the_parser_and_the_wildcard(name: str) -> None:
    with pytest.raises(SplitVariantError, match="invalid split"):
        SplitVariant.parse(name)
    assert not re.fullmatch(SPLIT_VARIANT_PATTERN, name)


def test_from_config_builds_the_name_the_workflow_files_use() -> None:
    config = {"split": "test", "use-augmentation": True, "use-handcrafted-prompts": False, "num-temporal-views": 2}
    assert str(SplitVariant.from_config(config)) == "test+tta+v2"
    assert str(SplitVariant.from_config({**config, "num-temporal-views": None})) == "test+tta"


@pytest.mark.parametrize("views", [0, -1, True, 1.5, "2"])
def test_bad_view_counts_are_refused(views: object) -> None:
    with pytest.raises(SplitVariantError, match="num-temporal-views"):
        SplitVariant("test", temporal_views=views)  # type: ignore[arg-type]


def test_with_split_keeps_the_options() -> None:
    """Temperature scaling fits on val with the test split's options."""
    assert str(SplitVariant.parse("test+tta+hand+v2").with_split("val")) == "val+tta+hand+v2"


@pytest.mark.parametrize("name", ["test+s1", "test+s3", "test+v4+s3", "val+tta+hand+v2+s1"])
def test_spatial_views_are_their_own_suffix(name: str) -> None:
    """``num-spatial-views`` is part of a result's identity: ``+s{S}`` after ``+v{V}``; options name it only when set
    (results made before the key existed keep their parameters, so they do not rerun)."""
    variant = SplitVariant.parse(name)
    assert str(variant) == name and re.fullmatch(SPLIT_VARIANT_PATTERN, name)
    assert variant.options()["num-spatial-views"] == int(name[-1])
    assert "num-spatial-views" not in SplitVariant.parse("test+v4").options()
    config = {"split": "test", "use-augmentation": False, "use-handcrafted-prompts": False, "num-temporal-views": 4}
    assert str(SplitVariant.from_config({**config, "num-spatial-views": 3})) == "test+v4+s3"
    assert str(SplitVariant.from_config(config)) == "test+v4"


@pytest.mark.parametrize("name", ["test+s3+v4", "test+s2", "test+s0", "test+s"])
def test_spatial_views_out_of_order_or_not_1_or_3_are_refused(name: str) -> None:
    with pytest.raises(SplitVariantError):
        SplitVariant.parse(name)
    assert name in ("test+s2",) or not re.fullmatch(SPLIT_VARIANT_PATTERN, name)


@pytest.mark.parametrize(
    "name",
    [
        "test+ckpt-3.pt",
        "test+pt",
        "test+b10",
        "test+ts",
        "test+T1.5",
        "val+tta+v2+s3+ckpt-best.pt+pt+b7+ts",
    ],
)
def test_analysis_settings_are_part_of_the_name(name: str) -> None:
    """checkpoint-file, conventions, n-bins, temperature-scaling / temperature each suffix the split (bootstrap, the intervals' resamples, does not)
    when not at their default, so changing one never overwrites a result; the defaults keep the plain name."""
    variant = SplitVariant.parse(name)
    assert str(variant) == name and re.fullmatch(SPLIT_VARIANT_PATTERN, name)
    config = {"split": "test", "use-augmentation": False, "use-handcrafted-prompts": False, "num-temporal-views": None}
    defaults = {"conventions": "standard", "n-bins": 15, "temperature-scaling": False, "temperature": None}
    assert str(SplitVariant.from_config({**config, **defaults, "bootstrap": 0, "checkpoint-file": {}})) == "test"
    full = {"conventions": "prompt-tuning", "n-bins": 10, "temperature": 2, "bootstrap": 50}
    assert str(SplitVariant.from_config({**config, **full, "checkpoint-file": {"a/b/c": "3.pt"}}, "a/b/c")) == (
        "test+ckpt-3.pt+pt+b10+T2"
    )
    assert str(SplitVariant.from_config({**config, "checkpoint-file": {"a/b/c": "3.pt"}}, "x/y/z")) == "test"


def test_each_stage_is_named_by_what_changes_its_numbers() -> None:
    v = SplitVariant.parse("test+tta+ckpt-3.pt+pt+b10+ts")
    assert str(v.for_predictions(label_order_differs=False)) == "test+tta+ckpt-3.pt"
    assert str(v.for_predictions(label_order_differs=True)) == "test+tta+ckpt-3.pt+pt"
    assert str(v.for_explanations(convention_matters=True)) == "test+tta+ckpt-3.pt+pt"
    assert str(v.for_explanations(convention_matters=False)) == "test+tta+ckpt-3.pt"
    assert v.settings()["n-bins"] == 10 and v.settings()["checkpoint-file"] == "3.pt"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"checkpoint_file": "../best.pt"}, "checkpoint-file"),
        ({"checkpoint_file": "a+b.pt"}, "checkpoint-file"),
        ({"n_bins": 0}, "n-bins"),
        ({"temperature": 0}, "temperature"),
        ({"temperature": 1.0, "temperature_scaling": True}, "not both"),
        ({"convention": "seed"}, "conventions"),
    ],
)
def test_bad_analysis_settings_are_refused_in_one_line(kwargs: dict, message: str) -> None:
    with pytest.raises(SplitVariantError, match=message):
        SplitVariant("test", **kwargs)
