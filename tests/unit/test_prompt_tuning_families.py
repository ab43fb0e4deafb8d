"""Prompt-tuning's vidop, vilt and vita run folders give prompt-tuning's numbers (../shared/origin-fixtures-families).

The cases were made by running prompt-tuning's own code on a 12-layer tiny
CLIP (ViLT's modality-transfer lists and ViTa's per-layer modules are written
for ViT-B/16's 12 layers). The run folders are loaded as they are, through
``build_prompt_tuning_model`` and through ``videoxai.load_model`` (every way
of naming a run), and every tensor of every case file is compared within
1e-5 (float32, CPU): the test fails if a case holds a tensor it does not
compare.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import videoxai
from tests.helpers import fixture_clip, fixture_run_model, origin_fixtures_families
from videoxai.models.checkpoints.files import CheckpointError
from videoxai.models.families.prompt_tuning import RunOptions, build_prompt_tuning_model
from videoxai.models.families.prompt_tuning.config import vilt_layers
from videoxai.models.families.prompt_tuning.context import pool_frames

CASES = [
    "vidop/ucf101/best-with-hand-features-attention-0",
    "vidop/ucf101/best-no-hand-features-mean",
    "vilt/ucf101/best-mean",
    "vita/ucf101/beat-mean",
]
ATOL = 1e-5


@pytest.fixture(scope="module")
def fixtures() -> Path:
    return origin_fixtures_families()


@pytest.fixture(scope="module")
def clip(fixtures):
    return fixture_clip(fixtures)


@pytest.fixture(scope="module")
def inputs(fixtures):
    return load_file(str(fixtures / "cases" / "input_video.safetensors"))


@pytest.fixture(scope="module")
def class_names(fixtures) -> list[str]:
    return json.loads((fixtures / "cases" / "class_names.json").read_text())


def run_config(fixtures: Path, key: str) -> dict:
    return json.loads((fixtures / "runs" / key / "config.json").read_text())


def build(fixtures: Path, key: str, class_names, clip, weights: str = "best.pt"):
    return fixture_run_model(fixtures, key, class_names, clip, weights)


def golden(fixtures: Path, key: str) -> dict[str, torch.Tensor]:
    return load_file(str(fixtures / "cases" / f"{key.replace('/ucf101/', '__')}.safetensors"))


def close(got: torch.Tensor, want: torch.Tensor, what: str) -> None:
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    if not want.is_floating_point():
        assert torch.equal(got.to(want.dtype), want), what
        return
    diff = (got.float() - want.float()).abs().max().item()
    assert diff <= ATOL, f"{what}: max |diff| {diff:.3g} > {ATOL}"


def reproduced(model, video: torch.Tensor, mask: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
    """Every tensor a case file may hold, computed here under the name prompt-tuning's generator gave it."""
    out: dict[str, torch.Tensor] = {}
    logits, text, vid = model.upstream_forward(video)
    out.update(logits=logits, text_features=text, video_features=vid)
    out["logits_with_mask"] = model(video, mask)
    out["logits_softmax"] = model.upstream_forward(video, softmax=True)[0]
    out["logit_scale_exp"] = model.scale().reshape(1)
    out["class_token_ids"], out["class_attention_mask"] = model.token_ids, model.token_mask
    out["prompt_inputs_embeds"], out["prompt_attention_mask"] = model.prompt()
    out["text_features_unnormalised"] = model.raw_text_features()  # prompt-tuning's encode_texts(normalise=False)
    # prompt-tuning's CalibratedModel.eval with the learned prompts, and forward(class_names=...): the same model
    out["logits_calibrated_model_learned_prompts"] = model(video)
    model.set_class_names(list(names))
    out["logits_class_names_passed"] = model(video)
    # (for vilt and vita prompt-tuning's encode_video_batch raises there, so their cases lack these two)
    frames, _ = model.frame_features(video)
    b, v, t, d = frames.shape
    out["frame_features"] = frames.reshape(b * v * t, d)
    pooled = pool_frames(model.context_learner, frames.reshape(b * v, t, d)).reshape(b, v, d)
    out["video_features_pooled_before_final_norm"] = pooled
    model.set_handcrafted_prompts(True)
    out["logits_handcrafted_prompts"] = model(video)
    out["handcrafted_token_ids"], out["handcrafted_attention_mask"] = model.handcrafted_ids, model.handcrafted_mask
    out["handcrafted_text_features_unnormalised"] = model.raw_text_features()
    model.set_handcrafted_prompts(False)
    return out


