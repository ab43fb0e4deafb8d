"""Explanations of prompt-tuning's vidop, vilt and vita, under both conventions (../shared/origin-fixtures-families).

``conventions: prompt-tuning``: the maps equal prompt-tuning's ``VideoExplainer``
output (every ``explain/`` file: the three rollout variants with and without
max head fusion and discard ratio 0.5, Grad-CAM for class 2). vidop's
rollout runs the per-frame CLIP tower with its visual prompts (as dual_coop);
vilt and vita record the attention of their own forward, ViLT only in the 10
layers whose modality-transfer lists append tokens.

``standard``: every explainer runs through ``forward_with_attention`` /
``gradcam_target``, the path that makes the logits (tiny random backbones
in tests/unit/test_models_clip.py and test_attention_in_graph.py check the
gradients of the returned attention).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import fixture_clip, fixture_run_model, origin_fixtures_families
from tests.unit.test_models_clip import make
from videoxai.explain.base import finalise
from videoxai.explain.methods import METHODS, make_explainer
from videoxai.explain.prompt_tuning import (
    PROMPT_TUNING_ROLLOUTS,
    UndefinedMapError,
    clip_backbone,
    prompt_tuning_grad_cam,
    prompt_tuning_grad_cam_inputs,
    prompt_tuning_maps,
    prompt_tuning_rollout,
    raw_text_features_of,
    recorded_attentions,
)

torch.set_num_threads(1)

RUNS = (
    "vidop/best-with-hand-features-attention-0",
    "vidop/best-no-hand-features-mean",
    "vilt/best-mean",
    "vita/beat-mean",
)
RECORDED = {"vilt/best-mean": 10, "vita/beat-mean": 12}  # layers whose attention prompt-tuning records
OPTIONS = {
    "default": {},
    "internal-head_fusion-max_discard_ratio-0.5": {"head_fusion": "max", "discard_ratio": 0.5},
}
B, V, T, TOL = 2, 3, 8, 1e-5
STANDARD = ["attention-rollout", "grad-cam", "grad-rollout"]


@pytest.fixture(scope="module")
def fx() -> Path:
    return origin_fixtures_families()


@pytest.fixture(scope="module")
def models(fx):
    clip = fixture_clip(fx)
    names = json.loads((fx / "cases" / "class_names.json").read_text())
    return {key: fixture_run_model(fx, key.replace("/", "/ucf101/"), names, clip) for key in RUNS}


@pytest.fixture(scope="module")
def video(fx) -> torch.Tensor:
    return load_file(fx / "cases" / "input_video.safetensors")["input_video"]  # (B, V, T, C, H, W)


def _ref(fx: Path, key: str, what: str) -> dict[str, torch.Tensor]:
    return load_file(fx / "explain" / f"{key.replace('/', '__')}__{what}.safetensors")


def _assert_maps(cam: torch.Tensor, importance: torch.Tensor, ref: dict[str, torch.Tensor]) -> None:
    assert cam.shape == ref["cam"].shape and importance.shape == ref["importance"].shape
    torch.testing.assert_close(cam, ref["cam"], atol=TOL, rtol=0, equal_nan=True)
    torch.testing.assert_close(importance, ref["importance"], atol=TOL, rtol=0, equal_nan=True)


def test_every_explain_file_is_checked(fx):
    """The files this module compares are all the fixtures hold (no case left out)."""
    expected = {f"{k.replace('/', '__')}__attentions.safetensors" for k in RECORDED}
    for key in RUNS:
        name = key.replace("/", "__")
        expected.add(f"{name}__gradcam__class_idx-2.safetensors")
        expected |= {f"{name}__{m}__{o}.safetensors" for m in PROMPT_TUNING_ROLLOUTS for o in OPTIONS}
    assert {p.name for p in (fx / "explain").iterdir()} == expected


@pytest.mark.parametrize("key", sorted(RECORDED))
def test_the_recorded_attentions_are_prompt_tunings(key, fx, models, video):
    stored = _ref(fx, key, "attentions")["attentions_L_BVT_heads_N_N"]
    with torch.no_grad():
        got = models[key].recorded_attentions(video.flatten(0, 1))  # every view explained as one clip
    assert len(got) == RECORDED[key] == stored.shape[0]
    torch.testing.assert_close(torch.stack(got), stored, atol=TOL, rtol=0)
    for method in PROMPT_TUNING_ROLLOUTS:  # the maps from the stored attentions alone
        for option, kw in OPTIONS.items():
            cam = prompt_tuning_rollout(stored, PROMPT_TUNING_ROLLOUTS[method], **kw)
            _assert_maps(*prompt_tuning_maps(cam, B, V, T), _ref(fx, key, f"{method}__{option}"))


@pytest.mark.parametrize("key", RUNS)
def test_prompt_tuning_explainers_reproduce_prompt_tuning(key, fx, models, video):
    model = models[key]
    frames = video.flatten(0, 1)  # prompt-tuning's maps are per frame: each view explained as a clip
    with torch.no_grad():
        attentions = recorded_attentions(model, frames, clip_backbone(model))
    for method in sorted(PROMPT_TUNING_ROLLOUTS):
        for option, kw in OPTIONS.items():
            ref = _ref(fx, key, f"{method}__{option}")
            cam = prompt_tuning_rollout(attentions, PROMPT_TUNING_ROLLOUTS[method], **kw)
            _assert_maps(*prompt_tuning_maps(cam, B, V, T), ref)
            opts = {"head-fusion": kw.get("head_fusion", "mean"), "discard-ratio": kw.get("discard_ratio", 0.0)}
            explainer = make_explainer(method, model, opts, "prompt-tuning")
            # where the CLS-only product underflows to 0 on some frames, those frames are 0 / 0 (NaN) as in
            # prompt-tuning, and the others are kept: the NaN frames must be prompt-tuning's, the rest its values
            expl = explainer.explain(frames, None, "predicted")
            with torch.no_grad():
                torch.testing.assert_close(expl.logits, model(frames), atol=1e-5, rtol=0)
            cam = expl.relevance.reshape(B, V, T, 4, 4)
            _assert_maps(cam, cam.mean(dim=(3, 4)), ref)
    # Grad-CAM for class 2: prompt-tuning hooks layer_norm2 of the plain CLIP tower, and its maps are NaN
    ref = _ref(fx, key, "gradcam__class_idx-2")
    with pytest.raises(UndefinedMapError, match="layer_norm2"):
        make_explainer("grad-cam", model, {}, "prompt-tuning").explain(frames, torch.full((B * V,), 2), "true")
    text = torch.nn.functional.normalize(raw_text_features_of(model), dim=-1)  # prompt-tuning's encode_texts
    act, grad = prompt_tuning_grad_cam_inputs(model.clip, frames.flatten(0, 1), text, 2, model.scale())
    _assert_maps(*prompt_tuning_maps(prompt_tuning_grad_cam(act, grad), B, V, T), ref)
    assert torch.isnan(ref["cam"]).all()
    if "activations_layer_norm2" in ref:
        torch.testing.assert_close(act, ref["activations_layer_norm2"], atol=TOL, rtol=0)
        torch.testing.assert_close(grad, ref["gradients_layer_norm2"], atol=TOL, rtol=1e-4)


# --------------------------------------------------------------------------- standard convention


@pytest.mark.parametrize("method", STANDARD)
@pytest.mark.parametrize("key", RUNS)
def test_every_explainer_runs_through_the_path_that_makes_the_logits(key, method, models, video):
    model = models[key]
    clip = video[:, 0]  # one view (B, T, C, H, W), as the explain stage feeds it
    labels = torch.tensor([2, 5])
    expl = make_explainer(method, model, {}).explain(clip, labels, "true")
    assert expl.relevance.shape == (2, 8, 4, 4)
    assert expl.relevance.isfinite().all() and (expl.relevance >= 0).all() and expl.relevance.sum() > 0
    with torch.no_grad():
        torch.testing.assert_close(expl.logits, model(clip), atol=1e-4, rtol=1e-4)
        _, attn = model.forward_with_attention(clip)
    layers = model.clip.config.vision_config.num_hidden_layers
    assert len(attn) == layers + 1  # every CLIP layer (vilt's plain ones too) and the temporal pooling
    assert all(a.shape[-1] == model.token_layout.num_tokens for a in attn)
    maps, importance, _ = finalise(expl, weighted_by_predictions=False)
    assert maps.shape == (2, 8, 4, 4) and torch.allclose(importance.sum(1), torch.ones(2))
    if method != "attention-rollout":  # class-specific
        other = make_explainer(method, model, {}).explain(clip, torch.tensor([0, 0]), "true").relevance
        assert not torch.allclose(other, expl.relevance)


def test_cls_only_variants_are_refused_under_the_standard_convention(models, video):
    for method in sorted(set(METHODS) - set(STANDARD)):
        with pytest.raises(ValueError, match="use attention-rollout or grad-rollout"):
            make_explainer(method, models["vilt/best-mean"], {}).explain(video[:, 0], None, "predicted")


@pytest.mark.parametrize("name", ["vidop", "vilt", "vilt_late", "vita"])
def test_prompt_tuning_explainers_on_tiny_random_backbones(name):
    """Beyond the fixtures: vilt with a plain first layer records one layer; every map is defined."""
    model = make(name)
    clip = torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        if hasattr(model, "recorded_attentions"):
            recorded = model.recorded_attentions(clip)
            assert len(recorded) == (1 if name == "vilt_late" else 2)
            assert all(a.shape == (8, 2, 17, 17) for a in recorded)
    for method in PROMPT_TUNING_ROLLOUTS:
        expl = make_explainer(method, model, {}, "prompt-tuning").explain(clip, None, "predicted")
        assert expl.relevance.shape == (2, 4, 4, 4) and expl.relevance.isfinite().all()
        torch.testing.assert_close(expl.relevance.flatten(2).amax(-1), torch.ones(2, 4))


def test_vilt_ignores_hand_crafted_prompts_and_vita_scores_them_unnormalised():
    clip = torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    vilt, vita = make("vilt"), make("vita")
    with torch.no_grad():
        learned = vilt(clip)
        vilt.set_handcrafted_prompts(True)
        assert torch.equal(vilt(clip), learned)
        vita.set_handcrafted_prompts(True)
        raw = vita.raw_text_features()
        video_features = vita.upstream_forward(clip)[2]
        want = vita.scale() * torch.einsum("bvd,kd->bk", video_features, raw)
        torch.testing.assert_close(vita(clip), want, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="trained on 4 frames"):
        vita(torch.zeros(1, 3, 3, 32, 32))
