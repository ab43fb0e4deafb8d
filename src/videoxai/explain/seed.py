"""The seed's (origin repository's) explanation maps, reproduced: ``conventions: seed``.

The origin (``src/modeling/explainer.py``) explains each frame of a per-frame
CLIP image tower on its own and differs from :mod:`videoxai.explain.rollout`
in three ways that change the maps:

* **product order**: ``rollout = rollout @ Â_l`` for layers ``l = 0..L-1``
  (Abnar & Zuidema, and videoxai's ``standard``, multiply ``Â_l @ rollout``);
* **discard ratio**: per layer, keep the entries ``>=`` the ``k``-th largest of
  the whole fused ``(N, N)`` matrix, ``k = int(N*N * (1 - ratio))`` (ties kept,
  the CLS row and column ranked with the rest); the CLS-only variant ranks its
  CLS-to-patch row alone;
* **normalisation**: each frame's map is divided by its own maximum (no
  clip-wide min-max), and the temporal importance is each frame's mean.

Variants (``rollout_type`` in the origin): ``full`` (the CLS row of the
product), ``cls`` (``exp(sum_l log(a_l + 1e-10))`` of the per-layer
CLS-to-patch rows) and ``cls_weighted`` (the full CLS row times the product
over layers of the mean CLS-to-patch attention: a per-frame scalar, so after
the per-frame normalisation it equals ``full`` to rounding). Head fusion is
``mean`` or ``max``.

The origin's Grad-CAM weights each *token* by the mean absolute gradient over
channels (not Grad-CAM's per-channel mean gradient) and sums the token's
activations: ``cam_i = mean_c |g_ic| * sum_c a_ic``, no ReLU, then the same
per-frame max normalisation. It hooks the last layer's ``layer_norm2`` (the
MLP's input), whose image tokens never reach the CLS output: their gradient is
exactly zero, the map is ``0 / 0`` and the origin's Grad-CAM maps are NaN on
every frame of every clip (the golden fixtures are). :func:`seed_grad_cam`
reproduces that; the explain stage refuses to store such maps and says why.

The functions here take per-frame attention ``(F, heads, N, N)`` (``F`` frames
explained independently, CLS at ``cls_index``, image tokens from
``num_prefix`` on), so they apply to the origin's per-frame CLIP tokens as
stored in the fixtures and to a joint space-time layout alike (``F`` clips of
``T*h*w`` tokens; the frame split happens in :func:`per_frame_max`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

SEED_HEAD_FUSIONS = ("mean", "max")
ROLLOUT_TYPES = ("full", "cls", "cls_weighted")
# The explainer name -> the origin's rollout_type.
SEED_ROLLOUTS = {
    "attention-rollout": "full",
    "attention-rollout-cls": "cls",
    "attention-rollout-cls-weighted": "cls_weighted",
}
LOG_EPS = 1e-10  # the origin's constant in the CLS-only variant


def seed_fuse_heads(attention: torch.Tensor, how: str) -> torch.Tensor:
    """``(F, heads, N, N)`` -> ``(F, N, N)``: the origin's head fusion (``mean`` or ``max`` only)."""
    if how == "mean":
        return attention.mean(dim=1)
    if how == "max":
        return attention.max(dim=1).values
    raise ValueError(f"head-fusion under conventions: seed must be one of {list(SEED_HEAD_FUSIONS)}, got {how!r}")


