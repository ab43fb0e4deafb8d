"""Attention rollout (Abnar & Zuidema 2020) and prompt-tuning's CLS-only variants.

Rollout: per layer fuse heads, optionally zero the weakest attentions (never
the CLS row or column), add the identity for the residual path, re-normalise
rows, and multiply the layers together. The product is accumulated layer by
layer (:class:`RolloutAccumulator`), so only one dense ``(B, N, N)`` product
is kept; each layer comes from the model's ``attention_layers`` and has its
heads fused in its own form (per-frame blocks for the prompt-tuning
families) before it is placed in the joint layout (:func:`fused_layer`).

This is the ``standard`` convention; prompt-tuning's own forms (the reverse
product order, its discard rule, per-frame max maps) are in
:mod:`videoxai.explain.prompt_tuning` (``conventions: prompt-tuning``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from videoxai.explain.base import Explainer, Explanation, choose_targets, patch_grid
from videoxai.explain.options import METHOD_OPTIONS
from videoxai.models.attention import AttentionLayer
from videoxai.models.base import TokenLayout

HEAD_FUSIONS = ("mean", "max", "min")


def fuse_heads(attention: torch.Tensor, how: str) -> torch.Tensor:
    """``(B, heads, N, N)`` -> ``(B, N, N)`` by mean, max or min over heads."""
    if how == "mean":
        return attention.mean(dim=1)
    if how == "max":
        return attention.amax(dim=1)
    if how == "min":
        return attention.amin(dim=1)
    raise ValueError(f"head-fusion must be one of {list(HEAD_FUSIONS)}, got {how!r}")


def fused_layer(layer: AttentionLayer, how: str) -> torch.Tensor:
    """One layer's heads fused, ``(B, N, N)`` over the joint token set.

    Fused in the layer's own form, then placed in the joint layout: equal to
    :func:`fuse_heads` of its dense matrix (entries outside the blocks are 0 and
    identity rows 1 in every head), without building the dense per-head matrix.
    """
    return layer.embed(fuse_heads(layer.probs.detach().float(), how)[:, None], 1.0)[:, 0]


def discard_lowest(attention: torch.Tensor, ratio: float, cls_index: int = 0) -> torch.Tensor:
    """Zero the ``ratio`` fraction of weakest entries of each ``(N, N)`` matrix, never the CLS row/column.

    The CLS row and column are excluded from the ranking as well, so the
    fraction is of the patch-to-patch entries only.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"discard-ratio must be in [0, 1), got {ratio}")
    if ratio == 0.0:
        return attention
    b, n, _ = attention.shape
    protected = torch.zeros(n, n, dtype=torch.bool, device=attention.device)
    protected[cls_index, :] = True
    protected[:, cls_index] = True
    k = int((n * n - int(protected.sum())) * ratio)
    if k == 0:
        return attention
    ranked = attention.masked_fill(protected, math.inf).reshape(b, -1)
    lowest = ranked.topk(k, dim=1, largest=False).indices
    return attention.reshape(b, -1).scatter(1, lowest, 0.0).reshape(b, n, n)


class RolloutAccumulator:
    """Running product ``Â_l ... Â_1`` with ``Â = rownorm(fuse(A) (discarded) + I)``."""

    def __init__(self, head_fusion: str = "mean", discard_ratio: float = 0.0, cls_index: int = 0):
        self.head_fusion = head_fusion
        self.discard_ratio = discard_ratio
        self.cls_index = cls_index
        self.result: torch.Tensor | None = None
        self.layers = 0

    def update(self, attention: torch.Tensor) -> None:
        """Fold one layer's attention ``(B, heads, N, N)`` into the product."""
        self.update_fused(fuse_heads(attention.detach().float(), self.head_fusion))

    def update_layer(self, layer: AttentionLayer) -> None:
        """Fold one :class:`AttentionLayer` into the product (heads fused in its own form)."""
        self.update_fused(fused_layer(layer, self.head_fusion))

    def update_fused(self, fused: torch.Tensor) -> None:
        """Fold one layer whose heads are already fused, ``(B, N, N)``, into the product."""
        a = discard_lowest(fused, self.discard_ratio, self.cls_index)
        a = a + torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        a = a / a.sum(dim=-1, keepdim=True)
        self.result = a if self.result is None else a @ self.result
        self.layers += 1

    def token_relevance(self, use_cls_token: bool) -> torch.Tensor:
        """``(B, N)``: the CLS row of the product, or the mean of all its rows."""
        if self.result is None:
            raise ValueError("the model returned no attention layers: nothing to roll out")
        return self.result[:, self.cls_index] if use_cls_token else self.result.mean(dim=1)


def rollout(
    attentions: list[torch.Tensor], head_fusion: str = "mean", discard_ratio: float = 0.0, cls_index: int = 0
) -> torch.Tensor:
    """The full rollout matrix ``(B, N, N)`` of a list of per-layer attentions (forward order)."""
    acc = RolloutAccumulator(head_fusion, discard_ratio, cls_index)
    for a in attentions:
        acc.update(a)
    if acc.result is None:
        raise ValueError("no attention layers given")
    return acc.result


