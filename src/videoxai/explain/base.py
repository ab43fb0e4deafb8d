"""What every explainer shares: options, target choice, normalisation, temporal importance.

An explainer turns a normalised clip batch into non-negative *relevance*
``(B, T, h, w)`` on the model's frame grid. Everything after that (choosing
the target class, scaling by the predicted probability, normalising to
[0, 1] per clip, the per-frame temporal importance) is method-independent and
lives here, so every method is post-processed identically and the numbers of
two methods can be compared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import torch
import torch.nn.functional as F

from videoxai.explain.options import TARGETS
from videoxai.models.base import TokenLayout, VideoClassifier

T = TypeVar("T")


@dataclass
class Explanation:
    """Raw relevance of one batch, before the shared post-processing."""

    relevance: torch.Tensor  # (B, T, h, w), >= 0, float32
    logits: torch.Tensor  # (B, K)
    targets: torch.Tensor  # (B,) int64: the class each map explains


def each_clip(
    model: VideoClassifier,
    explain: Callable[[torch.Tensor, torch.Tensor | None, str], T],
    video: torch.Tensor,
    labels: torch.Tensor | None,
    target: str,
) -> list[T]:
    """``explain`` run on one clip of the batch at a time, the results in batch order.

    Gradient explainers go through this: the autograd graph of a forward pass
    holds every activation of every clip in it (about 1 GB per 8-frame clip at
    ViT-B/16 size), so one clip's graph is freed before the next is built, and
    a batch costs little more memory than one clip. A model whose outputs
    depend on the other clips of the batch (``model.batch_independent``
    False: the prompt-tuning ``stt`` reproduces such a quirk of the upstream)
    is explained a whole batch at once, so its maps explain the logits it gives.
    """
    if not getattr(model, "batch_independent", True) or len(video) == 1:
        return [explain(video, labels, target)]
    return [explain(video[i : i + 1], None if labels is None else labels[i : i + 1], target) for i in range(len(video))]


def joined(parts: list[Explanation]) -> Explanation:
    """Explanations of consecutive parts of a batch as one."""
    if len(parts) == 1:
        return parts[0]
    return Explanation(
        torch.cat([p.relevance for p in parts]),
        torch.cat([p.logits for p in parts]),
        torch.cat([p.targets for p in parts]),
    )


def choose_targets(logits: torch.Tensor, labels: torch.Tensor | None, target: str) -> torch.Tensor:
    """The class to explain per clip: the model's prediction or the true label."""
    if target == "predicted":
        return logits.detach().argmax(dim=1)
    if target == "true":
        if labels is None:
            raise ValueError("target-class 'true' needs the clips' labels")
        return labels.to(device=logits.device, dtype=torch.long)
    raise ValueError(f"target-class must be one of {list(TARGETS)}, got {target!r}")


