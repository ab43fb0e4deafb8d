"""``conventions: prompt-tuning``: prompt-tuning's rollout variants and Grad-CAM against its golden maps (origin-fixtures/explain).

The fixture maps were captured from prompt-tuning's ``VideoExplainer`` (see the
fixtures' README). The attention-only tests rebuild every rollout map from the
stored per-layer attentions and need no model; Grad-CAM is rebuilt from the
stored ``layer_norm2`` activations and gradients.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import origin_fixtures
from videoxai.explain.prompt_tuning import (
    PROMPT_TUNING_ROLLOUTS,
    per_frame_max,
    prompt_tuning_discard,
    prompt_tuning_grad_cam,
    prompt_tuning_maps,
    prompt_tuning_rollout,
)

torch.set_num_threads(1)

TOL = 1e-5
ATTENTION_MODELS = ("video_coop__best-attention-0", "dual_coop__best-attention-1")
OPTIONS = {
    "default": {},
    "internal-head_fusion-max_discard_ratio-0.5": {"head_fusion": "max", "discard_ratio": 0.5},
}
B, V, T = 2, 3, 8


def _explain_dir() -> Path:
    return origin_fixtures() / "explain"


def _assert_maps(cam: torch.Tensor, importance: torch.Tensor, ref: dict[str, torch.Tensor]) -> None:
    assert cam.shape == ref["cam"].shape and importance.shape == ref["importance"].shape
    torch.testing.assert_close(cam, ref["cam"], atol=TOL, rtol=0, equal_nan=True)
    torch.testing.assert_close(importance, ref["importance"], atol=TOL, rtol=0, equal_nan=True)


@pytest.mark.parametrize("model", ATTENTION_MODELS)
@pytest.mark.parametrize("method", sorted(PROMPT_TUNING_ROLLOUTS))
@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_rollout_variants_reproduce_prompt_tuning_from_its_attentions(model: str, method: str, option: str) -> None:
    d = _explain_dir()
    attentions = load_file(d / f"{model}__attentions.safetensors")["attentions_L_BVT_heads_N_N"]
    ref = load_file(d / f"{model}__{method}__{option}.safetensors")
    cam, importance = prompt_tuning_maps(
        prompt_tuning_rollout(attentions, PROMPT_TUNING_ROLLOUTS[method], **OPTIONS[option]), B, V, T
    )
    assert not torch.isnan(ref["cam"]).any()
    _assert_maps(cam, importance, ref)


@pytest.mark.parametrize("model", ATTENTION_MODELS)
def test_grad_cam_reproduces_prompt_tuning_from_its_activations_and_gradients(model: str) -> None:
    ref = load_file(_explain_dir() / f"{model}__gradcam__class_idx-2.safetensors")
    act, grad = ref["activations_layer_norm2"], ref["gradients_layer_norm2"]
    cam, importance = prompt_tuning_maps(prompt_tuning_grad_cam(act, grad), B, V, T)
    _assert_maps(cam, importance, ref)
    # why every prompt-tuning Grad-CAM map is NaN: the hooked layer's image tokens never reach the CLS output
    assert torch.all(grad[:, 1:] == 0) and torch.any(grad[:, 0] != 0)
    assert torch.isnan(ref["cam"]).all()


def test_the_order_of_the_product_matters_on_the_fixture_attentions() -> None:
    """Abnar & Zuidema's order (videoxai's standard) gives other maps than prompt-tuning's on the same attentions."""
    from videoxai.explain.rollout import rollout

    attentions = load_file(_explain_dir() / f"{ATTENTION_MODELS[0]}__attentions.safetensors")[
        "attentions_L_BVT_heads_N_N"
    ]
    seed = per_frame_max(prompt_tuning_rollout(attentions, "full"), 1, 4, 4)
    standard = per_frame_max(rollout(list(attentions))[:, 0, 1:], 1, 4, 4)
    assert (seed - standard).abs().max() > 1e-3
    # reversing the layers turns one order into the other
    reversed_prompt_tuning = per_frame_max(prompt_tuning_rollout(attentions.flip(0), "full"), 1, 4, 4)
    torch.testing.assert_close(reversed_prompt_tuning, standard, atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- the math, without fixtures


def test_discard_keeps_ties_and_ranks_the_whole_matrix() -> None:
    a = torch.tensor([[[0.1, 0.2], [0.2, 0.5]]])
    kept = prompt_tuning_discard(a, 0.5)  # k = int(4 * 0.5) = 2 largest: 0.5 and 0.2 -> both 0.2 kept (ties)
    torch.testing.assert_close(kept, torch.tensor([[[0.0, 0.2], [0.2, 0.5]]]))
    row = torch.tensor([[0.4, 0.1, 0.3, 0.2]])
    torch.testing.assert_close(prompt_tuning_discard(row, 0.5), torch.tensor([[0.4, 0.0, 0.3, 0.0]]))
    with pytest.raises(ValueError, match="discard-ratio"):
        prompt_tuning_discard(row, 1.0)


def test_rollout_is_the_left_to_right_product_of_normalised_layers() -> None:
    g = torch.Generator().manual_seed(0)
    layers = [torch.rand(3, 2, 5, 5, generator=g).softmax(-1) for _ in range(3)]
    eye = torch.eye(5)
    hat = [(a.mean(1) + eye) / (a.mean(1) + eye).sum(-1, keepdim=True) for a in layers]
    expected = (hat[0] @ hat[1] @ hat[2])[:, 0, 1:]
    torch.testing.assert_close(prompt_tuning_rollout(layers, "full"), expected)
    weighted = prompt_tuning_rollout(layers, "cls_weighted")
    scale = torch.stack([a.mean(1)[:, 0, 1:].mean(1) for a in layers]).prod(0)
    torch.testing.assert_close(weighted, expected * scale[:, None])
    cls = prompt_tuning_rollout(layers, "cls")
    torch.testing.assert_close(cls, torch.stack([a.mean(1)[:, 0, 1:] for a in layers]).prod(0), rtol=1e-5, atol=1e-12)
    # videoxai's use-cls-token: false keeps its meaning (mean of all rows) in prompt-tuning's order
    torch.testing.assert_close(
        prompt_tuning_rollout(layers, "full", use_cls_token=False), (hat[0] @ hat[1] @ hat[2]).mean(1)[:, 1:]
    )


def test_max_fusion_and_options_outside_prompt_tuning_are_refused() -> None:
    a = torch.rand(1, 2, 3, 3).softmax(-1)
    torch.testing.assert_close(
        prompt_tuning_rollout([a], "cls", "max"), a.max(1).values[:, 0, 1:], rtol=1e-5, atol=1e-9
    )
    with pytest.raises(ValueError, match="head-fusion under conventions: prompt-tuning"):
        prompt_tuning_rollout([a], "full", "min")
    with pytest.raises(ValueError, match="rollout_type"):
        prompt_tuning_rollout([a], "sideways")


def test_per_frame_max_divides_each_frame_by_its_own_maximum() -> None:
    cam = torch.tensor([[1.0, 2.0, 3.0, 4.0, 0.5, 0.25, 0.0, 1.0]])
    out = per_frame_max(cam, 2, 2, 2)
    torch.testing.assert_close(out[0, 0].flatten(), torch.tensor([0.25, 0.5, 0.75, 1.0]))
    torch.testing.assert_close(out[0, 1].flatten(), torch.tensor([0.5, 0.25, 0.0, 1.0]))
    assert torch.isnan(per_frame_max(torch.zeros(1, 4), 1, 2, 2)).all()  # 0 / 0, as prompt-tuning


def test_prompt_tuning_grad_cam_weights_tokens_not_channels() -> None:
    act = torch.tensor([[[9.0, 9.0], [1.0, 2.0], [3.0, -1.0]]])
    grad = torch.tensor([[[5.0, 5.0], [1.0, -3.0], [0.5, 0.5]]])
    torch.testing.assert_close(prompt_tuning_grad_cam(act, grad), torch.tensor([[2.0 * 3.0, 0.5 * 2.0]]))


# --------------------------------------------------------------------------- the explainers and the stage (demo tower)


@pytest.fixture(scope="module")
def demo_model():
    from videoxai.models.families.demo.models import VideoCoOp

    torch.manual_seed(0)
    model = VideoCoOp([f"class{i}" for i in range(4)]).eval()
    video = torch.randn(2, model.input_spec.num_frames, 3, model.input_spec.size, model.input_spec.size)
    return model, video


def test_prompt_tuning_rollout_on_a_joint_layout_is_prompt_tuning_product_per_frame(demo_model) -> None:
    from videoxai.explain.methods import make_explainer

    model, video = demo_model
    layout = model.token_layout
    expl = make_explainer("attention-rollout", model, {"discard-ratio": 0.2}, "prompt-tuning").explain(
        video, None, "predicted"
    )
    with torch.no_grad():
        _, attn = model.forward_with_attention(video)
    eye = torch.eye(layout.num_tokens)
    product = None
    for a in attn:
        fused = prompt_tuning_discard(a.mean(1), 0.2) + eye
        fused = fused / fused.sum(-1, keepdim=True)
        product = fused if product is None else product @ fused
    row = product[:, layout.cls_index, layout.num_prefix :].reshape(2, layout.frames, -1)
    expected = (row / row.amax(-1, keepdim=True)).reshape(expl.relevance.shape)
    torch.testing.assert_close(expl.relevance, expected, atol=1e-5, rtol=1e-4)
    assert torch.allclose(expl.relevance.flatten(2).amax(-1), torch.ones(2, layout.frames))
    standard = make_explainer("attention-rollout", model, {"discard-ratio": 0.2}).explain(video, None, "predicted")
    assert not torch.allclose(standard.relevance, expl.relevance, atol=1e-3)


def test_prompt_tuning_options_and_methods_without_a_prompt_tuning_form() -> None:
    from videoxai.explain.methods import effective_options, explainer_class
    from videoxai.explain.options import effective_convention, method_options
    from videoxai.explain.prompt_tuning import PromptTuningAttentionRolloutCLS
    from videoxai.explain.rollout import AttentionRolloutCLS

    assert explainer_class("attention-rollout-cls", "prompt-tuning") is PromptTuningAttentionRolloutCLS
    assert explainer_class("attention-rollout-cls") is AttentionRolloutCLS
    assert "discard-ratio" in method_options("attention-rollout-cls", "prompt-tuning")
    assert "discard-ratio" not in method_options("attention-rollout-cls", "standard")
    assert effective_convention("grad-rollout", "prompt-tuning") == "standard"  # prompt-tuning has no grad-rollout
    assert effective_options("attention-rollout", {"use_cls_token": False}, "prompt-tuning")["use-cls-token"] is False
    with pytest.raises(ValueError, match="conventions must be one of"):
        effective_convention("grad-cam", "upstream")


def test_prompt_tuning_explainers_refuse_min_fusion(demo_model) -> None:
    from videoxai.explain.methods import make_explainer

    model, _ = demo_model
    with pytest.raises(ValueError, match="head-fusion under conventions: prompt-tuning"):
        make_explainer("attention-rollout-cls", model, {"head-fusion": "min"}, "prompt-tuning")


def test_prompt_tuning_grad_cam_on_the_demo_uses_prompt_tuning_formula_on_its_layer(demo_model) -> None:
    from videoxai.explain.gradcam import activations_and_gradients
    from videoxai.explain.methods import make_explainer

    model, video = demo_model
    expl = make_explainer("grad-cam", model, {}, "prompt-tuning").explain(video, None, "predicted")
    tgt = model.gradcam_target()
    act, grad, _, _ = activations_and_gradients(model, tgt, video, None, "predicted")
    a, g = tgt.to_grid(act), tgt.to_grid(grad)
    cam = g.abs().mean(1) * a.sum(1)
    torch.testing.assert_close(expl.relevance, cam / cam.amax((2, 3), keepdim=True), atol=1e-5, rtol=1e-4)


def test_the_stage_records_the_convention_and_keeps_per_frame_maps(tmp_path) -> None:
    import numpy as np

    from videoxai.data.datasets import load_split
    from videoxai.demo.dataset import write_demo_dataset
    from videoxai.explain.stage import explain_selection
    from videoxai.explain.store import load_heatmaps
    from videoxai.models.families.demo.models import VideoCoOp

    root = tmp_path / "data"
    write_demo_dataset(root, n_train=8, n_test=8, seed=1)
    class_names, samples = load_split("ucf101", root, "test")
    torch.manual_seed(0)
    model = VideoCoOp(class_names).eval()
    s = samples[0]
    selection = {
        "clips": [
            {"sample_id": s.sample_id, "class_index": s.label, "class_name": class_names[s.label], "sample_index": 0}
        ]
    }
    options = {"evaluate": False, "target-class": "true"}
    for method, convention in [
        ("attention-rollout-cls", "prompt-tuning"),
        ("grad-rollout", "prompt-tuning"),
        ("attention-rollout", "standard"),
    ]:
        out = tmp_path / f"{method}-{convention}.safetensors"
        explain_selection(model, selection, samples, method, options, out, conventions=convention)
        hs = load_heatmaps(out)
        expected = "standard" if method == "grad-rollout" else convention
        assert hs.params["conventions"] == expected
        frame_max = hs.heatmaps.reshape(1, hs.heatmaps.shape[1], -1).max(-1)
        if expected == "prompt-tuning":  # every frame peaks at 1; importance is each frame's mean
            np.testing.assert_allclose(frame_max, 1, atol=1e-3)
            np.testing.assert_allclose(hs.temporal_importance, hs.heatmaps.astype(np.float32).mean((2, 3)), atol=2e-3)
        else:
            np.testing.assert_allclose(hs.temporal_importance.sum(1), 1, atol=1e-5)


# --------------------------------------------------------------------------- end to end on the five fixture models

FIXTURE_RUNS = (
    "video_coop/best-attention-0",
    "video_coop/best-mean",
    "dual_coop/best-attention-1",
    "dual_coop/best-mean",
    "stt/best-mean",
)


def _prompt_tuning_model(fx: Path, key: str):
    import json

    pytest.importorskip("transformers")
    from transformers import CLIPModel, CLIPTokenizer

    from videoxai.models.families.prompt_tuning.build import build_prompt_tuning_model

    method, run = key.split("/")
    folder = fx / "runs" / method / "ucf101" / run
    clip = CLIPModel.from_pretrained(
        "openai/clip-vit-base-patch16", cache_dir=fx / "hf-home" / "hub", local_files_only=True
    ).eval()
    names = json.loads((fx / "cases" / "class_names.json").read_text())
    tokenizer = CLIPTokenizer.from_pretrained(
        "openai/clip-vit-base-patch16", cache_dir=fx / "hf-home" / "hub", local_files_only=True
    )
    model = build_prompt_tuning_model(
        json.loads((folder / "config.json").read_text()), names, clip, tokenizer=tokenizer
    )
    ckpt = torch.load(folder / "best.pt", map_location="cpu", weights_only=True)
    model.load_context_state_dict(ckpt["context_state_dict"])
    return model.eval()


@pytest.mark.parametrize("key", FIXTURE_RUNS)
def test_prompt_tuning_explainers_reproduce_prompt_tuning_on_its_models(key: str) -> None:
    from videoxai.explain.methods import make_explainer
    from videoxai.explain.prompt_tuning import UndefinedMapError, clip_backbone

    fx = origin_fixtures()
    model = _prompt_tuning_model(fx, key)
    assert clip_backbone(model) is not None
    video = load_file(fx / "cases" / "input_video.safetensors")["input_video"]  # (B, V, T, C, H, W)
    frames = video.flatten(0, 1)  # every view explained as a clip: prompt-tuning's maps are per frame
    name = key.replace("/", "__")
    for method in sorted(PROMPT_TUNING_ROLLOUTS):
        for option, kw in OPTIONS.items():
            opts = {"head-fusion": kw.get("head_fusion", "mean"), "discard-ratio": kw.get("discard_ratio", 0.0)}
            expl = make_explainer(method, model, opts, "prompt-tuning").explain(frames, None, "predicted")
            ref = load_file(fx / "explain" / f"{name}__{method}__{option}.safetensors")
            cam = expl.relevance.reshape(B, V, T, 4, 4)
            _assert_maps(cam, cam.mean(dim=(3, 4)), ref)
    # Grad-CAM for class 2: prompt-tuning's maps are NaN everywhere, and so are these; the explainer says why
    labels = torch.full((B * V,), 2)
    grad_cam = make_explainer("grad-cam", model, {}, "prompt-tuning")
    with pytest.raises(UndefinedMapError, match="layer_norm2"):
        grad_cam.explain(frames, labels, "true")
    ref = load_file(fx / "explain" / f"{name}__gradcam__class_idx-2.safetensors")
    from videoxai.explain.prompt_tuning import prompt_tuning_grad_cam_inputs, raw_text_features_of

    text = torch.nn.functional.normalize(raw_text_features_of(model), dim=-1)
    act, grad = prompt_tuning_grad_cam_inputs(model.clip, frames.flatten(0, 1), text, 2, model.scale())
    cam, importance = prompt_tuning_maps(prompt_tuning_grad_cam(act, grad), B, V, T)
    _assert_maps(cam, importance, ref)
    if "activations_layer_norm2" in ref:
        torch.testing.assert_close(act, ref["activations_layer_norm2"], atol=TOL, rtol=0)
        torch.testing.assert_close(grad, ref["gradients_layer_norm2"], atol=TOL, rtol=1e-4)


def test_prompt_tuning_cls_variants_leave_out_factors_where_cls_reads_no_image_token(demo_model) -> None:
    """The demo's temporal factors leave CLS out (identity row): they drop out of the CLS product and weight."""
    from videoxai.explain.methods import make_explainer

    model, video = demo_model
    layout = model.token_layout
    with torch.no_grad():
        _, attn = model.forward_with_attention(video)
    rows = [a.mean(1)[:, layout.cls_index, layout.num_prefix :] for a in attn]
    reading = [r for r in rows if bool((r.sum(1) > 1e-6).all())]
    assert 0 < len(reading) < len(rows)  # some factors (temporal) never let CLS read image tokens
    cls = (
        make_explainer("attention-rollout-cls", model, {}, "prompt-tuning").explain(video, None, "predicted").relevance
    )
    expected = torch.stack(reading).prod(0).reshape(2, layout.frames, -1)
    expected = (expected / expected.amax(-1, keepdim=True)).reshape(cls.shape)
    torch.testing.assert_close(cls, expected, atol=1e-5, rtol=1e-4)
    full = make_explainer("attention-rollout", model, {}, "prompt-tuning").explain(video, None, "predicted").relevance
    weighted = make_explainer("attention-rollout-cls-weighted", model, {}, "prompt-tuning").explain(
        video, None, "predicted"
    )
    torch.testing.assert_close(weighted.relevance, full, atol=1e-5, rtol=1e-4)  # a per-clip scalar weight
