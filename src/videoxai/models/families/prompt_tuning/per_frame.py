"""Prompt-tuning's explainer path: every frame through the CLIP image tower on its own, attention kept.

Prompt-tuning's ``VideoExplainer`` does not explain the forward pass that makes
the logits: it runs each frame through ``model.clip``'s vision tower
(``encode_video_batch(return_attentions=True)``) and rolls out those per-frame
attentions, and its Grad-CAM hooks ``layer_norm2`` of that tower's last layer.
This module is that path, driven by :func:`~.layers.encoder_layer` (the
family's one CLIP layer with explicit attention probabilities), so hooks on a
layer's own modules fire as in prompt-tuning. The models expose it as
:meth:`~.common.PromptTuningModel.per_frame_attentions` and
:meth:`~.common.PromptTuningModel.per_frame_gradcam`; explainers ask for it
through :class:`videoxai.models.attention.PerFrameAttention`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from videoxai.models.families.prompt_tuning.layers import encoder_layer


def per_frame_attentions(
    clip: nn.Module,
    pixels: torch.Tensor,
    visual_prompts: torch.Tensor | None = None,
    keep_prompts: bool = False,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Prompt-tuning's ``encode_video_batch(return_attentions=True)``: CLIP image features and per-layer attention.

    ``pixels`` ``(F, C, H, W)``: every frame on its own. Without
    ``visual_prompts`` this is the plain CLIP vision path (video_coop, and stt,
    whose explainer never runs the STT layers). With them (dual_coop: its
    ``context_vectors_vision``) the prompts are appended after the patch
    tokens before ``pre_layrnorm``; unless ``keep_prompts`` they are dropped
    after each layer and the returned attention is cut to the CLS and patch
    tokens (rows not re-normalised), as Dual.py does. Returns the projected
    CLS features ``(F, D)`` and ``[(F, heads, N, N)]`` per layer.
    """
    vm = clip.vision_model
    x = vm.embeddings(pixels.to(vm.embeddings.patch_embedding.weight.dtype))
    if visual_prompts is not None:
        x = torch.cat([x, visual_prompts.to(x.dtype).expand(x.shape[0], -1, -1)], dim=1)
    keep = x.shape[1] if (visual_prompts is None or keep_prompts) else x.shape[1] - visual_prompts.shape[-2]
    x = vm.pre_layrnorm(x)
    attentions = []
    for layer in vm.encoder.layers:
        x, probs = encoder_layer(layer, x, need=True)
        attentions.append(probs[..., :keep, :keep])
        x = x[:, :keep]
    return clip.visual_projection(vm.post_layernorm(x.mean(dim=1))), attentions


def layer_norm2_gradients(
    clip: nn.Module,
    pixels: torch.Tensor,
    text_features: torch.Tensor,
    class_idx: int | torch.Tensor,
    logit_scale: torch.Tensor | float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Activations and gradients of ``vision_model.encoder.layers[-1].layer_norm2``, as prompt-tuning's ``_gradcam``.

    The plain CLIP vision path (no prompts, no STT layers), unnormalised
    projected CLS features, ``logits = scale * feats . text_features``, score
    ``1000 * mean(logits[..., class_idx])`` (``class_idx``: one class, or one
    per frame). Returns ``(F, N, D)`` twice.
    """
    layer = clip.vision_model.encoder.layers[-1].layer_norm2
    store: dict[str, torch.Tensor] = {}

    def hook(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
        store["a"] = out

    handle = layer.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            vm = clip.vision_model
            pixels = pixels.detach().to(vm.embeddings.patch_embedding.weight.dtype).requires_grad_(True)
            x = vm.pre_layrnorm(vm.embeddings(pixels))
            for lay in vm.encoder.layers:
                x, _ = encoder_layer(lay, x, need=True)
            feats = clip.visual_projection(vm.post_layernorm(x)[:, 0])
            logits = logit_scale * feats @ text_features.to(feats.dtype).t()
            idx = torch.as_tensor(class_idx, device=logits.device).reshape(-1, 1).expand(logits.shape[0], 1)
            score = logits.gather(1, idx).mean() * 1000
            (grad,) = torch.autograd.grad(score, store["a"])
    finally:
        handle.remove()
    return store["a"].detach(), grad.detach()


def per_layer_text_legrad(
    clip: nn.Module, pixels: torch.Tensor, text_features: torch.Tensor, first_layer: int = 0
) -> torch.Tensor:
    """LeGrad as its CLIP wrapper reads each layer, on the plain CLIP vision path of every frame on its own.

    Per layer ``l >= first_layer``: the mean of the layer's output tokens
    through ``post_layernorm`` and ``visual_projection``, L2-normalised, dotted
    with the frame's (normalised) text feature; the gradient of that score with
    respect to the layer's attention, rectified, averaged over heads and query
    rows; the CLS column dropped; summed over layers. ``pixels`` ``(F, C, H, W)``,
    ``text_features`` ``(F, D)`` (one class per frame). Returns ``(F, N - 1)``,
    before normalisation.
    """
    vm = clip.vision_model
    with torch.enable_grad():
        # the input requires grad so the graph exists even when every weight is frozen
        pixels = pixels.detach().to(vm.embeddings.patch_embedding.weight.dtype).requires_grad_(True)
        x = vm.pre_layrnorm(vm.embeddings(pixels))
        scores, probs = [], []
        for i, layer in enumerate(vm.encoder.layers):
            x, p = encoder_layer(layer, x, need=True)
            if i >= first_layer:
                feats = torch.nn.functional.normalize(clip.visual_projection(vm.post_layernorm(x.mean(dim=1))), dim=-1)
                scores.append((feats * text_features.to(feats.dtype)).sum())
                probs.append(p)
        total = None
        for score, p in zip(scores, probs, strict=True):
            (g,) = torch.autograd.grad(score, p, retain_graph=True)
            r = g.float().clamp_min(0).mean(dim=1).mean(dim=1)[:, 1:]
            total = r if total is None else total + r
    return total
