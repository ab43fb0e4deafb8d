"""The seed families on a transformers CLIPModel backbone (tiny random config, offline)."""

from __future__ import annotations

import pytest
import torch

from videoxai.explain.gradcam import activations_and_gradients
from videoxai.models.checkpoint import load_checkpoint, save_checkpoint
from videoxai.models.clip_video import ClipPromptVideo, load_clip
from videoxai.models.registry import build_model

TINY = {
    "text_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 32,
    },
    "vision_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 32,
        "patch_size": 8,
    },
    "projection_dim": 32,
}
CLASSES = ["MoveRight", "MoveLeft", "Grow"]
T = 4
VARIANTS = {
    "video_coop_mean": ("video_coop", {}),
    "video_coop_attention": ("video_coop", {"temporal_pooling": "attention"}),
    "dual_coop": ("dual_coop", {"n_vpt": 2}),
    "dual_coop_first": ("dual_coop", {"n_vpt": 2, "vpt_layers": 1}),
    "stt": ("stt", {}),
}


def make(name: str, classes=CLASSES, **extra) -> ClipPromptVideo:
    method, opts = VARIANTS[name]
    torch.manual_seed(0)
    model = {"backbone": "clip", "clip_config": TINY, "num_frames": T, **opts, **extra}
    return build_model(method, {"class_names": classes, "model": model}).eval()


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    return torch.randn(2, T, 3, 32, 32, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", VARIANTS)
def test_family_forward_attention_and_checkpoint(name, clip, tmp_path):
    model = make(name)
    assert isinstance(model, ClipPromptVideo) and model.method == VARIANTS[name][0]
    with torch.no_grad():
        fast = model(clip)
        slow, attn = model.forward_with_attention(clip)
    assert fast.shape == (2, 3)
    torch.testing.assert_close(slow, fast, atol=1e-5, rtol=1e-5)
    layout = model.token_layout
    n_vpt = 2 if name.startswith("dual") else 0
    assert (
        layout.num_prefix == 1 + T + T * n_vpt
    )  # video token, frame CLS tokens, prompts: all excluded from maps
    assert layout.num_tokens == layout.num_prefix + T * 16
    for a in attn:
        assert a.shape[-1] == layout.num_tokens and a.min() >= 0
        torch.testing.assert_close(a.sum(-1), torch.ones(a.shape[:-1]))
    # the video token's last entry: pooling weights over the frame CLS tokens (or the summary attention)
    last = attn[-1][:, 0, 0]
    assert (
        last[:, 1 : 1 + T].sum(-1).min() > 0.99 - (name == "stt")
        and last[:, 1 + T :].abs().max() == 0
    )
    if (
        name == "dual_coop_first"
    ):  # layer 2 no longer has the prompts: nothing attends to them
        prompts = list(range(1 + T, 1 + T + T * n_vpt))
        assert attn[1][:, :, 1 + T + T * n_vpt :][:, :, :, prompts].abs().max() == 0
    save_checkpoint(model, tmp_path)
    loaded = load_checkpoint(tmp_path)
    with torch.no_grad():
        assert torch.equal(loaded(clip), fast)


def test_per_frame_attention_is_block_diagonal(clip):
    model = make("video_coop_mean")
    with torch.no_grad():
        _, attn = model.forward_with_attention(clip)
    a = attn[0][0, 0]
    patches_of = lambda t: slice(1 + T + t * 16, 1 + T + (t + 1) * 16)
    assert (
        a[patches_of(0), patches_of(1)].abs().max() == 0
    )  # no attention across frames in a per-frame ViT
    assert (
        a[patches_of(0), 1].sum() > 0
    )  # frame 0's patches attend to frame 0's CLS (index 1)
    assert torch.equal(
        attn[-1][0, 0, 0, 1 : 1 + T], torch.full((T,), 1 / T)
    )  # mean pooling


@pytest.mark.parametrize("name", ["video_coop_mean", "dual_coop", "stt"])
def test_gradcam_layer_gets_gradients(name, clip):
    model = make(name)
    target = model.gradcam_target()
    labels = torch.zeros(len(clip), dtype=torch.long)
    _, grad, _, _ = activations_and_gradients(model, target, clip, labels, "true")
    grid = target.to_grid(grad)
    assert grid.shape == (2, 32, T, 4, 4) and grid.abs().amax(dim=(1, 3, 4)).min() > 0


def test_learned_context_trains_and_backbone_is_frozen(clip):
    model = make("video_coop_mean").train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "context" in trainable and not any(n.startswith("clip.") for n in trainable)


def test_handcrafted_prompts_and_transfer_with_bpe(clip):
    model = build_model(
        "video_coop",
        {
            "class_names": CLASSES,
            "tokenizer": {"type": "clip-bpe"},
            "model": {
                "backbone": "clip",
                "clip_config": {
                    **TINY,
                    "text_config": {
                        **TINY["text_config"],
                        "max_position_embeddings": 77,
                    },
                },
                "num_frames": T,
            },
        },
    ).eval()
    with torch.no_grad():
        learned = model(clip)
        model.set_handcrafted_prompts(True, "a video of a person {}.")
        hand = model(clip)
        assert not torch.allclose(learned, hand)
        model.set_class_names(
            ["ApplyEyeMakeup", "Basketball"]
        )  # any class list: BPE covers any text
        assert model(clip).shape == (2, 2)
    assert model.get_config()["tokenizer"] == {"type": "clip-bpe"}


def test_tiny_word_tokenizer_refuses_unknown_words():
    model = make("video_coop_mean")
    with pytest.raises(ValueError, match="never seen"):
        model.set_class_names(["Basketball"])


def test_real_clip_missing_offline_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        FileNotFoundError, match="huggingface-cli download openai/clip-vit-base-patch32"
    ):
        load_clip("openai/clip-vit-base-patch32", None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="must hold config.json"):
        load_clip(str(tmp_path / "empty"), None)


def test_real_clip_loads_from_a_local_folder(tmp_path, clip):
    """The path a real CLIP takes (from_pretrained, offline), here with a tiny saved model."""
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    CLIPModel(
        CLIPConfig(
            **{
                **TINY,
                "text_config": {**TINY["text_config"], "max_position_embeddings": 77},
            }
        )
    ).save_pretrained(tmp_path / "clip")
    model = build_model(
        "stt",
        {
            "class_names": CLASSES,
            "model": {
                "backbone": "clip",
                "clip_model": str(tmp_path / "clip"),
                "num_frames": T,
            },
        },
    )
    assert model.get_config()["tokenizer"] == {"type": "clip-bpe"}
    with torch.no_grad():
        assert model.eval()(clip).shape == (2, 3)


def test_tiny_word_tokenizer_takes_any_template(clip):
    """A template's words outside the tiny vocabulary get fixed vectors; the learned prompts are untouched."""
    model = make("video_coop_mean").eval()
    with torch.no_grad():
        learned = model(clip)
        model.set_handcrafted_prompts(True, "footage where someone does {}")
        assert model.oov_embedding.shape[0] == len(
            model.tokenizer.unknown_words(["footage where someone does {}"])
        )
        hand = model(clip)
        assert hand.isfinite().all() and not torch.allclose(hand, learned)
        model.set_handcrafted_prompts(False)
        assert torch.equal(model(clip), learned)