def target_scores(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over the batch of each clip's target logit: one backward gives every clip its gradient."""
    return logits.gather(1, targets[:, None]).sum()


def patch_grid(vector: torch.Tensor, layout: TokenLayout) -> torch.Tensor:
    """Token-indexed relevance ``(B, N)`` -> image-token grid ``(B, T, h, w)`` (prefix tokens dropped)."""
    return vector[:, layout.num_prefix :].reshape(-1, layout.frames, layout.height, layout.width)


def upsample_time(maps: torch.Tensor, frames: int) -> torch.Tensor:
    """Stretch ``(B, T', h, w)`` to ``(B, frames, h, w)`` linearly in time (3-D CNNs pool time away)."""
    if maps.shape[1] == frames:
        return maps
    return F.interpolate(maps[:, None], size=(frames, *maps.shape[-2:]), mode="trilinear", align_corners=False)[:, 0]


def normalise_per_clip(relevance: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Min-max to [0, 1] over the whole clip (all frames together, so frames stay comparable).

    A constant map (no evidence anywhere) becomes all zeros rather than NaN.
    """
    flat = relevance.flatten(1)
    lo = flat.min(dim=1, keepdim=True).values
    span = flat.max(dim=1, keepdim=True).values - lo
    out = torch.where(span > eps, (flat - lo) / span.clamp_min(eps), torch.zeros_like(flat))
    return out.reshape(relevance.shape)


def temporal_importance(relevance: torch.Tensor) -> torch.Tensor:
    """Per-frame share of the clip's *excess* relevance: mass above the clip mean, by frame.

    Rollout maps carry a large uniform floor (the identity added per layer),
    and divided space-time models spread the CLS token's attention evenly
    over frames by construction, so the plain per-frame mass is nearly flat
    whatever the frames show. Counting only relevance above the clip's mean
    measures where the map *concentrates*: a frame whose map is flat gets
    ~0, a frame holding the peaks gets most of the share. Rows sum to 1; a
    clip with a constant map gets the uniform 1/T.
    """
    b, t = relevance.shape[:2]
    flat = relevance.reshape(b, t, -1).float()
    excess = (flat - flat.mean(dim=(1, 2), keepdim=True)).clamp_min(0).sum(dim=2)  # (B, T)
    total = excess.sum(dim=1, keepdim=True)
    uniform = torch.full_like(excess, 1.0 / t)
    return torch.where(total > 0, excess / total.clamp_min(1e-30), uniform)


def finalise(
    expl: Explanation, weighted_by_predictions: bool, convention: str = "standard"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Maps in [0, 1] (optionally scaled by p(target)), temporal importance, probabilities.

    ``standard``: min-max over the whole clip, importance as
    :func:`temporal_importance`. ``prompt-tuning``: the relevance is already the
    prompt-tuning's per-frame-max map; it is kept (clipped to [0, 1], as prompt-tuning's
    colour map clips it when drawing) and the importance is each frame's mean,
    prompt-tuning's ``cam.mean``. ``weighted-by-predictions`` (videoxai's option,
    which prompt-tuning lacks) scales the maps by p(target) under both.
    """
    probs = expl.logits.detach().float().softmax(dim=1)
    if convention == "prompt-tuning":
        relevance = expl.relevance.float()
        maps, importance = relevance.clamp(0, 1), relevance.mean(dim=(2, 3))
    else:
        relevance = torch.nan_to_num(expl.relevance.float(), nan=0.0, posinf=0.0, neginf=0.0).clamp_min(0)
        maps, importance = normalise_per_clip(relevance), temporal_importance(relevance)
    if weighted_by_predictions:
        maps = maps * probs.gather(1, expl.targets[:, None])[:, :, None, None]
    return maps, importance, probs


@dataclass
class Maps:
    """One batch explained and post-processed: what the explain stage stores and scores."""

    explanation: Explanation  # the raw relevance (the evaluation perturbs the clip by it)
    maps: torch.Tensor  # (B, T, h, w) in [0, 1]
    importance: torch.Tensor  # (B, T)
    probs: torch.Tensor  # (B, K) the model's probabilities


class Explainer(ABC):
    """One explanation method. Subclasses set ``name``, ``options`` and implement ``explain``.

    Calling an explainer runs the shared pipeline: the method's ``explain``
    (raw relevance), then :func:`finalise` under the class's ``convention``
    with the ``weighted-by-predictions`` option it was made with. Two
    templates implement ``explain`` for their method families and leave the
    steps that differ to overrides: :class:`~videoxai.explain.rollout.Rollout`
    and :class:`~videoxai.explain.gradcam.GradCAM` (docs/explanations.md).
    """

    name: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}  # method-specific option -> default
    needs_attention: ClassVar[bool] = False
    convention: ClassVar[str] = "standard"

    def __init__(self, model: VideoClassifier, **options: Any):
        if self.needs_attention and not model.has_attention:
            raise ValueError(
                f"explainer {self.name!r} needs attention probabilities, but {type(model).__name__} "
                "has none (it is not a transformer); use 'grad-cam' for this model"
            )
        self.model = model
        self.params = {**self.options, **{k: v for k, v in options.items() if k in self.options}}
        self.weighted_by_predictions = bool(options.get("weighted-by-predictions", False))
        self.check_params()

    def __call__(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Maps:
        """Explain ``video`` (B, T, C, H, W) for each clip's target class, then finalise the maps."""
        expl = self.explain(video, labels, target)
        maps, importance, probs = finalise(expl, self.weighted_by_predictions, self.convention)
        return Maps(expl, maps, importance, probs)

    def check_params(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Reject bad option values early, with the option named."""

    @abstractmethod
    def explain(self, video: torch.Tensor, labels: torch.Tensor | None, target: str) -> Explanation:
        """Relevance of each clip of ``video`` (B, T, C, H, W) for its target class."""
