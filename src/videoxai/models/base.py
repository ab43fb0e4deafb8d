"""The one small interface every video classifier is wrapped behind.

Extraction needs only ``class_names``, ``input_spec`` and ``forward``.
Explainers additionally need attention probabilities (``forward_with_attention``),
a Grad-CAM target (``gradcam_target``) and the ``token_layout`` that maps
tokens onto the frame grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn


PIPELINES: tuple[str, ...] = ("standard", "origin")


@dataclass(frozen=True)
class InputSpec:
    """What a model expects: ``num_frames`` frames, square ``size`` crops, normalised by mean/std.

    ``pipeline`` chooses how frames are sampled and transformed:

    - ``standard`` (default): segment-centre sampling, antialiased resize of
      the shorter side, centre crop, float32 (see :mod:`videoxai.data.loader`);
    - ``origin``: the seed repository's own frames, as its models were
      trained and evaluated (see :mod:`videoxai.data.origin_frames`):
      ``linspace(0, N-1, num_frames * num_views)`` sampling, ``num_views``
      temporal x ``spatial_views`` spatial views (1 or 3 crops), its resize
      paths, values rounded to ``dtype``; a clip with fewer than
      ``num_frames * num_views`` frames is an error row.

    ``num_views`` is the number of temporal views in both pipelines;
    ``spatial_views``, ``dtype``, ``remove_black_strips`` and
    ``resize_protocol`` (the origin's ``dataset-config`` keys
    ``remove-black-strips`` / ``resized-cache-protocol``) apply only to
    ``origin``. Defaults keep every existing checkpoint and config as it was.
    """

    num_frames: int
    size: int
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    num_views: int = 1
    fixed_size: bool = (
        False  # True when the architecture accepts only ``size`` (e.g. s3d, mvit)
    )
    pipeline: str = "standard"  # "standard" | "origin"
    spatial_views: int = 1  # origin: 1 (centre) or 3 (start, centre, end along the longer side)
    dtype: str = "float32"  # origin: "bfloat16", the precision its transforms compute in
    remove_black_strips: bool = False  # origin: crop dark rows above/below the picture first
    resize_protocol: str | None = None  # origin: "preserve-aspect-ratio" | "interpolate-smallest-side" | ...

    def __post_init__(self) -> None:
        if self.pipeline not in PIPELINES:
            raise ValueError(f"InputSpec.pipeline must be one of {PIPELINES}, got {self.pipeline!r}")
        if self.spatial_views not in (1, 3):
            raise ValueError(f"InputSpec.spatial_views must be 1 or 3, got {self.spatial_views!r}")
        if self.pipeline == "standard" and self.spatial_views != 1:
            raise ValueError("InputSpec.spatial_views > 1 needs pipeline='origin' (standard crops come from TTA)")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"InputSpec.dtype must be float32, bfloat16 or float16, got {self.dtype!r}")

    @property
    def total_views(self) -> int:
        """Views per clip the model averages over: temporal x spatial."""
        return self.num_views * self.spatial_views

    def to_dict(self) -> dict:
        return asdict(self)


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

    def forward(
        self, video: torch.Tensor
    ) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward_with_attention(
        self, video: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits and per-layer attention probabilities ``(B, heads, N, N)`` over ``token_layout``.

        Rows sum to 1. Layers are in forward order; a model with factorised
        (e.g. divided space-time) attention returns each factor as its own
        entry, embedded in the joint token set, so rollout treats it uniformly.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no attention (use grad-cam)"
        )

    @property
    def token_layout(self) -> TokenLayout:
        raise NotImplementedError(f"{type(self).__name__} has no token layout")

    def gradcam_target(self) -> GradCamTarget:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def has_attention(self) -> bool:
        return (
            type(self).forward_with_attention
            is not VideoClassifier.forward_with_attention
        )
