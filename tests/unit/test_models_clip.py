"""The prompt-tuning families on a transformers CLIPModel built from a tiny config (random weights, offline).

These run the prompt-tuning models through the registry path (``model.backbone: clip``)
on shapes and options beyond the golden fixtures (tests/unit/test_prompt_tuning_models.py):
attention in the graph, Grad-CAM, checkpoints, transfer, hand-crafted prompts.
"""

from __future__ import annotations

import pytest
import torch

from videoxai.explain.gradcam import activations_and_gradients
from videoxai.models.checkpoints.weights import load_checkpoint, save_checkpoint
from videoxai.models.families.prompt_tuning import PromptTuningModel
from videoxai.models.families.prompt_tuning.build import load_clip
from videoxai.models.families.registry import build_model

TINY = {
    "text_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 40,
    },
    "vision_config": {
        "hidden_size": 24,
        "intermediate_size": 48,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 32,
        "patch_size": 8,
    },
    "projection_dim": 32,
}
CLASSES = ["MoveRight", "MoveLeft", "Grow"]
T = 4
RUN = {
    "ctx-len": 4,
    "num-frames-temporal": T,
    "num-temporal-views": 1,
    "num-spatial-views": 1,
}
VARIANTS = {
    "video_coop_mean": ("video_coop", {"temporal-pooling": "mean"}),
    "video_coop_attention": (
        "video_coop",
        {"temporal-pooling": "attention", "num-heads-attention-pooling": 2},
    ),
    "video_coop_max": ("video_coop", {"temporal-pooling": "max"}),
    "dual_coop": (
        "dual_coop",
        {"ctx-len-video": 2, "keep-vision-prompts-throughout": True},
    ),
    "dual_coop_first": (
        "dual_coop",
        {"ctx-len-video": 2, "keep-vision-prompts-throughout": False},
    ),
    "stt": (
        "stt",
        {
            "ctx-len-video": 2,
            "num-frames": T,
            "num-frame-tokens": 2,
            "num-heads-summary-attention": 2,
            "layers-with-summary-to-text": [1],
            "temporal-pooling": "attention",
        },
    ),
    "vidop": ("vidop", {"ctx-len-video": 2, "keep-vision-prompts-throughout": False, "temporal-pooling": "attention"}),
    "vilt": (  # layer 0: text prompts, translated to vision; layer 1: vision prompts, translated to text
        "vilt",
        {
            "ctx-len-video": 2,
            "num-tokens-per-layer-text": 2,
            "num-tokens-per-layer-vision": 3,
            "modality-transfer-text": [[[0], []], [[], [1]]],
            "modality-transfer-vision": [[[], [0]], [[1], []]],
        },
    ),
    "vilt_late": (  # layer 0 plain (the visual prompts take part), layer 1 joint
        "vilt",
        {
            "ctx-len-video": 2,
            "num-tokens-per-layer-text": 2,
            "modality-transfer-text": [[[], []], [[1], []]],
            "modality-transfer-vision": [[[], []], [[], [1]]],
            "temporal-pooling": "max",
        },
    ),
    "vita": (
        "vita",
        {"ctx-len-video": 2, "num-frames": T, "num-frame-tokens": 2, "num-heads-summary-attention": 2},
    ),
}


