"""Prompt-tuning's own run folders give prompt-tuning's numbers (golden data in ../shared/origin-fixtures).

Each case was made by running prompt-tuning's code on a tiny random CLIP saved
in a Hugging Face cache layout; the run folders are exactly what its training
writes. Here the model is built from the run folder's ``config.json`` and
``best.pt``'s ``context_state_dict`` (loaded with ``weights_only=True``) and
every recorded tensor is compared within 1e-5 (float32, CPU).
"""

from __future__ import annotations

import json

import pytest
import torch

from videoxai.models.checkpoints.files import CheckpointError
from videoxai.models.families.prompt_tuning import RunOptions, build_prompt_tuning_model
from videoxai.models.families.prompt_tuning.context import pool_frames

CASES = [
    "video_coop/ucf101/best-mean",
    "video_coop/ucf101/best-attention-0",
    "dual_coop/ucf101/best-mean",
    "dual_coop/ucf101/best-attention-1",
    "stt/ucf101/best-mean",
]
ATOL = 1e-5


@pytest.fixture(scope="module")
def clip(fixtures):
    """The tiny CLIP as ``openai/clip-vit-base-patch16`` from the fixtures' cache (its snapshot folder, offline)."""
    from transformers import CLIPModel

    repo = fixtures / "hf-home" / "hub" / "models--openai--clip-vit-base-patch16"
    snapshot = repo / "snapshots" / (repo / "refs" / "main").read_text().strip()
    return CLIPModel.from_pretrained(str(snapshot), local_files_only=True).eval()


@pytest.fixture(scope="module")
def inputs(fixtures):
    from safetensors.torch import load_file

    return load_file(str(fixtures / "cases" / "input_video.safetensors"))


@pytest.fixture(scope="module")
def class_names(fixtures):
    return json.loads((fixtures / "cases" / "class_names.json").read_text())


def run_folder(fixtures, key):
    return fixtures / "runs" / key


def build(fixtures, key, class_names, clip, weights="best.pt"):
    folder = run_folder(fixtures, key)
    model = build_prompt_tuning_model(json.loads((folder / "config.json").read_text()), class_names, clip)
    ckpt = torch.load(folder / weights, map_location="cpu", weights_only=True)
    model.load_context_state_dict(ckpt["context_state_dict"])
    return model


def golden(fixtures, key):
    from safetensors.torch import load_file

    return load_file(str(fixtures / "cases" / f"{key.replace('/ucf101/', '__')}.safetensors"))


def close(got, want, what):
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    diff = (got.float() - want.float()).abs().max().item()
    assert diff <= ATOL, f"{what}: max |diff| {diff:.3g} > {ATOL}"


@pytest.mark.parametrize("key", CASES)
def test_logits_and_features_equal_prompt_tuning(key, fixtures, clip, inputs, class_names):
    model = build(fixtures, key, class_names, clip)
    ref = golden(fixtures, key)
    video, mask = inputs["input_video"], inputs["video_mask"]
    with torch.no_grad():
        logits, text, vid = model.upstream_forward(video)
        close(logits, ref["logits"], "logits")
        close(model(video), ref["logits"], "forward")
        close(text, ref["text_features"], "text_features")
        close(vid, ref["video_features"], "video_features")
        close(model(video, mask), ref["logits_with_mask"], "logits_with_mask")
        close(
            model.upstream_forward(video, softmax=True)[0],
            ref["logits_softmax"],
            "logits_softmax",
        )
        close(model.scale().reshape(1), ref["logit_scale_exp"], "logit_scale_exp")
        assert torch.equal(model.token_ids, ref["class_token_ids"])
        assert torch.equal(
            model.token_mask.to(ref["class_attention_mask"].dtype),
            ref["class_attention_mask"],
        )
        embeds, prompt_mask = model.prompt()
        close(embeds, ref["prompt_inputs_embeds"], "prompt_inputs_embeds")
        assert torch.equal(prompt_mask, ref["prompt_attention_mask"])
        if model.method != "stt":
            close(
                model.raw_text_features(),
                ref["text_features_unnormalised"],
                "text_features_unnormalised",
            )
            close(model.text_features(), ref["text_features"], "text_features()")
            frames, _ = model.frame_features(video)
            b, v, t, d = frames.shape
            want = ref["frame_features"]
            close(frames.reshape(want.shape), want, "frame_features")
            pooled = pool_frames(model.context_learner, frames.reshape(b * v, t, d)).reshape(b, v, d)
            close(
                pooled,
                ref["video_features_pooled_before_final_norm"],
                "video_features_pooled_before_final_norm",
            )


@pytest.mark.parametrize("key", CASES)
def test_handcrafted_prompts_equal_prompt_tuning(key, fixtures, clip, inputs, class_names):
    model = build(fixtures, key, class_names, clip)
    ref = golden(fixtures, key)
    video = inputs["input_video"]
    with torch.no_grad():
        learned = model(video)
        model.set_handcrafted_prompts(True)  # the run config's "A video of a person doing {}"
        close(
            model(video),
            ref["logits_handcrafted_prompts"],
            "logits_handcrafted_prompts",
        )
        assert torch.equal(model.handcrafted_ids, ref["handcrafted_token_ids"])
        assert torch.equal(model.handcrafted_mask.long(), ref["handcrafted_attention_mask"].long())
        if model.method != "stt":  # prompt-tuning's STT ignores hand-crafted text features
            close(
                model.raw_text_features(),
                ref["handcrafted_text_features_unnormalised"],
                "handcrafted features",
            )
        model.set_handcrafted_prompts(False)
        assert torch.equal(model(video), learned)