@pytest.mark.parametrize("key", CASES)
def test_every_tensor_of_the_case_equals_prompt_tuning(key, fixtures, clip, inputs, class_names):
    model = build(fixtures, key, class_names, clip)
    ref = golden(fixtures, key)
    with torch.no_grad():
        got = reproduced(model, inputs["input_video"], inputs["video_mask"], class_names)
    assert set(ref) <= set(got), f"case tensors not compared: {sorted(set(ref) - set(got))}"
    for name, want in ref.items():
        close(got[name], want, name)
    raises = json.loads((fixtures / "manifest_models.json").read_text())["keys"][key]["origin_raises"]
    assert set(got) - set(ref) == set(raises)  # what the case lacks is exactly what prompt-tuning raised on


def test_the_families_own_conventions_show_in_the_fixtures(fixtures, clip, inputs, class_names):
    """vilt: unnormalised features, hand-crafted prompts ignored; vita: hand-crafted text left unnormalised."""
    video = inputs["input_video"]
    vilt = golden(fixtures, "vilt/ucf101/best-mean")
    assert not torch.allclose(vilt["text_features"].norm(dim=-1), torch.ones(7), atol=0.1)
    assert not torch.allclose(vilt["video_features"].norm(dim=-1), torch.ones(2, 3), atol=0.1)
    assert torch.equal(vilt["logits_handcrafted_prompts"], vilt["logits"])
    model = build(fixtures, "vita/ucf101/beat-mean", class_names, clip)
    with torch.no_grad():
        model.set_handcrafted_prompts(True)
        raw = model.raw_text_features()
        vid = model.upstream_forward(video)[2]
        by_hand = model.scale() * torch.einsum("bvd,kd->bvk", vid, raw).mean(1)
    close(by_hand, golden(fixtures, "vita/ucf101/beat-mean")["logits_handcrafted_prompts"], "vita hand-crafted")


@pytest.mark.parametrize("key", CASES)
def test_every_epoch_file_loads_strictly_and_the_manifest_names_every_parameter(key, fixtures, clip, class_names):
    model = build(fixtures, key, class_names, clip, weights="1.pt")
    manifest = json.loads((fixtures / "manifest_models.json").read_text())["keys"][key]["context_state_dict"]
    assert {k: list(v.shape) for k, v in model.context_state_dict().items()} == manifest


def test_vidop_has_no_text_context_whatever_the_config_says(fixtures, clip, class_names):
    """Prompt-tuning's VidOpModel forces ctx-len to 0: the prompt is [BOS, class tokens, EOS]."""
    config = {**run_config(fixtures, "vidop/ucf101/best-no-hand-features-mean"), "ctx-len": 8}
    assert RunOptions.from_run_config(config).ctx_len == 0
    model = build_prompt_tuning_model(config, class_names, clip)
    assert model.context_learner.context_vectors_text.shape == (0, 32)
    embeds, mask = model.prompt()
    assert embeds.shape[1] == model.token_ids.shape[1] and torch.equal(mask, model.token_mask.float())


# ---------------------------------------------------------------- through the checkpoint pipeline, as a user


