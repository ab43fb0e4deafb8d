"""The options table (videoxai.explain.options) is the one home of explainer and evaluation defaults."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.helpers import REPO
from videoxai.explain.options import (
    COMMON_OPTIONS,
    EVALUATION_SETTINGS,
    METHOD_OPTIONS,
    NOT_CONFIG_KEYS,
    PROMPT_TUNING_METHOD_OPTIONS,
    EvaluationSettings,
    config_names,
    job_options,
    option_key,
)

SCHEMA = yaml.safe_load((REPO / "src" / "videoxai" / "schemas" / "config.schema.yaml").read_text())["properties"]
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def _table() -> dict[str, object]:
    """Every option of the table with its default (a key in two places must have one default)."""
    out: dict[str, object] = {}
    for table in (
        COMMON_OPTIONS,
        EVALUATION_SETTINGS,
        *METHOD_OPTIONS.values(),
        *PROMPT_TUNING_METHOD_OPTIONS.values(),
    ):
        for key, default in table.items():
            assert out.get(key, default) == default, f"option {key} has two defaults: {out[key]!r} and {default!r}"
            out[key] = default
    return out


@pytest.mark.parametrize("key", sorted(set(_table()) - NOT_CONFIG_KEYS))
def test_the_schema_default_is_the_tables(key: str) -> None:
    assert key in SCHEMA, f"option {key} of the options table is not in the config schema"
    default = _table()[key]
    assert SCHEMA[key]["default"] == default and type(SCHEMA[key]["default"]) is type(default)


def test_options_that_are_not_config_keys_are_not_in_the_schema() -> None:
    assert not NOT_CONFIG_KEYS & SCHEMA.keys()


def test_the_default_config_agrees_with_the_table_where_it_names_an_option() -> None:
    table = _table()
    assert {k: CONFIG[k] for k in table if k in CONFIG} == {k: table[k] for k in table if k in CONFIG}


def test_explainer_classes_take_their_options_from_the_table() -> None:
    from videoxai.explain.methods import ALL_METHODS, effective_options
    from videoxai.explain.prompt_tuning import PROMPT_TUNING_EXPLAINERS

    assert {name: cls.options for name, cls in ALL_METHODS.items()} == METHOD_OPTIONS
    assert {name: cls.options for name, cls in PROMPT_TUNING_EXPLAINERS.items()} == PROMPT_TUNING_METHOD_OPTIONS
    assert effective_options("attention-rollout", {}) == {**COMMON_OPTIONS, **METHOD_OPTIONS["attention-rollout"]}


def test_key_conversion() -> None:
    assert option_key("use_cls_token") == "use-cls-token" and option_key("head-fusion") == "head-fusion"
    assert config_names({"deletion_steps": 3, "evaluate": False}) == {"deletion-steps": 3, "evaluate": False}
    assert config_names(None) == {}


def test_evaluation_settings_fill_defaults_accept_either_spelling_and_name_bad_values() -> None:
    assert EvaluationSettings.from_options({}).to_dict() == EVALUATION_SETTINGS
    s = EvaluationSettings.from_options({"deletion_steps": 3, "evaluation-seed": 7, "head-fusion": "max"})
    assert (s.deletion_steps, s.seed, s.sanity_steps) == (3, 7, EVALUATION_SETTINGS["sanity-steps"])
    for bad, match in [
        ({"evaluate": "yes"}, "evaluate must be true or false"),
        ({"deletion-steps": 0}, "deletion-steps must be a positive integer"),
        ({"sanity_steps": True}, "sanity-steps must be a positive integer"),
        ({"insertion-baseline": "zero"}, "insertion-baseline must be 'blur' or 'mean'"),
    ]:
        with pytest.raises(ValueError, match=match):
            EvaluationSettings.from_options(bad)


def test_each_explain_job_gets_only_the_options_its_method_uses() -> None:
    config = {**{k: v["default"] for k, v in SCHEMA.items() if "default" in v}, "target-class": True}
    evaluation = ["evaluate", "deletion-steps", "deletion-baseline", "insertion-baseline", "sanity-steps"]
    common = ["weighted-by-predictions", "target-class", "num-frames", *evaluation]
    assert list(job_options("grad-cam", "standard", config)) == common
    assert list(job_options("attention-rollout", "standard", config)) == [
        *common,
        "head-fusion",
        "discard-ratio",
        "use-cls-token",
    ]
    # -cls takes discard-ratio only under prompt-tuning (prompt-tuning's); its own eps is not a config key
    assert list(job_options("attention-rollout-cls", "standard", config)) == [*common, "head-fusion"]
    assert list(job_options("attention-rollout-cls", "prompt-tuning", config)) == [
        *common,
        "head-fusion",
        "discard-ratio",
    ]
    assert job_options("grad-rollout", "prompt-tuning", config) == job_options("grad-rollout", "standard", config)
    assert job_options("grad-cam", "standard", config)["target-class"] == "true"  # YAML's true: the label
    assert job_options("grad-cam", "standard", {**config, "head-fusion": "max"}) == job_options(
        "grad-cam", "standard", config
    )  # another method's option never reruns this one


def test_the_table_imports_no_torch() -> None:
    """The workflow reads the table on every snakemake start."""
    code = "import sys, videoxai.explain.options, videoxai.keys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