@pytest.mark.parametrize("key", CASES)
def test_every_epoch_file_loads_strictly(key, fixtures, clip, class_names):
    """``1.pt`` holds the same keys as ``best.pt`` (the training writes both with the same learner)."""
    build(fixtures, key, class_names, clip, weights="1.pt")


def test_a_context_state_dict_that_does_not_fit_names_every_mismatch(fixtures, clip, class_names):
    folder = run_folder(fixtures, "video_coop/ucf101/best-mean")
    model = build_prompt_tuning_model(json.loads((folder / "config.json").read_text()), class_names, clip)
    dual = torch.load(
        run_folder(fixtures, "dual_coop/ucf101/best-attention-1") / "best.pt",
        weights_only=True,
    )
    with pytest.raises(
        CheckpointError,
        match=r"unexpected keys \['context_vectors_vision'.*temporal_pooling",
    ):
        model.load_context_state_dict(dual["context_state_dict"])
    state = dict(torch.load(folder / "best.pt", weights_only=True)["context_state_dict"])
    state["context_vectors_text"] = torch.zeros(8, 512)  # trained on a CLIP with 512-wide text
    with pytest.raises(
        CheckpointError,
        match=r"context_vectors_text: checkpoint \(8, 512\) vs model \(8, 32\).*clip-model",
    ):
        model.load_context_state_dict(state)
    del state["logit_scale"]
    with pytest.raises(CheckpointError, match=r"missing keys \['logit_scale'\]"):
        model.load_context_state_dict(state)


def test_input_spec_follows_the_run_config(fixtures, clip, class_names):
    model = build(fixtures, "dual_coop/ucf101/best-mean", class_names, clip)
    spec = model.input_spec
    assert (spec.num_frames, spec.size, spec.num_views, spec.spatial_views) == (
        8,
        32,
        4,
        3,
    )
    assert spec.pipeline == "prompt-tuning" and spec.total_views == 12
    assert spec.mean == pytest.approx((0.48145466, 0.4578275, 0.40821073))


VARIANTS = {
    # prompt-tuning's other published configs (models/configs/...), and options beyond them
    "dual_coop/videomix-attention-0": (
        "dual_coop",
        {"temporal-pooling": "attention", "keep-vision-prompts-throughout": False},
    ),
    "dual_coop/keep-prompts-2-heads": (
        "dual_coop",
        {
            "temporal-pooling": "attention",
            "num-heads-attention-pooling": 2,
            "keep-vision-prompts-throughout": True,
            "ctx-len": 4,
            "ctx-len-video": 3,
        },
    ),
    "video_coop/max-ctx-2": ("video_coop", {"temporal-pooling": "max", "ctx-len": 2}),
    "stt/videomix": (
        "stt",
        {"layers-with-summary-to-text": list(range(10)), "temporal-pooling": "mean"},
    ),
    "stt/no-transfer-attention": (
        "stt",
        {
            "layers-with-summary-to-text": [],
            "temporal-pooling": "attention",
            "num-frame-tokens": 2,
            "ctx-len-video": 3,
            "num-heads-summary-attention": 4,
        },
    ),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_other_run_configs_and_class_lists(name, fixtures, clip, inputs):
    method, options = VARIANTS[name]
    base = json.loads((run_folder(fixtures, f"{method}/ucf101/best-mean") / "config.json").read_text())
    config = {**base, **options}
    classes = ["Archery", "Bowling", "Rafting", "Surfing"]
    torch.manual_seed(0)
    model = build_prompt_tuning_model(config, classes, clip)
    opts = RunOptions.from_run_config(config)
    state = model.context_state_dict()
    assert state["context_vectors_text"].shape == (opts.ctx_len, 32)
    if method == "stt":
        layers = {k.split(".")[1] for k in state if k.startswith("summary_to_text_projections")}
        assert layers == {str(i) for i in opts.summary_to_text_layers if i < 2}
    model.load_context_state_dict(state)  # what it saves, it loads
    video = inputs["input_video"]
    with torch.no_grad():
        logits, text, vid = model.upstream_forward(video, inputs["video_mask"])
    assert logits.shape == (2, 4) and logits.isfinite().all()
    assert vid.shape == (2, 3, 32)
    assert text.shape == ((2, 3, 4, 32) if method == "stt" else (4, 32))


def test_stt_logits_depend_on_the_batch_as_in_prompt_tuning(fixtures, clip, inputs, class_names):
    """Prompt-tuning repeats STT's prompt mask class-major over clip-major text rows: kept, for its numbers."""
    model = build(fixtures, "stt/ucf101/best-mean", class_names, clip)
    video = inputs["input_video"]
    with torch.no_grad():
        together = model(video)
        alone = model(video[:1])
    assert not torch.allclose(together[:1], alone, atol=1e-4)


def test_run_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="'action_clip' is not one of the prompt-tuning families"):
        RunOptions.from_run_config({"prompt-optimisation-method": "action_clip"})
    with pytest.raises(ValueError, match="names no method"):
        RunOptions.from_run_config({"ctx-len": 8})
    with pytest.raises(ValueError, match="needs 'num-frames'"):
        RunOptions.from_run_config({"method-name": "stt"})
    with pytest.raises(ValueError, match="temporal-pooling 'median'"):
        RunOptions.from_run_config({"method-name": "video-coop", "temporal-pooling": "median"})
    opts = RunOptions.from_run_config({"method-name": "dual-coop", "num-frames": None})
    assert (opts.method, opts.frames_per_view, opts.handcrafted_template) == (
        "dual_coop",
        8,
        "A video of a person doing {}",
    )


def test_reading_a_run_config_imports_no_torch():
    """The workflow reads run configs while it plans, where torch is never imported."""
    import subprocess
    import sys

    code = (
        "import sys; from videoxai.models.families.prompt_tuning import RunOptions, method_of; "
        "method_of({'method-name': 'stt'}); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
