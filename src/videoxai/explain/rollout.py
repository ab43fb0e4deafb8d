"""Attention rollout (Abnar & Zuidema 2020) and prompt-tuning's CLS-only variants, on one template.

:class:`Rollout` owns the pipeline of every rollout variant: the model's
attention layers (:meth:`Rollout.attention`), each layer's heads fused
(:func:`fused_layer`, the one :func:`fuse_heads`), folded in by the variant
(:meth:`Rollout.roll_out`), the image tokens put on the frame grid
(:meth:`Rollout.to_maps`). The steps a convention changes are methods a
subclass overrides, as a pytorch-grad-cam method overrides one hook:

* :meth:`Rollout.discard`: zero the weakest attentions (here never the CLS row
  or column, :func:`discard_lowest`);
* :meth:`Rollout.fold`: the layer order of the product (here ``Â_l @ R``);
* :meth:`Rollout.to_maps`: the token grid as it is (normalised later, per clip);
* and per variant the CLS-only product's shift and its layer check
  (:meth:`AttentionRolloutCLS.cls_product`, :meth:`AttentionRolloutCLS.check_cls_layers`) and the
  CLS-weighted variant's weight (:meth:`AttentionRolloutCLSWeighted.add_weight`,
  :meth:`AttentionRolloutCLSWeighted.apply_weight`).

This module is the ``standard`` convention; :mod:`videoxai.explain.prompt_tuning` overrides
those steps with prompt-tuning's (``conventions: prompt-tuning``). One layer at
a time is made dense and folded in, so only one ``(B, N, N)`` product is kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Self

import torch

from videoxai.explain.base import Explainer, Explanation, choose_targets
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


def with_residual(fused: torch.Tensor) -> torch.Tensor:
    """``rownorm(A + I)``: one layer's fused attention with the residual path added, rows summing to 1."""
    a = fused + torch.eye(fused.shape[-1], dtype=fused.dtype, device=fused.device)
    return a / a.sum(dim=-1, keepdim=True)


def reads_patches(cls_row: torch.Tensor) -> torch.Tensor:
    """``(B, 1)``: whether a layer's CLS row (image tokens only, before any discarding) reaches an image token.

    In divided space-time models the temporal factor leaves CLS out (its row
    is the identity); such a layer says nothing about where CLS looks, and a
    log of its zeros would wipe out the other layers (in CLIP every layer
    reads patches: softmax weights are positive).
    """
    return cls_row.sum(dim=1, keepdim=True) > 1e-6


class RolloutAccumulator:
    """Running product ``Â_l ... Â_1`` with ``Â = rownorm(fuse(A) (discarded) + I)``, folded in by hand.

    The standard rollout's own steps (:meth:`Rollout.discard`, :meth:`Rollout.product`), for callers that hold
    attentions rather than a model.
    """

    def __init__(self, head_fusion: str = "mean", discard_ratio: float = 0.0, cls_index: int = 0):
        self.head_fusion = head_fusion
        self.steps = AttentionRollout.without_model(**{"head-fusion": head_fusion, "discard-ratio": discard_ratio})
        self.layout = TokenLayout(num_prefix=0, frames=0, height=0, width=0, cls_index=cls_index)
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
        self.result = self.steps.product(self.result, self.steps.discard(fused, self.layout))
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