def make(name: str, classes=CLASSES, **extra) -> PromptTuningModel:
    method, opts = VARIANTS[name]
    torch.manual_seed(0)
    model = {
        "backbone": "clip",
        "clip_config": TINY,
        "run_config": {**RUN, **opts, **extra},
    }
    return build_model(method, {"class_names": classes, "model": model}).eval()


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    return torch.randn(2, T, 3, 32, 32, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", VARIANTS)
def test_family_forward_attention_and_checkpoint(name, clip, tmp_path):
    model = make(name)
    assert isinstance(model, PromptTuningModel) and model.method == VARIANTS[name][0]
    with torch.no_grad():
        fast = model(clip)
        slow, attn = model.forward_with_attention(clip)
    assert fast.shape == (2, 3)
    torch.testing.assert_close(slow, fast, atol=1e-5, rtol=1e-5)
    layout = model.token_layout
    # per-frame tokens besides CLS and patches, at most: visual prompts, summary + frame-level + video tokens,
    # vilt's prompts and translated text tokens
    extra = {"dual_coop": 2, "dual_coop_first": 2, "stt": 5, "vidop": 2, "vilt": 4, "vilt_late": 4, "vita": 5}.get(
        name, 0
    )
    assert layout.num_prefix == 1 + T + T * extra  # video token, frame CLS, per-frame extra tokens: not in maps
    assert layout.num_tokens == layout.num_prefix + T * 16
    assert len(attn) == 2 + 1  # two CLIP layers, then the temporal pooling
    for a in attn:
        assert a.shape[-1] == layout.num_tokens and a.min() >= 0
        torch.testing.assert_close(a.sum(-1), torch.ones(a.shape[:-1]))
    # the video token's row of the pooling entry: the frame weights, on the frame CLS tokens only
    last = attn[-1][:, :, 0]
    torch.testing.assert_close(last[:, :, 1 : 1 + T].sum(-1), torch.ones(last.shape[:2]))
    assert last[:, :, 1 + T :].abs().max() == 0
    if name == "dual_coop_first":  # layer 2 no longer has the prompts: nothing attends to them
        prompts = list(range(1 + T, 1 + T + T * extra))
        assert attn[1][:, :, 1 + T + T * extra :][:, :, :, prompts].abs().max() == 0
    save_checkpoint(model, tmp_path)
    loaded = load_checkpoint(tmp_path)
    assert isinstance(loaded, type(model))
    with torch.no_grad():
        torch.testing.assert_close(loaded(clip), fast, atol=0, rtol=0)


def test_per_frame_attention_is_block_diagonal(clip):
    model = make("video_coop_mean")
    with torch.no_grad():
        _, attn = model.forward_with_attention(clip)
    a = attn[0][0, 0]

    def patches_of(t):
        return slice(1 + T + t * 16, 1 + T + (t + 1) * 16)

    assert a[patches_of(0), patches_of(1)].abs().max() == 0  # no attention across frames in a per-frame ViT
    assert a[patches_of(0), 1].sum() > 0  # frame 0's patches attend to frame 0's CLS (index 1)
    assert torch.equal(attn[-1][0, 0, 0, 1 : 1 + T], torch.full((T,), 1 / T))  # mean pooling


def test_views_are_averaged_and_the_mask_zeroes_frames(clip):
    model = make("video_coop_attention")
    views = torch.stack([clip, clip.flip(1)], 1)  # (B, V=2, T, C, H, W)
    with torch.no_grad():
        both = model(views)
        one = [model(views[:, v]) for v in range(2)]
        torch.testing.assert_close(both, (one[0] + one[1]) / 2, atol=1e-5, rtol=1e-5)
        mask = torch.ones(2, 2, T, dtype=torch.bool)
        assert torch.equal(model(views, mask), both)
        mask[1, :, -1] = False
        masked = model(views, mask)
    assert torch.equal(masked[0], both[0]) and not torch.allclose(masked[1], both[1])


@pytest.mark.parametrize("name", ["video_coop_mean", "dual_coop", "stt", "vidop", "vilt", "vita"])
def test_gradcam_layer_gets_gradients(name, clip):
    model = make(name)
    target = model.gradcam_target()
    labels = torch.zeros(len(clip), dtype=torch.long)
    _, grad, _, _ = activations_and_gradients(model, target, clip, labels, "true")
    grid = target.to_grid(grad)
    width = TINY["vision_config"]["hidden_size"]
    assert grid.shape == (2, width, T, 4, 4) and grid.abs().amax(dim=(1, 3, 4)).min() > 0


@pytest.mark.parametrize("name", ["video_coop_attention", "stt"])
def test_context_learner_trains_and_backbone_is_frozen(name, clip):
    model = make(name).train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "context_learner.context_vectors_text" in trainable and "context_learner.logit_scale" in trainable
    assert not any(n.startswith("clip.") for n in trainable)
    loss = torch.nn.functional.cross_entropy(model(clip), torch.tensor([0, 1]))
    loss.backward()
    assert model.context_learner.context_vectors_text.grad.abs().sum() > 0


def test_handcrafted_prompts_and_transfer(clip):
    model = make("dual_coop")
    with torch.no_grad():
        learned = model(clip)
        model.set_handcrafted_prompts(True)
        assert model.template == "A video of a person doing {}"
        hand = model(clip)
        assert not torch.allclose(learned, hand)
        model.set_class_names(["ApplyEyeMakeup", "Basketball"])  # any class list: CLIP's BPE covers any text
        assert model(clip).shape == (2, 2)
        model.set_handcrafted_prompts(False, "a clip of {}")
        model.set_class_names(CLASSES)
        assert torch.equal(model(clip), learned)
    with pytest.raises(ValueError, match="'{}'"):
        model.set_handcrafted_prompts(True, "no placeholder")


def test_stt_ignores_handcrafted_prompts_as_prompt_tuning(clip):
    model = make("stt")
    with torch.no_grad():
        learned = model(clip)
        model.set_handcrafted_prompts(True)
        assert torch.equal(model(clip), learned)
    with pytest.raises(ValueError, match="trained on 4 frames"):
        model(torch.zeros(1, 3, 3, 32, 32))


def test_real_clip_missing_offline_says_what_to_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="hf download openai/clip-vit-base-patch32"):
        load_clip("openai/clip-vit-base-patch32")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="must be a folder holding config.json"):
        load_clip(str(tmp_path / "empty"))


def test_real_clip_loads_from_a_local_folder(tmp_path, clip):
    """The path a real CLIP takes (from_pretrained, offline); its tokenizer must be saved beside it."""
    from transformers import CLIPConfig, CLIPModel

    from videoxai.models.families.prompt_tuning import build_prompt_tuning_model
    from videoxai.models.families.prompt_tuning.text import OpenClipTokenizer

    torch.manual_seed(0)
    CLIPModel(CLIPConfig(**TINY)).save_pretrained(tmp_path / "clip")
    run = {**RUN, **VARIANTS["stt"][1], "prompt-optimisation-method": "stt"}
    model = {
        "backbone": "clip",
        "clip_model": str(tmp_path / "clip"),
        "run_config": run,
    }
    with pytest.raises(FileNotFoundError, match="tokenizer of CLIP backbone"):
        build_model("stt", {"class_names": CLASSES, "model": model})  # no tokenizer files in that folder
    built = build_prompt_tuning_model(run, CLASSES, load_clip(str(tmp_path / "clip")), tokenizer=OpenClipTokenizer())
    assert built.get_config()["model"]["clip_model"] == str(tmp_path / "clip")
    with torch.no_grad():
        assert built(clip).shape == (2, 3)
