"""The three prompt-tuning families on the space-time tower: exact embedded attention, prefix tokens, Grad-CAM, checkpoints."""

from __future__ import annotations

import pytest
import torch

from videoxai.explain.gradcam import activations_and_gradients
from videoxai.models.checkpoints.weights import load_checkpoint, save_checkpoint
from videoxai.models.families.demo.prompt_text import PromptTextConfig
from videoxai.models.families.demo.tower import embed_frames, embed_subset
from videoxai.models.families.registry import build_model

CLASSES = ["MoveRight", "MoveLeft", "Grow", "Blink"]
T, S, HW, H = 4, 32, 16, 2
BASE = {
    "num_frames": T,
    "image_size": S,
    "width": 32,
    "layers": 2,
    "heads": H,
    "stem_channels": 8,
}
FAMILIES = {
    "video_coop": ("video_coop", {}),
    "dual_coop": ("dual_coop", {"frame_tokens": 2}),
    "dual_coop_first": ("dual_coop", {"frame_tokens": 2, "frame_token_layers": 1}),
    "stt": (
        "stt",
        {"frame_tokens": 1, "global_in_spatial": False, "summary_attention": True},
    ),
}


def make(name: str):
    method, extra = FAMILIES[name]
    torch.manual_seed(0)
    config = {
        "class_names": CLASSES,
        "model": {
            "tower": {**BASE, **extra},
            "text": PromptTextConfig(width=32, embed_dim=32, heads=H).to_dict(),
        },
    }
    return build_model(method, config).eval()


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    return torch.randn(2, T, 3, S, S, generator=torch.Generator().manual_seed(3))


def _merge(module, a_v: torch.Tensor) -> torch.Tensor:
    b, h, n, d = a_v.shape
    return module.proj(a_v.transpose(1, 2).reshape(b, n, h * d))


@pytest.mark.parametrize("name", FAMILIES)
def test_fast_and_explicit_paths_agree_and_rows_sum_to_one(name, clip):
    model = make(name)
    with torch.no_grad():
        fast = model(clip)
        slow, attn = model.forward_with_attention(clip)
    torch.testing.assert_close(slow, fast, atol=1e-5, rtol=1e-5)
    layout = model.token_layout
    p = model.tower.cfg.frame_tokens
    assert layout.num_prefix == 1 + T * p and layout.cls_index == 0
    per_block = 3 if name == "stt" else 2
    assert len(attn) == 2 * per_block
    for a in attn:
        assert a.shape == (2, H, layout.num_tokens, layout.num_tokens)
        assert a.min() >= 0
        torch.testing.assert_close(a.sum(-1), torch.ones(2, H, layout.num_tokens))


@pytest.mark.parametrize("name", FAMILIES)
def test_embedded_attention_reproduces_every_factor(name, clip):
    """Embedded matrix @ joint values == what each attention factor adds to each token it updates."""
    model = make(name)
    cfg = model.tower.cfg
    p_total, b = cfg.frame_tokens, clip.shape[0]
    n = 1 + T * p_total + T * HW
    seen: dict = {}
    hooks = []
    for i, block in enumerate(model.tower.blocks):
        for part in ("attn_s", "attn_sum"):
            if hasattr(block, part):
                hooks.append(
                    getattr(block, part).register_forward_hook(
                        lambda m, inp, out, key=(i, part): seen.__setitem__(key, (inp[0], out[0]))
                    )
                )
    try:
        with torch.no_grad():
            _, attn = model.forward_with_attention(clip)
    finally:
        for h in hooks:
            h.remove()
    per_block = len(attn) // cfg.layers
    for i, block in enumerate(model.tower.blocks):
        p = p_total if cfg.frame_token_layers is None or i < cfg.frame_token_layers else 0
        k = int(cfg.global_in_spatial)
        x_s, out_s = seen[(i, "attn_s")]
        with torch.no_grad():
            v = block.attn_s.heads_qkv(x_s)[2].reshape(b, T, H, k + p + HW, -1)
            out_s = out_s.reshape(b, T, k + p + HW, -1)
            v_joint = torch.zeros(b, H, n, v.shape[-1])
            rows = []
            for t in range(T):
                idx = [1 + t * p_total + j for j in range(p)] + [1 + T * p_total + t * HW + q for q in range(HW)]
                v_joint[:, :, idx] = v[:, t, :, k:]
                rows.append(idx)
            if k:
                v_joint[:, :, 0] = v[:, 0, :, 0]
            joint = _merge(block.attn_s, attn[per_block * i + 1] @ v_joint)
            for t, idx in enumerate(rows):
                torch.testing.assert_close(joint[:, idx], out_s[:, t, k:], atol=1e-5, rtol=1e-4)
            if k:
                torch.testing.assert_close(joint[:, 0], out_s[:, :, 0].mean(1), atol=1e-5, rtol=1e-4)
            if p < p_total:  # dropped prompts take no part: identity rows, nothing attends to them
                a = attn[per_block * i + 1]
                pr = list(range(1, 1 + T * p_total))
                assert torch.equal(a[:, :, pr][:, :, :, pr], torch.eye(len(pr)).expand(b, H, -1, -1))
                assert a[:, :, 1 + T * p_total :][:, :, :, pr].abs().max() == 0
            if name == "stt":
                x_u, out_u = seen[(i, "attn_sum")]
                v = block.attn_sum.heads_qkv(x_u)[2]
                v_joint = torch.zeros(b, H, n, v.shape[-1])
                v_joint[:, :, : 1 + T * p_total] = v
                joint = _merge(block.attn_sum, attn[per_block * i + 2] @ v_joint)
                torch.testing.assert_close(joint[:, : 1 + T * p_total], out_u, atol=1e-5, rtol=1e-4)