class Rollout(Explainer):
    """The rollout template: attention layers -> heads fused -> folded in by the variant -> frame grid.

    A variant implements :meth:`roll_out`; a convention overrides
    :meth:`attention`, :meth:`discard`, :meth:`fold` and :meth:`to_maps`.
    """

    needs_attention = True

    def check_params(self) -> None:
        if self.params.get("head-fusion", "mean") not in HEAD_FUSIONS:
            raise ValueError(
                f"option head-fusion must be one of {list(HEAD_FUSIONS)}, got {self.params['head-fusion']!r}"
            )
        ratio = self.params.get("discard-ratio", 0.0)
        if not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0:
            raise ValueError(f"option discard-ratio must be a number in [0, 1), got {ratio!r}")

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        logits, layers, layout = self.attention(video)
        if not layers:
            raise ValueError("the model returned no attention layers: nothing to roll out")
        tokens = self.roll_out(layers, layout)
        return Explanation(self.to_maps(tokens, layout, video), logits, choose_targets(logits, labels, target))

    @classmethod
    def without_model(cls, **params: Any) -> Self:
        """The variant's steps with ``params`` (config names) and no model: for attentions recorded beforehand."""
        self = cls.__new__(cls)
        self.model, self.weighted_by_predictions = None, False
        self.params = {**cls.options, **params}
        self.check_params()
        return self

    # ---- the steps a convention overrides ----
    def attention(self, video: torch.Tensor) -> tuple[torch.Tensor, list[AttentionLayer], TokenLayout]:
        """Logits, the attention layers in forward order, and the token layout of their rows."""
        with torch.no_grad():
            logits, layers = self.model.attention_layers(video)
        return logits, layers, self.model.token_layout

    def discard(self, values: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        """Zero the ``discard-ratio`` weakest entries (:func:`discard_lowest`: never the CLS row or column)."""
        return discard_lowest(values, float(self.params.get("discard-ratio", 0.0)), layout.cls_index)

    def fold(self, product: torch.Tensor, layer: torch.Tensor) -> torch.Tensor:
        """The product with one more layer: ``Â_l @ R`` (Abnar & Zuidema: later layers on the left)."""
        return layer @ product

    def to_maps(self, tokens: torch.Tensor, layout: TokenLayout, video: torch.Tensor) -> torch.Tensor:
        """Image-token relevance ``(B, T*h*w)`` on the grid ``(B, T, h, w)``."""
        return tokens.reshape(-1, layout.frames, layout.height, layout.width)

    # ---- shared by the variants ----
    def fused(self, layers: list[AttentionLayer]) -> Iterator[torch.Tensor]:
        """Each layer's heads fused, ``(B, N, N)``, in forward order; a layer is dropped once read."""
        while layers:
            yield fused_layer(layers.pop(0), self.params["head-fusion"])

    def product(self, product: torch.Tensor | None, kept: torch.Tensor) -> torch.Tensor:
        """One discarded layer folded into the rollout product (residual added, rows normalised, :meth:`fold`)."""
        a = with_residual(kept)
        return a if product is None else self.fold(product, a)

    def readout(self, product: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
        """The image tokens of the product's CLS row (``use-cls-token``) or of the mean of its rows."""
        row = product[:, layout.cls_index] if self.params.get("use-cls-token", True) else product.mean(dim=1)
        return row[:, layout.num_prefix :]

    def roll_out(self, layers: list[AttentionLayer], layout: TokenLayout) -> torch.Tensor:
        """Image-token relevance ``(B, T*h*w)`` of the variant."""
        raise NotImplementedError


class AttentionRollout(Rollout):
    """Abnar & Zuidema's rollout; the map is the CLS row (``use-cls-token``) or the mean of all rows."""

    name = "attention-rollout"
    options: dict[str, Any] = METHOD_OPTIONS["attention-rollout"]

    def roll_out(self, layers: list[AttentionLayer], layout: TokenLayout) -> torch.Tensor:
        product = None
        for fused in self.fused(layers):
            product = self.product(product, self.discard(fused, layout))
        return self.readout(product, layout)


class AttentionRolloutCLS(Rollout):
    """Prompt-tuning's CLS-only rollout: CLS-to-patch attention multiplied across layers, in log space.

    ``map = exp(sum_l log(a_l + eps))`` over the layers whose CLS row reaches
    image tokens, shifted by its maximum before ``exp`` so it never underflows.
    """

    name = "attention-rollout-cls"
    options: dict[str, Any] = METHOD_OPTIONS["attention-rollout-cls"]

    @property
    def log_eps(self) -> float:
        """What is added to each attention before its log."""
        return float(self.params["eps"])

    def roll_out(self, layers: list[AttentionLayer], layout: TokenLayout) -> torch.Tensor:
        log_sum, count = None, None
        for fused in self.fused(layers):
            row = fused[:, layout.cls_index, layout.num_prefix :]
            used = reads_patches(row)
            # (the standard form takes no discard-ratio: its discard leaves the row as it is)
            term = torch.log(self.discard(row, layout) + self.log_eps) * used
            log_sum = term if log_sum is None else log_sum + term
            count = used.long() if count is None else count + used.long()
        self.check_cls_layers(count)
        return self.cls_product(log_sum)

    def check_cls_layers(self, count: torch.Tensor) -> None:
        """Refuse a model in which the CLS token never reads image tokens directly (the product would be constant)."""
        _require_cls_patch_layers(count, self)

    def cls_product(self, log_sum: torch.Tensor) -> torch.Tensor:
        """``exp`` of the summed logs, shifted by the clip's maximum so it never underflows."""
        return torch.exp(log_sum - log_sum.amax(dim=1, keepdim=True))


class AttentionRolloutCLSWeighted(Rollout):
    """Prompt-tuning's weighted variant: the rollout CLS row times a weight from each layer's CLS-to-patch attention.

    Here the weight is the per-layer mean CLS-to-patch attention, per image token.
    """

    name = "attention-rollout-cls-weighted"
    options: dict[str, Any] = METHOD_OPTIONS["attention-rollout-cls-weighted"]

    def roll_out(self, layers: list[AttentionLayer], layout: TokenLayout) -> torch.Tensor:
        product, weight = None, None
        for fused in self.fused(layers):
            row = fused[:, layout.cls_index, layout.num_prefix :]
            used = reads_patches(row)
            kept = self.discard(fused, layout)
            weight = self.add_weight(weight, row, kept[:, layout.cls_index, layout.num_prefix :], used)
            product = self.product(product, kept)
        return self.apply_weight(self.readout(product, layout), weight)

    def add_weight(
        self, weight: Any, row: torch.Tensor, kept_row: torch.Tensor, used: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fold one layer's CLS row (before and after discarding) into the weight: here (sum, count) of the rows."""
        used = used.to(row.dtype)
        if weight is None:
            return row * used, used
        return weight[0] + row * used, weight[1] + used

    def apply_weight(self, rolled: torch.Tensor, weight: Any) -> torch.Tensor:
        """The rolled-out CLS row times the weight: here the mean CLS-to-patch attention over the layers that read."""
        cls_sum, count = weight
        _require_cls_patch_layers(count, self)
        return rolled * (cls_sum / count.clamp_min(1))


def _require_cls_patch_layers(count: torch.Tensor | None, explainer: Explainer) -> None:
    """The CLS variants need at least one layer where CLS attends to image tokens directly."""
    if count is None or bool((count == 0).any()):
        raise ValueError(
            f"{explainer.name}: in {type(explainer.model).__name__} the CLS token never attends to image tokens "
            "directly (it reads them through other tokens, or there are no attention layers), so CLS-to-patch "
            "attention is undefined; use attention-rollout or grad-rollout for this model"
        )