def seed_discard(values: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero what is below the ``k``-th largest entry of each row's trailing dims, ``k = int(n * (1 - ratio))``.

    ``values`` is ``(F, N, N)`` (ranked over all ``N*N`` entries) or
    ``(F, M)``; entries equal to the threshold are kept, as in the origin.
    """
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"discard-ratio must be in [0, 1), got {ratio}")
    if ratio == 0:
        return values
    flat = values.flatten(1)
    keep = int(flat.shape[1] * (1 - ratio))
    if keep < 1:
        raise ValueError(f"discard-ratio {ratio} keeps no entry of {flat.shape[1]}")
    threshold = flat.topk(keep, dim=1).values[:, -1]
    threshold = threshold.reshape(-1, *([1] * (values.ndim - 1)))
    return torch.where(values >= threshold, values, torch.zeros_like(values))


def seed_rollout(
    attentions: Sequence[torch.Tensor] | torch.Tensor,
    rollout_type: str = "full",
    head_fusion: str = "mean",
    discard_ratio: float = 0.0,
    *,
    cls_index: int = 0,
    num_prefix: int = 1,
    use_cls_token: bool = True,
) -> torch.Tensor:
    """Raw relevance of the image tokens ``(F, N - num_prefix)``, before the per-frame normalisation.

    ``attentions``: per layer ``(F, heads, N, N)``, forward order (a list or a
    stacked ``(L, F, heads, N, N)`` tensor). ``use_cls_token=False`` (videoxai's
    option, which the origin lacks) takes the mean of all rows of the product
    instead of the CLS row; it applies to ``full`` and ``cls_weighted``.
    """
    if rollout_type not in ROLLOUT_TYPES:
        raise ValueError(f"rollout_type must be one of {list(ROLLOUT_TYPES)}, got {rollout_type!r}")
    layers = list(attentions)
    if not layers:
        raise ValueError("no attention layers given: nothing to roll out")
    if rollout_type == "cls":
        log_sum = None
        for a in layers:
            row = seed_fuse_heads(a.detach().float(), head_fusion)[:, cls_index, num_prefix:]
            row = seed_discard(row, discard_ratio)
            term = torch.log(row + LOG_EPS)
            log_sum = term if log_sum is None else log_sum + term
        return torch.exp(log_sum)
    product = None
    weight = None
    for a in layers:
        fused = seed_fuse_heads(a.detach().float(), head_fusion)
        fused = seed_discard(fused, discard_ratio)
        if rollout_type == "cls_weighted":
            w = fused[:, cls_index, num_prefix:].mean(dim=1, keepdim=True)
            weight = w if weight is None else weight * w
        fused = fused + torch.eye(fused.shape[-1], dtype=fused.dtype, device=fused.device)
        fused = fused / fused.sum(dim=-1, keepdim=True)
        product = fused if product is None else product @ fused
    row = product[:, cls_index] if use_cls_token else product.mean(dim=1)
    cam = row[:, num_prefix:]
    if weight is not None:
        cam = cam * (torch.ones_like(cam[:, :1]) * weight)
    return cam


def seed_grad_cam(activations: torch.Tensor, gradients: torch.Tensor, num_prefix: int = 1) -> torch.Tensor:
    """The origin's Grad-CAM on tokens, ``(F, N, D)`` x2 -> ``(F, N - num_prefix)``, before normalisation.

    ``cam_i = sum_c (mean_c' |g_ic'|) * a_ic``: a weight per token, not per
    channel, and no ReLU.
    """
    if activations.shape != gradients.shape or activations.ndim != 3:
        raise ValueError(
            f"activations and gradients must both be (F, N, D), got {tuple(activations.shape)} and "
            f"{tuple(gradients.shape)}"
        )
    weights = gradients.float().abs().mean(dim=-1)
    return (weights[:, num_prefix:].unsqueeze(-1) * activations.float()[:, num_prefix:]).sum(dim=-1)


def per_frame_max(cam: torch.Tensor, frames: int, height: int, width: int) -> torch.Tensor:
    """``(F, frames*height*width)`` -> ``(F, frames, height, width)``, each frame divided by its own maximum.

    As the origin's ``_process_cam``: a frame whose maximum is 0 becomes NaN
    (``0 / 0``), exactly as there; callers decide what to do with it.
    """
    grid = cam.reshape(cam.shape[0], frames, height * width)
    grid = grid / grid.max(dim=2, keepdim=True).values
    return grid.reshape(cam.shape[0], frames, height, width)


def seed_importance(maps: torch.Tensor) -> torch.Tensor:
    """The origin's temporal importance: each frame's mean normalised relevance, ``(..., T, h, w)`` -> ``(..., T)``."""
    return maps.mean(dim=(-2, -1))


def origin_maps(cam: torch.Tensor, batch: int, views: int, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame raw relevance ``(B*V*T, P)`` -> the origin's ``cam`` ``(B, V, T, s, s)`` and ``importance`` ``(B, V, T)``.

    ``P`` must be a square number of image tokens (the origin's ``side = int(sqrt(P))``).
    """
    side = int(cam.shape[1] ** 0.5)
    if side * side != cam.shape[1]:
        raise ValueError(f"{cam.shape[1]} image tokens per frame do not form a square grid")
    maps = per_frame_max(cam, 1, side, side).reshape(batch, views, frames, side, side)
    return maps, seed_importance(maps)


def check_seed_options(method: str, params: dict[str, Any]) -> None:
    """Reject option values the origin has no meaning for, naming the option and the choices."""
    fusion = params.get("head-fusion", "mean")
    if fusion not in SEED_HEAD_FUSIONS:
        raise ValueError(
            f"{method}: option head-fusion under conventions: seed must be one of {list(SEED_HEAD_FUSIONS)} "
            f"(the origin has no {fusion!r}), got {fusion!r}"
        )
    ratio = params.get("discard-ratio", 0.0)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0:
        raise ValueError(f"{method}: option discard-ratio must be a number in [0, 1), got {ratio!r}")