def cls_patch_row(fused: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
    """The CLS row of a fused ``(B, N, N)`` layer, image tokens only, ``(B, T*h*w)``."""
    return fused[:, layout.cls_index, layout.num_prefix :]


def _attends_patches(cls_row: torch.Tensor) -> torch.Tensor:
    """Per clip, whether a layer's CLS row reaches image tokens at all.

    In divided space-time models the temporal factor leaves CLS out (its row
    is the identity); such a layer says nothing about where CLS looks, and a
    log of its zeros would wipe out the other layers.
    """
    return cls_row.sum(dim=1) > 1e-6


class _AttentionExplainer(Explainer):
    needs_attention = True

    def check_params(self) -> None:
        if self.params.get("head-fusion", "mean") not in HEAD_FUSIONS:
            raise ValueError(
                f"option head-fusion must be one of {list(HEAD_FUSIONS)}, got {self.params['head-fusion']!r}"
            )
        ratio = self.params.get("discard-ratio", 0.0)
        if not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0:
            raise ValueError(f"option discard-ratio must be a number in [0, 1), got {ratio!r}")

    def _forward(
        self, video: torch.Tensor, labels: torch.Tensor | None, target: str
    ) -> tuple[torch.Tensor, list[AttentionLayer], torch.Tensor]:
        with torch.no_grad():
            logits, layers = self.model.attention_layers(video)
        return logits, layers, choose_targets(logits, labels, target)


class AttentionRollout(_AttentionExplainer):
    """Abnar & Zuidema's rollout; the map is the CLS row (``use-cls-token``) or the mean of all rows."""

    name = "attention-rollout"
    options: dict[str, Any] = METHOD_OPTIONS["attention-rollout"]

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        layout = self.model.token_layout
        logits, layers, targets = self._forward(video, labels, target)
        acc = RolloutAccumulator(self.params["head-fusion"], float(self.params["discard-ratio"]), layout.cls_index)
        while layers:
            acc.update_layer(layers.pop(0))  # drop each layer once folded in
        relevance = patch_grid(acc.token_relevance(bool(self.params["use-cls-token"])), layout)
        return Explanation(relevance, logits, targets)


class AttentionRolloutCLS(_AttentionExplainer):
    """Prompt-tuning's CLS-only rollout: CLS-to-patch attention multiplied across layers, in log space.

    ``map = exp(sum_l log(a_l + eps))`` over the layers whose CLS row reaches
    image tokens, shifted by its maximum before ``exp`` so it never underflows.
    """

    name = "attention-rollout-cls"
    options: dict[str, Any] = METHOD_OPTIONS["attention-rollout-cls"]

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        layout = self.model.token_layout
        logits, layers, targets = self._forward(video, labels, target)
        log_sum, count = None, 0
        eps = float(self.params["eps"])
        for layer in layers:
            row = cls_patch_row(fused_layer(layer, self.params["head-fusion"]), layout)
            used = _attends_patches(row)
            term = torch.log(row + eps) * used[:, None]
            log_sum = term if log_sum is None else log_sum + term
            count = count + used.long()
        _require_cls_patch_layers(count, self)
        relevance = torch.exp(log_sum - log_sum.amax(dim=1, keepdim=True))
        return Explanation(patch_grid(_with_prefix(relevance, layout), layout), logits, targets)


class AttentionRolloutCLSWeighted(_AttentionExplainer):
    """Prompt-tuning's weighted variant: the rollout CLS row times the per-layer mean CLS-to-patch attention."""

    name = "attention-rollout-cls-weighted"
    options: dict[str, Any] = METHOD_OPTIONS["attention-rollout-cls-weighted"]

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        layout = self.model.token_layout
        logits, layers, targets = self._forward(video, labels, target)
        acc = RolloutAccumulator(self.params["head-fusion"], float(self.params["discard-ratio"]), layout.cls_index)
        cls_sum, count = None, None
        for layer in layers:
            fused = fused_layer(layer, self.params["head-fusion"])
            acc.update_fused(fused)
            row = cls_patch_row(fused, layout)
            used = _attends_patches(row).to(row.dtype)[:, None]
            cls_sum = row * used if cls_sum is None else cls_sum + row * used
            count = used if count is None else count + used
        _require_cls_patch_layers(count, self)
        mean_cls = cls_sum / count.clamp_min(1)
        rolled = acc.token_relevance(use_cls_token=True)[:, layout.num_prefix :]
        return Explanation(patch_grid(_with_prefix(rolled * mean_cls, layout), layout), logits, targets)


def _require_cls_patch_layers(count: torch.Tensor | int | None, explainer: Explainer) -> None:
    """The CLS variants need at least one layer where CLS attends to image tokens directly."""
    if count is None or isinstance(count, int) or bool((count == 0).any()):
        raise ValueError(
            f"{explainer.name}: in {type(explainer.model).__name__} the CLS token never attends to image tokens "
            "directly (it reads them through other tokens, or there are no attention layers), so CLS-to-patch "
            "attention is undefined; use attention-rollout or grad-rollout for this model"
        )


def _with_prefix(patch_values: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
    """Pad image-token values ``(B, T*h*w)`` with zero prefix tokens so :func:`patch_grid` applies."""
    pad = patch_values.new_zeros(patch_values.shape[0], layout.num_prefix)
    return torch.cat([pad, patch_values], dim=1)
