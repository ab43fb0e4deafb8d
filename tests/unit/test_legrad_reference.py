"""LeGrad's CLIP readout (``legrad-readout: layers``) against the ``legrad-torch`` package on the same weights.

A tiny OpenCLIP ViT, its weights copied into a Hugging Face CLIP (the tower the prompt-tuning families use); the
package's map (every layer: ``LeWrapper(model, layer_index=0)``) and videoxai's per-frame relevance, upsampled and
min-max normalised as the package does, agree within 1e-5. Skipped only where ``legrad-torch`` or ``open_clip`` is
not installed (both in the ``test`` extras).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.unit.test_models_clip import make
from videoxai.explain.legrad import LeGrad
from videoxai.models.families.prompt_tuning.per_frame import per_layer_text_legrad

legrad = pytest.importorskip("legrad")
open_clip = pytest.importorskip("open_clip")
transformers = pytest.importorskip("transformers")

torch.set_num_threads(1)
LAYERS, WIDTH, HEADS, PATCH, SIZE, EMBED = 3, 32, 2, 8, 32, 16


def _openclip() -> torch.nn.Module:
    torch.manual_seed(0)
    model = open_clip.CLIP(
        embed_dim=EMBED,
        vision_cfg={
            "image_size": SIZE,
            "layers": LAYERS,
            "width": WIDTH,
            "head_width": WIDTH // HEADS,
            "patch_size": PATCH,
        },
        text_cfg={"context_length": 8, "vocab_size": 50, "width": 16, "heads": 2, "layers": 1},
    ).eval()
    with torch.no_grad():
        for p in model.visual.parameters():  # off the initial values (LayerNorms of ones, zero biases)
            p.add_(0.05 * torch.randn_like(p))
    return model


def _copy(dst: torch.nn.Module, src: torch.nn.Module) -> None:
    dst.weight.copy_(src.weight)
    dst.bias.copy_(src.bias)


def _hf_clip(oc: torch.nn.Module) -> torch.nn.Module:
    """The same vision weights in a Hugging Face ``CLIPModel`` (q, k, v split from OpenCLIP's ``in_proj``)."""
    config = transformers.CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "vocab_size": 50,
            "max_position_embeddings": 8,
            "eos_token_id": 2,
        },
        vision_config={
            "hidden_size": WIDTH,
            "intermediate_size": 4 * WIDTH,
            "num_hidden_layers": LAYERS,
            "num_attention_heads": HEADS,
            "image_size": SIZE,
            "patch_size": PATCH,
            "hidden_act": "gelu",
            "layer_norm_eps": 1e-5,
        },
        projection_dim=EMBED,
    )
    hf = transformers.CLIPModel(config).eval()
    vm, v = hf.vision_model, oc.visual
    with torch.no_grad():
        vm.embeddings.patch_embedding.weight.copy_(v.conv1.weight)
        vm.embeddings.class_embedding.copy_(v.class_embedding)
        vm.embeddings.position_embedding.weight.copy_(v.positional_embedding)
        _copy(vm.pre_layrnorm, v.ln_pre)
        _copy(vm.post_layernorm, v.ln_post)
        for hl, ol in zip(vm.encoder.layers, v.transformer.resblocks, strict=True):
            _copy(hl.layer_norm1, ol.ln_1)
            _copy(hl.layer_norm2, ol.ln_2)
            attn = hl.self_attn
            for proj, w, b in zip(
                (attn.q_proj, attn.k_proj, attn.v_proj),
                ol.attn.in_proj_weight.chunk(3),
                ol.attn.in_proj_bias.chunk(3),
                strict=True,
            ):
                proj.weight.copy_(w)
                proj.bias.copy_(b)
            _copy(attn.out_proj, ol.attn.out_proj)
            _copy(hl.mlp.fc1, ol.mlp.c_fc)
            _copy(hl.mlp.fc2, ol.mlp.c_proj)
        hf.visual_projection.weight.copy_(v.proj.t())
    return hf


def test_the_copy_is_the_same_image_tower():
    oc = _openclip()
    hf = _hf_clip(oc)
    image = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        ours = hf.visual_projection(hf.vision_model(pixel_values=image).pooler_output)
        torch.testing.assert_close(ours, oc.encode_image(image), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_layer_readout_equals_legrad_torch(seed):
    oc = _openclip()
    hf = _hf_clip(oc)
    gen = torch.Generator().manual_seed(seed)
    image = torch.randn(1, 3, SIZE, SIZE, generator=gen)
    text = F.normalize(torch.randn(1, EMBED, generator=gen), dim=-1)
    reference = legrad.LeWrapper(oc, layer_index=0).compute_legrad(text_embedding=text, image=image).detach()
    grid = SIZE // PATCH
    ours = per_layer_text_legrad(hf, image, text).reshape(1, 1, grid, grid)
    ours = F.interpolate(ours, scale_factor=PATCH, mode="bilinear")
    ours = (ours - ours.min()) / (ours.max() - ours.min())
    assert reference.shape == ours.shape
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=0)


def test_the_explainer_reads_the_layers_of_every_frame():
    """``legrad-readout: layers`` on a prompt-tuning family: each frame's map is the per-frame readout for the
    clip's class text, and models without the CLIP readout are refused with the fix named."""
    model = make("video_coop_attention")
    video = torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    labels = torch.tensor([1, 0])
    got = LeGrad(model, **{"legrad-readout": "layers"}).explain(video, labels, "true").relevance
    with torch.no_grad():
        text = F.normalize(model.raw_text_features().float(), dim=-1)
    g = model.grid
    for i in range(2):
        want = per_layer_text_legrad(model.clip, video[i], text[labels[i]].expand(4, -1))
        torch.testing.assert_close(got[i], want[:, : g * g].reshape(4, g, g), atol=1e-7, rtol=1e-5)
    assert not torch.allclose(got, LeGrad(model).explain(video, labels, "true").relevance)
    from tests.unit.test_explain_methods import TinyViT

    with pytest.raises(ValueError, match="use legrad-readout: logit"):
        LeGrad(TinyViT(), **{"legrad-readout": "layers"})
    with pytest.raises(ValueError, match="legrad-readout must be one of"):
        LeGrad(model, **{"legrad-readout": "cls"})