def test_stt_video_token_reads_frames_only_through_summary_tokens(clip):
    model = make("stt")
    with torch.no_grad():
        _, attn = model.forward_with_attention(clip)
    spatial = attn[1]
    assert torch.equal(spatial[:, :, 0, 0], torch.ones(2, H))  # video token is not in spatial attention
    summary = attn[2]
    assert summary[:, :, 0, 1 + T :].abs().max() == 0  # ... and reads no patch directly
    assert summary[:, :, 0, 1 : 1 + T].sum(-1).min() > 0


@pytest.mark.parametrize("name", FAMILIES)
def test_gradcam_layer_gets_gradients_on_image_tokens(name, clip):
    model = make(name)
    target = model.gradcam_target()
    labels = torch.ones(len(clip), dtype=torch.long)
    _, grad, _, _ = activations_and_gradients(model, target, clip, labels, "true")
    grid = target.to_grid(grad)
    assert grid.shape == (2, 32, T, 4, 4)
    assert grid.abs().amax(dim=(1, 3, 4)).min() > 0


@pytest.mark.parametrize("name", FAMILIES)
def test_save_load_identical(name, clip, tmp_path):
    model = make(name)
    save_checkpoint(model, tmp_path)
    loaded = load_checkpoint(tmp_path)
    assert loaded.method == FAMILIES[name][0] and type(loaded) is type(model)
    assert loaded.tower.cfg == model.tower.cfg
    with torch.no_grad():
        assert torch.equal(loaded(clip), model(clip))


def test_family_constraints_are_checked():
    with pytest.raises(ValueError, match="video_coop has no frame tokens"):
        build_model(
            "video_coop",
            {"class_names": CLASSES, "model": {"tower": {"frame_tokens": 2}}},
        )
    with pytest.raises(ValueError, match="dual_coop needs frame_tokens"):
        build_model(
            "dual_coop",
            {"class_names": CLASSES, "model": {"tower": {"frame_tokens": 0}}},
        )
    with pytest.raises(ValueError, match="stt needs"):
        build_model(
            "stt",
            {"class_names": CLASSES, "model": {"tower": {"global_in_spatial": True}}},
        )


def test_embed_subset_and_frames_without_global():
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(2, 1, 3, 3, generator=g), -1)
    e = embed_subset(p, torch.tensor([0, 2, 4]), 5)
    torch.testing.assert_close(e[:, :, [0, 2, 4]][:, :, :, [0, 2, 4]], p)
    assert e[0, 0, 1, 1] == 1 and e[0, 0, 3, 3] == 1 and e[0, 0, 1].sum() == 1
    probs = torch.softmax(torch.randn(2 * 2, 1, 3, 3, generator=g), -1)  # B=2, T=2, 3 tokens per frame
    index = torch.tensor([[1, 2, 3], [4, 5, 6]])
    e = embed_frames(probs, 2, index, 7, with_global=False)
    torch.testing.assert_close(e[:, :, 4:7, 4:7], probs.reshape(2, 2, 1, 3, 3)[:, 1])
    assert torch.equal(e[:, :, 0, 0], torch.ones(2, 1))
    torch.testing.assert_close(e.sum(-1), torch.ones(2, 1, 7))
