"""Gradient-weighted rollout (Chefer, Gur & Wolf 2021, "Generic attention-model explainability").

``R = I``; per layer, in forward order, ``R <- R + mean_heads(clamp(dA ⊙ A, min=0)) @ R``
where ``dA`` is the gradient of the target logit with respect to that
layer's attention probabilities; the map is the CLS row of ``R``. Unlike
plain rollout it is class-specific and ignores heads that do not move the
target logit.

It needs the attention tensors that ``forward_with_attention`` returns to be
the ones the forward pass actually used (part of the autograd graph).
"""

from __future__ import annotations

from typing import Any

import torch

from videoxai.explain.base import (
    Explainer,
    Explanation,
    choose_targets,
    patch_grid,
    target_scores,
)
from videoxai.explain.options import METHOD_OPTIONS


def gradient_rollout(attentions: list[torch.Tensor], gradients: list[torch.Tensor]) -> torch.Tensor:
    """Chefer's relevance matrix ``(B, N, N)`` from per-layer attentions and their gradients (forward order)."""
    if not attentions:
        raise ValueError("no attention layers given")
    relevance = None
    for a, g in zip(attentions, gradients, strict=True):
        cam = (g.float() * a.float()).clamp_min(0).mean(dim=1)  # (B, N, N)
        if relevance is None:
            relevance = torch.eye(cam.shape[-1], dtype=cam.dtype, device=cam.device).expand_as(cam).clone()
        relevance = relevance + cam @ relevance
    return relevance


class GradRollout(Explainer):
    """Class-specific relevance through every attention layer; the map is the CLS row."""

    name = "grad-rollout"
    options: dict[str, Any] = METHOD_OPTIONS["grad-rollout"]
    needs_attention = True

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        layout = self.model.token_layout
        with torch.enable_grad():
            logits, attentions = self.model.forward_with_attention(video.detach().requires_grad_(True))
            targets = choose_targets(logits, labels, target)
            try:
                grads = torch.autograd.grad(target_scores(logits, targets), attentions)
            except RuntimeError as e:
                if "not have been used in the graph" not in str(e) and "does not require grad" not in str(e):
                    raise
                raise RuntimeError(
                    f"grad-rollout needs gradients of the attention that {type(self.model).__name__}."
                    "forward_with_attention returns, but those tensors are not part of the forward graph "
                    "(copies made after the fact): the model must compute its output from the returned "
                    "attention tensors"
                ) from e
        relevance = gradient_rollout([a.detach() for a in attentions], list(grads))
        return Explanation(patch_grid(relevance[:, layout.cls_index], layout), logits.detach(), targets)