@pytest.fixture()
def hf_env(fixtures, monkeypatch) -> Path:
    """The fixtures' tiny CLIP as the offline Hugging Face cache."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HOME", str(fixtures / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(fixtures / "hf-home" / "hub"))
    return fixtures


@pytest.mark.parametrize("key", CASES)
def test_load_model_reads_the_run_folders_as_they_are(key, hf_env, inputs, class_names):
    fixtures = hf_env
    want = golden(fixtures, key)["logits"]
    nested = json.loads((fixtures / "checkpoint_paths.json").read_text())
    for runs in (r for method in nested.values() for r in method.values()):
        runs.update({run: str(fixtures / p) for run, p in runs.items()})
    for kwargs in (
        {"checkpoint_paths": str(fixtures / "checkpoint_paths.json")},  # prompt-tuning's own file
        {"checkpoint_paths": nested},
        {"checkpoints_root": fixtures / "runs"},  # a registry of prompt-tuning run folders
    ):
        model = videoxai.load_model(key, class_names=class_names, **kwargs)
        assert model.method == key.split("/")[0] and not model.training
        with torch.no_grad():
            close(model(inputs["input_video"]), want, f"{key} via {sorted(kwargs)}")


def test_resolving_records_the_run_and_refuses_a_run_under_another_method(hf_env, tmp_path):
    import shutil

    from videoxai.models.checkpoints.resolve import resolve_model

    fixtures = hf_env
    r = resolve_model("vilt/ucf101/best-mean", fixtures / "runs")
    assert r["format"] == "prompt-tuning-run" and r["method"] == "vilt"
    assert r["model_config"]["modality-transfer-text"][5] == [[], [5]]
    # a ViTa run filed under vilt: its config lacks what a ViLT model needs, named with the file
    shutil.copytree(fixtures / "runs" / "vita/ucf101/beat-mean", tmp_path / "vilt/ucf101/x")
    with pytest.raises(CheckpointError, match=r"x/config.json: a vilt run config needs 'modality-transfer-text'"):
        resolve_model("vilt/ucf101/x", tmp_path)


# ---------------------------------------------------------------- options beyond the fixtures


VILT_SHORT = {
    # two layers: text prompts with a text->vision translation, then vision prompts with a vision->text one
    "modality-transfer-text": [[[0], []], [[], [1]]],
    "modality-transfer-vision": [[[], [0]], [[1], []]],
    "num-tokens-per-layer-text": 2,
    "num-tokens-per-layer-vision": 3,
}


def test_vilt_layers_say_what_each_layer_appends():
    options = RunOptions.from_run_config({"method-name": "vilt", **VILT_SHORT})
    first, second = vilt_layers(options, 2)
    assert (first.text_context, first.text_to_vision, first.vision_context, first.vision_to_text) == (
        (0,),
        (0,),
        (),
        (),
    )
    assert (second.vision_context, second.vision_to_text, second.text_context) == ((1,), (1,), ())
    assert first.joint and second.joint
    # a layer using an entry no layer creates, and lists shorter than the CLIP: named
    bad = {**VILT_SHORT, "modality-transfer-text": [[[1], []], [[], [1]]]}
    with pytest.raises(
        ValueError, match=r"layer 0's modality-transfer lists use text_attention_context of layer\(s\) \[1\]"
    ):
        vilt_layers(RunOptions.from_run_config({"method-name": "vilt", **bad}), 2)
    with pytest.raises(ValueError, match="an entry for each of the CLIP's 3 layers"):
        vilt_layers(options, 3)
    with pytest.raises(ValueError, match="needs 'modality-transfer-text'"):
        RunOptions.from_run_config({"method-name": "vilt"})
    with pytest.raises(ValueError, match="pair of lists"):
        RunOptions.from_run_config({"method-name": "vilt", **VILT_SHORT, "modality-transfer-vision": [0, 1]})
    with pytest.raises(ValueError, match="a vita run config needs 'num-frames'"):
        RunOptions.from_run_config({"method-name": "vita"})
    assert RunOptions.from_run_config({"method-name": "vita", "num-frames": 8}).discriminative_conditioning


def test_the_run_configs_fit_the_schema_and_a_bad_transfer_list_is_named(fixtures):
    from videoxai.models.checkpoints.config import config_problems

    for key in CASES:
        assert config_problems(run_config(fixtures, key)) == [], key
    bad = {**run_config(fixtures, "vilt/ucf101/best-mean"), "modality-transfer-text": [[[0]], [[], [-1]]]}
    problems = config_problems(bad)
    assert any(p.startswith("field 'modality-transfer-text.0' is [[0]]") for p in problems), problems
    assert any(p.startswith("field 'modality-transfer-text.1.1.0' is -1") for p in problems), problems
