"""LeGrad (Bousselham et al. 2024, "LeGrad: an explainability method for vision transformers via feature formation").

Per layer ``l`` the gradient ``dA_l`` of the target logit (for the CLIP
families: the class's scaled text similarity) with respect to that layer's
attention probabilities, rectified, averaged over heads and over the query
rows, and averaged over layers:

    ``R = mean_l mean_rows mean_heads relu(dA_l)``, read at the image-token columns.

Unlike grad-rollout (Chefer et al.) it multiplies neither by the attention
nor across layers: a token is relevant where raising its attention weight in
any layer raises the class's logit. Rows are averaged as LeGrad's CLIP code
does (its ``grad.mean(dim=1).mean(dim=1)``), so the gradients that reach the
class through the patch tokens of earlier layers count too; in the last
layer only the CLS row has any.

Two differences from LeGrad's OpenCLIP wrapper, both so the map explains the
logit the model gives: every layer is differentiated through the model's own
forward and head (LeGrad reads each layer's token mean through ``ln_post`` and
the projection, and by default only the last two layers), and the result is
min-max normalised per clip, frames together, like every videoxai map (LeGrad:
per image). For the prompt-tuning families the attention is each frame's own
``(heads, 197, 197)`` block (:class:`videoxai.models.attention.AttentionLayer`),
one clip's graph at a time, as grad-rollout.

``legrad-readout: layers`` is LeGrad's CLIP wrapper instead, on models that
offer it (:class:`videoxai.models.attention.PerFrameTextLeGrad`: the
prompt-tuning families): every frame through the plain CLIP tower, each
layer's token mean through the final LayerNorm and projection, its cosine
with the class's text feature differentiated with respect to that layer's
attention (equal to ``legrad-torch`` on an OpenCLIP ViT with the same
weights: ``tests/unit/test_legrad_reference.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from videoxai.explain.base import Explanation, choose_targets, each_clip, joined
from videoxai.explain.grad_rollout import GradRollout
from videoxai.explain.options import METHOD_OPTIONS
from videoxai.models.attention import AttentionLayer, PerFrameTextLeGrad
from videoxai.models.base import TokenLayout


def legrad_relevance(
    layers: Sequence[AttentionLayer | torch.Tensor], gradients: Sequence[torch.Tensor]
) -> torch.Tensor:
    """LeGrad's relevance of every key token ``(B, N)``: ``mean_l mean_rows mean_heads relu(dA_l)`` (joint layout).

    A layer is an :class:`AttentionLayer` (``gradients[l]`` shaped like its
    ``probs``, maybe per-frame blocks) or a dense ``(B, heads, N, N)`` tensor;
    outside the blocks the gradient is 0.
    """
    if not layers:
        raise ValueError("no attention layers given")
    total = None
    for given, g in zip(layers, gradients, strict=True):
        layer = given if isinstance(given, AttentionLayer) else AttentionLayer(given)
        fused = g.float().clamp_min(0).mean(dim=1, keepdim=True)
        per_key = layer.embed(fused, 0.0)[:, 0].mean(dim=1)  # (B, N): the mean over query rows
        total = per_key if total is None else total + per_key
    return total / len(layers)


class LeGrad(GradRollout):
    """LeGrad: the rectified gradient of the class logit on every layer's attention; only the relevance step differs."""

    name = "legrad"
    options: dict[str, Any] = METHOD_OPTIONS["legrad"]
    READOUTS = ("logit", "layers")

    def check_params(self) -> None:
        readout = self.params["legrad-readout"]
        if readout not in self.READOUTS:
            raise ValueError(f"option legrad-readout must be one of {list(self.READOUTS)}, got {readout!r}")
        if readout == "layers" and not isinstance(self.model, PerFrameTextLeGrad):
            raise ValueError(
                f"legrad-readout: layers reads CLIP's layers against a class text, which {type(self.model).__name__} "
                "has not (only the prompt-tuning families); use legrad-readout: logit"
            )

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        if self.params["legrad-readout"] == "logit":
            return super().explain(video, labels, target)
        return joined(each_clip(self.model, self._explain_layers, video, labels, target))

    def _explain_layers(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        with torch.no_grad():
            logits = self.model(video)
        targets = choose_targets(logits, labels, target)
        return Explanation(self.model.per_frame_legrad(video, targets).float(), logits, targets)

    def token_relevance(
        self, layers: Sequence[AttentionLayer], gradients: Sequence[torch.Tensor], layout: TokenLayout
    ) -> torch.Tensor:
        """:func:`legrad_relevance`: a relevance per key token, the CLS and other prefix columns dropped later."""
        return legrad_relevance(layers, gradients)
