"""Frame preprocessing from a model's input spec, and test-time-augmentation (TTA) views.

All operations work on whole uint8 tensors ``(..., H, W, 3)``; resizing is
one antialiased ``F.interpolate`` call. Frames are rounded back to uint8
after resizing so the frames handed to explainers are exactly what the
model saw before normalisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from videoxai.data.spec import InputSpec

_FLOAT_BUDGET = 2**25  # float elements per interpolate call (128 MB)


def resize_short(frames: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> uint8 with the shorter side resized to ``size`` (bilinear, antialiased)."""
    x = torch.as_tensor(frames)
    if x.ndim < 3 or x.shape[-1] != 3:
        raise ValueError(f"expected (..., H, W, 3) frames, got {tuple(x.shape)}")
    h, w = x.shape[-3:-1]
    if min(h, w) == size:
        return x
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    lead = x.shape[:-3]
    flat = x.reshape(-1, h, w, 3)
    out = torch.empty((flat.shape[0], nh, nw, 3), dtype=torch.uint8)
    step = max(1, _FLOAT_BUDGET // (h * w * 3))  # bounds float memory: a 4K frame alone is 100 MB
    for i in range(0, flat.shape[0], step):
        y = flat[i : i + step].permute(0, 3, 1, 2).float()
        y = F.interpolate(y, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
        out[i : i + step] = y.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return out.reshape(*lead, nh, nw, 3)


def crop(frames: torch.Tensor, size: int, position: str = "centre") -> torch.Tensor:
    """A ``size`` x ``size`` crop at ``position`` along the longer side: ``start`` | ``centre`` | ``end``."""
    h, w = frames.shape[-3:-1]
    if h < size or w < size:
        raise ValueError(f"cannot crop {size}x{size} from {h}x{w} frames")
    offsets = {"start": (0, 0), "centre": ((h - size) // 2, (w - size) // 2), "end": (h - size, w - size)}
    if position not in offsets:
        raise ValueError(f"crop position must be one of {sorted(offsets)}, got {position!r}")
    top, left = offsets[position]
    return frames[..., top : top + size, left : left + size, :].contiguous()


def resize_crop(frames: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> uint8 (..., size, size, 3): shorter side to ``size``, centre crop."""
    return crop(resize_short(frames, size), size, "centre")


def normalise(frames: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float32 (..., 3, H, W), scaled to [0, 1] then standardised by the spec."""
    x = frames.movedim(-1, -3).float().div_(255.0)
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(3, 1, 1)
    return x.sub_(mean).div_(std)


@dataclass(frozen=True)
class TTA:
    """Test-time augmentation: ``crops`` spatial crops (1 = centre, 3 = start/centre/end) x optional flip."""

    crops: int = 3
    flip: bool = True

    def __post_init__(self) -> None:
        if self.crops not in (1, 3):
            raise ValueError(f"TTA crops must be 1 or 3, got {self.crops}")

    @property
    def num_views(self) -> int:
        return self.crops * (2 if self.flip else 1)

    def to_dict(self) -> dict:
        return {"crops": self.crops, "flip": self.flip, "views": self.num_views}


def tta_views(frames: np.ndarray | torch.Tensor, size: int, tta: TTA) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> uint8 (A, ..., size, size, 3): the crops, then their horizontal flips.

    For square frames the three crops coincide (the views are still
    returned, so shapes do not depend on the input).
    """
    resized = resize_short(frames, size)
    positions = ["centre"] if tta.crops == 1 else ["start", "centre", "end"]
    views = [crop(resized, size, p) for p in positions]
    if tta.flip:
        views += [v.flip(-2) for v in views]
    return torch.stack(views)


def average_tta_logits(
    forward: Callable[[torch.Tensor], torch.Tensor], video: torch.Tensor, together: bool = False
) -> torch.Tensor:
    """Mean logits over the TTA axis: ``video`` (B, A, ...) -> ``forward`` per view -> (B, K).

    Averaging logits (not probabilities) is what prompt-tuning's evaluation does.
    ``together`` runs the A augmentations of the B clips as one forward of
    B x A clips (fewer, larger matmuls); only for a model whose logits do not
    depend on the rest of its batch (``batch_independent``), else one forward
    per augmentation as prompt-tuning ran them.
    """
    if together:
        b, a = video.shape[:2]
        return forward(video.flatten(0, 1)).unflatten(0, (b, a)).mean(1)
    return torch.stack([forward(video[:, a]) for a in range(video.shape[1])]).mean(0)
