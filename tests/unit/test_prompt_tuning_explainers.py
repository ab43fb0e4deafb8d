"""The library's explainers run on prompt-tuning's three models (standard convention).

attention-rollout (and its CLS variants), grad-cam and grad-rollout go
through ``forward_with_attention`` / ``gradcam_target``: per-frame CLIP
layers (stt: its own vision path, with summary, frame-level and video tokens)
and the temporal pooling, in the autograd graph. Run on the fixtures' tiny
CLIP with prompt-tuning's trained run folders, and on tiny random backbones.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.helpers import origin_fixtures
from tests.unit.test_models_clip import make
from videoxai.explain.base import finalise
from videoxai.explain.methods import METHODS, make_explainer
from videoxai.models.families.prompt_tuning import build_prompt_tuning_model

RUNS = [
    "video_coop/ucf101/best-attention-0",
    "dual_coop/ucf101/best-mean",
    "stt/ucf101/best-mean",
]
# the CLS-only rollout variants need a CLS token that attends to patches directly; the video token of
# these models reads the frames through their CLS tokens (the prompt-tuning convention runs prompt-tuning's own form)
STANDARD = ["attention-rollout", "grad-cam", "grad-rollout"]


@pytest.fixture(scope="module")
def origin_runs():
    from transformers import CLIPModel

    fixtures = origin_fixtures()
    repo = fixtures / "hf-home" / "hub" / "models--openai--clip-vit-base-patch16"
    snapshot = repo / "snapshots" / (repo / "refs" / "main").read_text().strip()
    clip = CLIPModel.from_pretrained(str(snapshot), local_files_only=True).eval()
    names = json.loads((fixtures / "cases" / "class_names.json").read_text())
    models = {}
    for key in RUNS:
        folder = fixtures / "runs" / key
        model = build_prompt_tuning_model(json.loads((folder / "config.json").read_text()), names, clip)
        state = torch.load(folder / "best.pt", weights_only=True)["context_state_dict"]
        model.load_context_state_dict(state)
        models[key] = model
    from safetensors.torch import load_file

    video = load_file(str(fixtures / "cases" / "input_video.safetensors"))["input_video"]
    return models, video[:, 0]  # one view (B, T, C, H, W), as the explain stage feeds them


@pytest.mark.parametrize("method", STANDARD)
@pytest.mark.parametrize("key", RUNS)
def test_every_explainer_runs_on_prompt_tuning_models(key, method, origin_runs):
    models, video = origin_runs
    model = models[key]
    explainer = make_explainer(method, model, {"target-class": "true"})
    labels = torch.tensor([2, 5])
    expl = explainer.explain(video, labels, "true")
    assert expl.relevance.shape == (
        2,
        8,
        4,
        4,
    )  # frames x the 4x4 patch grid of a 32-pixel, patch-8 CLIP
    assert expl.relevance.isfinite().all() and (expl.relevance >= 0).all() and expl.relevance.sum() > 0
    with torch.no_grad():
        torch.testing.assert_close(expl.logits, model(video), atol=1e-4, rtol=1e-4)
    assert torch.equal(expl.targets, labels)
    maps, importance, _ = finalise(expl, weighted_by_predictions=False)
    assert maps.shape == (2, 8, 4, 4) and torch.allclose(importance.sum(1), torch.ones(2))


def test_cls_only_variants_run_under_prompt_tuning_convention(origin_runs):
    models, video = origin_runs
    for method in sorted(set(METHODS) - set(STANDARD)):
        with pytest.raises(ValueError, match="use attention-rollout or grad-rollout"):
            make_explainer(method, models[RUNS[0]], {}).explain(video, None, "predicted")


@pytest.mark.parametrize("key", RUNS)
def test_class_specific_explainers_differ_between_classes(key, origin_runs):
    models, video = origin_runs
    for method in ("grad-cam", "grad-rollout"):
        explainer = make_explainer(method, models[key], {})
        a, b = (explainer.explain(video, torch.tensor([k, k]), "true").relevance for k in (0, 3))
        assert not torch.allclose(a, b), method


@pytest.mark.parametrize("name", ["video_coop_max", "dual_coop_first", "stt"])
def test_explainers_on_tiny_random_backbones(name):
    model = make(name)
    video = torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    for method in STANDARD:
        expl = make_explainer(method, model, {}).explain(video, None, "predicted")
        assert expl.relevance.shape == (2, 4, 4, 4) and expl.relevance.isfinite().all(), method


def test_kept_visual_prompts_are_refused_under_prompt_tuning(origin_runs):
    """dual_coop with ``keep-vision-prompts-throughout: true``: the prompts stay in each frame's attention, so the
    CLS row is patches and prompts; prompt-tuning's ``_process_cam`` views it as a square grid and raises. videoxai
    refuses those rollouts in one line; the standard convention (joint layout, prompts as prefix tokens) maps it."""
    from videoxai.explain.prompt_tuning import PromptTokensError, prompt_tuning_rollout

    models, video = origin_runs
    fixtures = origin_fixtures()
    folder = fixtures / "runs" / "dual_coop/ucf101/best-mean"
    run_config = {**json.loads((folder / "config.json").read_text()), "keep-vision-prompts-throughout": True}
    kept = build_prompt_tuning_model(run_config, models[RUNS[1]].class_names, models[RUNS[1]].clip)
    kept.load_context_state_dict(torch.load(folder / "best.pt", weights_only=True)["context_state_dict"])
    attentions = kept.per_frame_attentions(video)
    assert attentions[0].shape[-1] == 1 + 16 + 8  # CLS, the 4x4 patches, the 8 visual prompts
    # prompt-tuning's own steps fail on it: its CLS row normalised, then viewed as (B, V, T, side, side)
    cam = prompt_tuning_rollout(attentions, "full")
    side = int(cam.shape[1] ** 0.5)
    with pytest.raises(RuntimeError, match="is invalid for input of size"):
        (cam / cam.max(dim=1, keepdim=True)[0]).view(2, 1, 8, side, side)
    for method in ("attention-rollout", "attention-rollout-cls", "attention-rollout-cls-weighted"):
        with pytest.raises(PromptTokensError, match="keep-vision-prompts-throughout: true") as err:
            make_explainer(method, kept, {}, convention="prompt-tuning").explain(video, None, "predicted")
        assert "\n" not in str(err.value) and "conventions: standard" in str(err.value)
    expl = make_explainer("attention-rollout", kept, {}).explain(video, None, "predicted")
    assert expl.relevance.shape == (2, 8, 4, 4) and expl.relevance.isfinite().all()
