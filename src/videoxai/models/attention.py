"""One attention layer as explainers read it: probabilities over the joint token set, dense or kept as blocks.

``forward_with_attention`` returns every layer as a dense ``(B, heads, N, N)``
matrix over :class:`~videoxai.models.base.TokenLayout`'s joint token set. For
a model whose layers attend within each frame (the prompt-tuning families'
per-frame CLIP layers), that matrix is block-diagonal: at ViT-B/16 size and 8
frames, N = 1577 and one layer of one clip is 119 MB in float32, of which the
T blocks of 197 x 197 are 15 MB. :meth:`VideoClassifier.attention_layers`
returns :class:`AttentionLayer` objects instead, so an explainer can hold the
blocks (the probabilities the forward pass used, in its autograd graph) and
build the dense joint matrix of one layer only when it folds that layer in:

* ``embed(values, fill)`` places any probs-shaped tensor (any head count: one
  fused head, gradient-weighted values) in the joint layout; tokens in no block
  get ``fill`` on the diagonal (1: an identity row of probabilities, 0: no
  relevance);
* gradients are taken with respect to ``probs``: entries outside the blocks are
  0 in the dense matrix and never read back, so ``dA * A`` there is 0 and
  ``embed(dA_blocks * A_blocks, 0)`` is exactly the dense ``dA * A``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch

Embed = Callable[[torch.Tensor, float], torch.Tensor]
"""A probs-shaped tensor (any head count) and the fill of uncovered tokens -> ``(B, heads, N, N)``."""


class AttentionLayer:
    """One layer's attention: ``probs`` as the forward pass used them, and how they sit in the joint layout."""

    def __init__(self, probs: torch.Tensor, embed: Embed | None = None):
        self.probs = probs
        self._embed = embed

    @property
    def blocks(self) -> bool:
        """Whether ``probs`` are blocks of the joint matrix (False: they are the dense joint matrix itself)."""
        return self._embed is not None

    def embed(self, values: torch.Tensor, fill: float = 1.0) -> torch.Tensor:
        """``values`` (shaped like ``probs``, any head count) in the joint layout, ``(B, heads', N, N)``.

        For a dense layer the values already are joint matrices: returned as they are (``fill`` unused).
        """
        return values if self._embed is None else self._embed(values, fill)

    def dense(self) -> torch.Tensor:
        """The dense ``(B, heads, N, N)`` probabilities, rows summing to 1."""
        return self.embed(self.probs, 1.0)


@runtime_checkable
class PerFrameAttention(Protocol):
    """A model whose own explainer reads each frame on its own (prompt-tuning's families): what explainers ask.

    Prompt-tuning's explainer does not explain the joint forward pass: it runs
    every frame through the CLIP image tower alone and rolls out that
    attention, and its Grad-CAM hooks that tower's last ``layer_norm2``. A
    model that can give those says so by having both methods; explainers test
    ``isinstance(model, PerFrameAttention)``, never the model's class or module.
    """

    def per_frame_attentions(self, video: torch.Tensor) -> list[torch.Tensor]:
        """Per layer ``(B*T, heads, N, N)`` of one view ``(B, T, C, H, W)``; token 0 is CLS, then the square patch grid."""
        ...

    def per_frame_gradcam(self, video: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The hooked layer's activations and d(target score)/d(activations), as grids ``(B, D, T, h, w)``."""
        ...


@runtime_checkable
class PerFrameTextLeGrad(Protocol):
    """A CLIP model whose frames LeGrad can read at every layer against a class's text (``legrad-readout: layers``)."""

    def per_frame_legrad(self, video: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Un-normalised LeGrad relevance ``(B, T, h, w)`` of one view ``(B, T, C, H, W)`` for ``targets`` (B,)."""
        ...
