"""One definition of the conventions; the earlier spelling is refused with its new name, in one line."""

from __future__ import annotations

import pytest

from videoxai.conventions import CONVENTIONS, check_convention
from videoxai.io import read_yaml
from videoxai.preflight import config_errors
from videoxai.schemas import CONFIG_SCHEMA


def test_the_conventions_are_standard_and_prompt_tuning() -> None:
    assert CONVENTIONS == ("standard", "prompt-tuning")
    assert [check_convention(c) for c in CONVENTIONS] == list(CONVENTIONS)


@pytest.mark.parametrize("old", ["seed", "origin"])
def test_the_old_spelling_names_the_new_one(old: str) -> None:
    with pytest.raises(ValueError) as e:
        check_convention(old)
    assert str(e.value) == (
        f"conventions: {old!r} is now called 'prompt-tuning' (the upstream's numbers): set conventions: prompt-tuning"
    )


def test_the_config_check_names_the_new_spelling_in_one_line() -> None:
    schema = read_yaml(CONFIG_SCHEMA)
    lines = config_errors({"conventions": "seed"}, schema)
    assert (
        "config key 'conventions' is 'seed', which is now called 'prompt-tuning': set conventions: prompt-tuning"
        in lines
    )
    assert config_errors({"conventions": "prompt-tuning"}, schema) == [
        line for line in config_errors({}, schema) if "conventions" not in line
    ]


def test_the_old_pipeline_spelling_names_the_new_one() -> None:
    """A checkpoint config.json's ``input_spec.pipeline: origin`` is refused with its new name (it was read silently)."""
    from videoxai.data.spec import InputSpec
    from videoxai.models.checkpoints.config import config_problems

    with pytest.raises(
        ValueError, match="'origin' is now called 'prompt-tuning': set input_spec.pipeline to prompt-tuning"
    ):
        InputSpec(num_frames=8, size=224, pipeline="origin")
    assert InputSpec(num_frames=8, size=224, pipeline="prompt-tuning").pipeline == "prompt-tuning"
    config = {
        "method": "video_coop",
        "class_names": ["a"],
        "input_spec": {"num_frames": 8, "size": 32, "pipeline": "origin"},
    }
    assert "field 'input_spec.pipeline' is 'origin', which is now called 'prompt-tuning': set it to prompt-tuning" in (
        config_problems(config)
    )
