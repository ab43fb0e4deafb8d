"""Gradient-weighted rollout (Chefer, Gur & Wolf 2021, "Generic attention-model explainability").

``R = I``; per layer, in forward order, ``R <- R + mean_heads(clamp(dA ⊙ A, min=0)) @ R``
where ``dA`` is the gradient of the target logit with respect to that
layer's attention probabilities; the map is the CLS row of ``R``. Unlike
plain rollout it is class-specific and ignores heads that do not move the
target logit.

It needs the attention that ``attention_layers`` returns to be the
probabilities the forward pass actually used (part of the autograd graph).
The gradients are taken with respect to each layer's own form (per-frame
blocks for the prompt-tuning families: ``dA ⊙ A`` is 0 outside them), and
each clip's graph is freed before the next clip's is built
(:func:`~videoxai.explain.base.each_clip`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from videoxai.explain.base import (
    Explainer,
    Explanation,
    choose_targets,
    each_clip,
    joined,
    patch_grid,
    target_scores,
)
from videoxai.explain.options import METHOD_OPTIONS
from videoxai.models.attention import AttentionLayer
from videoxai.models.base import TokenLayout


def gradient_rollout(
    layers: Sequence[AttentionLayer | torch.Tensor], gradients: Sequence[torch.Tensor]
) -> torch.Tensor:
    """Chefer's relevance matrix ``(B, N, N)`` from per-layer attentions and their gradients (forward order).

    A layer is an :class:`AttentionLayer` (``gradients[l]`` shaped like its
    ``probs``) or a dense ``(B, heads, N, N)`` tensor. Each layer's
    gradient-weighted attention is placed in the joint layout (0 where no
    block is) only when it is folded in.
    """
    if not layers:
        raise ValueError("no attention layers given")
    relevance = None
    for given, g in zip(layers, gradients, strict=True):
        layer = given if isinstance(given, AttentionLayer) else AttentionLayer(given)
        weighted = (g.float() * layer.probs.detach().float()).clamp_min(0).mean(dim=1, keepdim=True)
        cam = layer.embed(weighted, 0.0)[:, 0]  # (B, N, N)
        if relevance is None:
            relevance = torch.eye(cam.shape[-1], dtype=cam.dtype, device=cam.device).expand_as(cam).clone()
        relevance = relevance + cam @ relevance
    return relevance


class GradRollout(Explainer):
    """Class-specific relevance through every attention layer; the map is the CLS row.

    The template of the methods that weigh attention by its gradient: one
    forward keeping every layer's attention in the graph, one backward of the
    target logit (one clip's graph at a time), then :meth:`token_relevance`,
    the step a method overrides (:class:`videoxai.explain.legrad.LeGrad`).
    """

    name = "grad-rollout"
    options: dict[str, Any] = METHOD_OPTIONS["grad-rollout"]
    needs_attention = True

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        return joined(each_clip(self.model, self._explain, video, labels, target))

    def _explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        layout = self.model.token_layout
        with torch.enable_grad():
            logits, layers = self.model.attention_layers(video.detach().requires_grad_(True))
            targets = choose_targets(logits, labels, target)
            try:
                grads = torch.autograd.grad(target_scores(logits, targets), [layer.probs for layer in layers])
            except RuntimeError as e:
                if "not have been used in the graph" not in str(e) and "does not require grad" not in str(e):
                    raise
                raise RuntimeError(
                    f"{self.name} needs gradients of the attention that {type(self.model).__name__}."
                    "attention_layers returns, but those tensors are not part of the forward graph "
                    "(copies made after the fact): the model must compute its output from the returned "
                    "attention tensors"
                ) from e
        return Explanation(
            patch_grid(self.token_relevance(layers, list(grads), layout), layout), logits.detach(), targets
        )

    # ---- the step a gradient-on-attention method overrides ----
    def token_relevance(
        self, layers: Sequence[AttentionLayer], gradients: Sequence[torch.Tensor], layout: TokenLayout
    ) -> torch.Tensor:
        """Relevance of every token ``(B, N)`` from the attentions and d(target logit)/d(attention): Chefer's CLS row."""
        return gradient_rollout(layers, gradients)[:, layout.cls_index]
