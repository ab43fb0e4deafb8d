"""An explainer the chosen conventions cannot define is refused while planning, in one line naming the list to change.

Prompt-tuning's Grad-CAM hooks a layer whose image tokens get no gradient: on prompt-tuning's own models (their run
folders) every map would be 0 / 0. The planning check finds them from each checkpoint's config.json (the registry's
family), so the config is refused before any job instead of each explain job failing after the model ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import origin_fixtures
from videoxai.preflight import ConfigError, check_explainers, checkpoint_family, explainer_errors

KEYS = ("video_coop/ucf101/best-attention-0", "stt/ucf101/best-mean")


@pytest.fixture()
def run_configs(tmp_path: Path) -> dict[str, str | None]:
    """Two prompt-tuning run folders' config.json (copied) and a demo model not trained yet (no config)."""
    fx = origin_fixtures()
    out: dict[str, str | None] = {}
    for key in KEYS:
        dest = tmp_path / key / "config.json"
        dest.parent.mkdir(parents=True)
        shutil.copy(fx / "runs" / key / "config.json", dest)
        out[key] = str(dest)
    out["video_coop/demo/tiny"] = None
    return out


def test_grad_cam_under_prompt_tuning_conventions_is_refused_on_prompt_tuning_models(run_configs) -> None:
    config = {"conventions": "prompt-tuning", "explainer-method": ["attention-rollout", "grad-cam"]}
    assert explainer_errors(config, run_configs) == [
        "config key 'explainer-method': grad-cam is not defined under conventions: prompt-tuning for "
        "video_coop/ucf101/best-attention-0, stt/ucf101/best-mean (prompt-tuning's own models: its Grad-CAM hooks the "
        "last CLIP layer's layer_norm2, whose image tokens get no gradient, so every map is 0 / 0); "
        "set explainer-method: [attention-rollout], or conventions: standard"
    ]
    with pytest.raises(ConfigError) as e:
        check_explainers(config, run_configs)
    assert str(e.value) == explainer_errors(config, run_configs)[0]  # the one line is the whole message


def test_what_the_conventions_define_passes(run_configs) -> None:
    assert checkpoint_family(KEYS[0], run_configs[KEYS[0]], {}) == "prompt-tuning"
    assert explainer_errors({"conventions": "standard", "explainer-method": ["grad-cam"]}, run_configs) == []
    rollouts = ["attention-rollout", "attention-rollout-cls", "grad-rollout"]
    assert explainer_errors({"conventions": "prompt-tuning", "explainer-method": rollouts}, run_configs) == []
    # the demo models are explained on their own Grad-CAM layer under either convention
    demo_only = {"video_coop/demo/tiny": None}
    assert explainer_errors({"conventions": "prompt-tuning", "explainer-method": "grad-cam"}, demo_only) == []


def test_a_custom_factory_is_its_own_family(run_configs) -> None:
    config = {"conventions": "prompt-tuning", "explainer-method": ["grad-cam"], "custom": {KEYS[0]: "pkg.mod:make"}}
    lines = explainer_errors(config, {KEYS[0]: run_configs[KEYS[0]]})
    assert lines == []  # the user's factory builds it: its own gradcam_target, which prompt-tuning's formula can weigh


def test_rollouts_on_kept_visual_prompts_are_refused_under_prompt_tuning(tmp_path: Path) -> None:
    """dual_coop with keep-vision-prompts-throughout: true: prompt-tuning's rollouts cannot map it (its explainer
    fails on the prompt tokens), so planning refuses them; grad-rollout (standard-only) and the false case pass."""
    import json

    key = "dual_coop/ucf101/best-mean"
    source = json.loads((origin_fixtures() / "runs" / key / "config.json").read_text())
    configs = {}
    for keep in (True, False):
        dest = tmp_path / str(keep) / key / "config.json"
        dest.parent.mkdir(parents=True)
        dest.write_text(json.dumps({**source, "keep-vision-prompts-throughout": keep}))
        configs[keep] = {key: str(dest)}
    config = {"conventions": "prompt-tuning", "explainer-method": ["attention-rollout-cls", "grad-rollout"]}
    assert explainer_errors(config, configs[True]) == [
        f"config key 'explainer-method': attention-rollout-cls is not defined under conventions: prompt-tuning for "
        f"{key} (prompt-tuning's own model: keep-vision-prompts-throughout: true keeps its visual prompts among each "
        "frame's tokens, which prompt-tuning's rollout cannot lay on the patch grid (its own explainer fails on them "
        "too)); set explainer-method: [grad-rollout], or conventions: standard"
    ]
    assert explainer_errors(config, configs[False]) == []
    assert explainer_errors({**config, "conventions": "standard"}, configs[True]) == []
