"""What the perturbation explainers share: forwards of masked copies of a clip, batched, memory bounded.

Occlusion (:mod:`videoxai.explain.occlusion`) and RISE (:mod:`videoxai.explain.rise`) need nothing of the
model but its logits: no gradients, no attention, no layer to hook, so they explain any video classifier (the
prompt-tuning families, the demo towers, torchvision's 3-D CNNs, a custom model) the same way. Each masked copy is
``clip * keep + fill * (1 - keep)`` for a keep mask ``(T, H, W)`` in [0, 1]; ``fill`` is the clip's mean pixel
(0 once normalised, as the deletion score's default) or a heavy blur of the clip. At most ``perturbation-batch``
copies exist at a time, so memory is one forward of that many clips whatever the number of masks. A model whose
logits depend on the rest of its batch (``batch_independent`` False) is run one copy per forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from videoxai.explain.base import Explainer, Explanation, choose_targets

FILLS = ("mean", "blur")


def fill_of(video: torch.Tensor, fill: str) -> torch.Tensor:
    """What a masked-out pixel of ``video`` (B, T, C, H, W) becomes: 0 (the mean once normalised) or a blur."""
    if fill == "mean":
        return torch.zeros_like(video)
    if fill == "blur":
        from videoxai.explain.evaluate import blurred

        return blurred(video)
    raise ValueError(f"option perturbation-fill must be one of {list(FILLS)}, got {fill!r}")


@torch.no_grad()
def masked_probabilities(
    model: torch.nn.Module,
    clip: torch.Tensor,
    fill: torch.Tensor,
    masks: Iterator[torch.Tensor],
    target: int,
    batch: int,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """For each chunk of keep masks ``(S, T, H, W)`` (S <= ``batch``): the masks and ``p(target)`` of the masked
    copies of ``clip`` (T, C, H, W); the copies of one chunk are one forward (or S forwards of one copy each
    when the model is not batch-independent)."""
    per_forward = batch if getattr(model, "batch_independent", True) else 1
    for chunk in masks:
        keep = chunk.to(clip.device, clip.dtype)[:, :, None]  # (S, T, 1, H, W)
        copies = clip[None] * keep + fill[None] * (1 - keep)
        probs = [
            model(copies[s : s + per_forward]).float().softmax(dim=1)[:, target]
            for s in range(0, len(copies), per_forward)
        ]
        yield chunk, torch.cat(probs)


def grid_of(relevance: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Pixel relevance ``(T, H, W)`` averaged onto a ``(T, h, w)`` grid (the stored map's resolution)."""
    return F.adaptive_avg_pool2d(relevance[:, None], size)[:, 0]


class PerturbationExplainer(Explainer):
    """An explainer from masked forwards alone: ``clip_relevance`` per clip, for the clip's target class.

    Subclasses set ``name`` and ``options`` and implement :meth:`clip_relevance` and :meth:`forwards`.
    """

    options: ClassVar[dict[str, Any]] = {}

    def check_params(self) -> None:
        batch = self.params.get("perturbation-batch")
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError(f"option perturbation-batch must be a positive integer, got {batch!r}")
        if self.params.get("perturbation-fill") not in FILLS:
            raise ValueError(
                f"option perturbation-fill must be one of {list(FILLS)}, got {self.params.get('perturbation-fill')!r}"
            )

    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        with torch.no_grad():
            logits = self.model(video)
        targets = choose_targets(logits, labels, target)
        fills = fill_of(video, self.params["perturbation-fill"])
        probs = logits.float().softmax(dim=1)
        relevance = torch.stack(
            [
                self.clip_relevance(video[i], fills[i], int(targets[i]), float(probs[i, int(targets[i])]))
                for i in range(video.shape[0])
            ]
        )
        # relevance is evidence *for* the class (>= 0, the Explanation contract): an occluded box that raises
        # p(target) is counter-evidence and counts as none
        return Explanation(relevance.float().clamp_min(0), logits, targets)

    def clip_relevance(self, clip: torch.Tensor, fill: torch.Tensor, target: int, p_target: float) -> torch.Tensor:
        """Relevance ``(T, h, w)`` of one clip ``(T, C, H, W)`` for class ``target`` (``p_target`` unmasked),
        on :meth:`map_grid`."""
        raise NotImplementedError

    def map_grid(self, height: int, width: int) -> tuple[int, int]:
        """The stored map's grid: the model's patch grid where it has one (so the maps compare cell for cell with
        the attention explainers'), else the method's own (:meth:`grid`)."""
        try:
            layout = self.model.token_layout
        except NotImplementedError:
            return self.grid(height, width)
        return int(layout.height), int(layout.width)

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """The method's own grid for a model without a patch grid."""
        raise NotImplementedError

    def forwards(self, frames: int, height: int, width: int) -> int:
        """Forward passes (masked copies) per clip of ``frames`` x ``height`` x ``width``, besides the plain one."""
        raise NotImplementedError
