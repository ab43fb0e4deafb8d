"""The one small interface every video classifier is wrapped behind.

Extraction needs only ``class_names``, ``input_spec`` and ``forward``.
Explainers additionally need attention probabilities (``forward_with_attention``, or
``attention_layers``, the same layers in a form that may keep each one compact),
a Grad-CAM target (``gradcam_target``) and the ``token_layout`` that maps
tokens onto the frame grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from videoxai.data.spec import PIPELINES, InputSpec  # re-exported: the model contract names them
from videoxai.models.attention import AttentionLayer

__all__ = ["PIPELINES", "GradCamTarget", "InputSpec", "TokenLayout", "VideoClassifier"]


@dataclass(frozen=True)
class TokenLayout:
    """How attention tokens map onto the clip.

    Token ``i < num_prefix`` is a prefix token (CLS first, then prompt or
    summary tokens); patch ``(t, y, x)`` of the ``frames x height x width``
    grid is token ``num_prefix + (t * height + y) * width + x``.
    """

    num_prefix: int
    frames: int
    height: int
    width: int
    cls_index: int = 0

    @property
    def num_tokens(self) -> int:
        return self.num_prefix + self.frames * self.height * self.width


@dataclass
class GradCamTarget:
    """A module to hook and how to turn its output into a (B, C, T', h, w) feature map."""

    module: nn.Module
    to_grid: Callable[[torch.Tensor], torch.Tensor] = field(default=lambda a: a)


class VideoClassifier(nn.Module):
    """Base class of every adapter.

    ``forward`` takes a normalised clip batch ``(B, T, C, H, W)`` (or
    ``(B, V, T, C, H, W)`` for multi-view models) and returns logits ``(B, K)``.
    It must stay on the fast path (fused attention): attention probabilities
    are computed explicitly only inside ``forward_with_attention``.
    """

    method: str = ""
    class_names: list[str]
    input_spec: InputSpec
    # whether a clip's logits are the same whichever other clips share its batch (explainers then take each
    # clip's gradients on its own, freeing one clip's autograd graph before the next)
    batch_independent: bool = True

    def forward(self, video: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward_with_attention(self, video: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and per-layer attention probabilities ``(B, heads, N, N)`` over ``token_layout``.

        Rows sum to 1. Layers are in forward order; a model with factorised
        (e.g. divided space-time) attention returns each factor as its own
        entry, embedded in the joint token set, so rollout treats it uniformly.
        """
        raise NotImplementedError(f"{type(self).__name__} has no attention (use grad-cam)")

    def attention_layers(self, video: torch.Tensor) -> tuple[torch.Tensor, list[AttentionLayer]]:
        """Logits and :meth:`forward_with_attention`'s layers as :class:`AttentionLayer` objects.

        What explainers call. By default each layer is the dense matrix; a model whose layers attend within
        blocks of the joint token set (per frame) overrides this to keep only the blocks, which is what makes
        explanations of real-size models fit in memory.
        """
        logits, attentions = self.forward_with_attention(video)
        return logits, [AttentionLayer(a) for a in attentions]

    @property
    def token_layout(self) -> TokenLayout:
        raise NotImplementedError(f"{type(self).__name__} has no token layout")

    def gradcam_target(self) -> GradCamTarget:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def has_attention(self) -> bool:
        return type(self).forward_with_attention is not VideoClassifier.forward_with_attention
