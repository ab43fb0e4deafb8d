"""How well maps fall on ground-truth object masks: pointing game and energy in mask, with their baselines.

numpy only (no torch), and the one home of these scores: the explanation summary
(:mod:`videoxai.explain.summary`), the annotation scores (:mod:`videoxai.explain.ground_truth`) and the explain
stage's scoring of the randomised model's maps (:mod:`videoxai.explain.scoring`) all call them. The maps are
upsampled with :func:`videoxai.explain.maps.upsample_bilinear` and the random baseline is drawn from torch's
generator stream reproduced in numpy (:func:`random_maps`), so the numbers are those torch would give
(``tests/unit/test_explain_summary.py`` keeps a torch reference).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from videoxai.explain.maps import upsample_bilinear


def random_maps(shape: Sequence[int], seed: int = 0) -> np.ndarray:
    """Uniform noise on the maps' grid, the baseline any explanation must beat: ``torch.rand(shape)`` after
    ``torch.Generator().manual_seed(seed)``, value for value.

    torch's CPU generator is the 32-bit Mersenne Twister seeded as numpy's legacy ``RandomState`` seeds it, and a
    float32 draw keeps the low 24 bits of one 32-bit word, times 2**-24.
    """
    n = math.prod(int(s) for s in shape)
    words = np.random.RandomState(seed).randint(0, 2**32, size=n, dtype=np.uint32)
    return ((words & 0xFFFFFF).astype(np.float32) * np.float32(2.0**-24)).reshape(tuple(shape))


def centre_prior(shape: Sequence[int]) -> np.ndarray:
    """An isotropic Gaussian at the frame centre (sigma = a quarter of the side): objects are often central."""
    *lead, h, w = shape
    y = (np.arange(h, dtype=np.float32) + np.float32(0.5)) / np.float32(h) - np.float32(0.5)
    x = (np.arange(w, dtype=np.float32) + np.float32(0.5)) / np.float32(w) - np.float32(0.5)
    g = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / np.float32(2 * 0.25**2)).astype(np.float32)
    return np.broadcast_to(g, (*lead, h, w)).copy()


def nanmean_or_none(a: np.ndarray) -> float | None:
    """Mean over the finite entries; None when there are none (JSON has no NaN)."""
    a = np.asarray(a, dtype=np.float64)
    return float(np.nanmean(a)) if np.isfinite(a).any() else None


def pointing_hits(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per frame: 1 if the map's maximum lies on the object, 0 if not, NaN where the object is absent.

    Maps ``(N, T, H, W)`` at mask resolution. A frame whose map is constant points nowhere and counts as a miss.
    """
    m = np.asarray(maps, dtype=np.float32).reshape(*maps.shape[:2], -1)
    mk = np.asarray(masks, dtype=bool).reshape(*masks.shape[:2], -1)
    peak = m.max(axis=2, keepdims=True)
    on_object = ((m >= peak) & mk).any(axis=2)
    constant = m.min(axis=2) >= peak[..., 0]
    hits = (on_object & ~constant).astype(np.float64)
    hits[~mk.any(axis=2)] = np.nan
    return hits


def energy_in_mask(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per frame: the share of the map's mass on the object; NaN where the object is absent or the map is zero."""
    m = np.clip(np.asarray(maps, dtype=np.float64), 0, None).reshape(*maps.shape[:2], -1)
    mk = np.asarray(masks, dtype=bool).reshape(*masks.shape[:2], -1)
    total = m.sum(axis=2)
    inside = (m * mk).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, inside / np.maximum(total, 1e-300), np.nan)
    out[~mk.any(axis=2)] = np.nan
    return out


def rank_accuracy(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per frame: relevance rank accuracy (Arras et al. 2022): of the ``K`` highest-ranked pixels, ``K`` the
    object's area, the share on the object; NaN where the object is absent.

    Maps ``(N, T, H, W)`` at mask resolution. Pixels are ranked as Quantus ranks them (``argsort`` of the negated
    map), so tied pixels fall as they fall there (a test checks equal values).
    """
    n, t = maps.shape[:2]
    m = np.asarray(maps, dtype=np.float32).reshape(n * t, -1)
    mk = np.asarray(masks, dtype=bool).reshape(n * t, -1)
    k = mk.sum(axis=1)
    order = np.argsort(-m, axis=-1)
    on_object = np.take_along_axis(mk, order, axis=1)
    top = np.arange(m.shape[1])[None, :] < k[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (on_object & top).sum(axis=1) / k
    out = out.astype(np.float64)
    out[k == 0] = np.nan
    return out.reshape(n, t)


def mask_scores(maps: np.ndarray, masks: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Pointing game and energy in mask of ``maps`` (N, T, h, w) against ``masks`` (N, T, H, W), with baselines.

    Scores are means over the frames where the object is visible.
    """
    maps = np.asarray(maps, dtype=np.float32)
    size = tuple(masks.shape[-2:])
    flat = masks.reshape(*masks.shape[:2], -1)
    visible = flat.any(axis=2)
    out: dict[str, Any] = {
        "n_clips": int(masks.shape[0]),
        "n_frames_scored": int(visible.sum()),
        "chance": nanmean_or_none(np.where(visible, flat.mean(axis=2), np.nan)),
    }
    for name, m in (
        ("map", maps),
        ("random_map", random_maps(maps.shape, seed)),
        ("centre_prior", centre_prior(maps.shape)),
    ):
        out[name] = map_scores(upsample_bilinear(m, size), masks)
    return out


def map_scores(upsampled: np.ndarray, masks: np.ndarray) -> dict[str, float | None]:
    """Pointing game and energy in mask of maps already at the masks' resolution (no baselines).

    Every number is per frame before the mean, so the scores of a subset of clips can be taken from the
    upsampled maps of all of them (the per-class scores: one upsampling, not one per class).
    """
    return {
        "pointing_game": nanmean_or_none(pointing_hits(upsampled, masks)),
        "energy_in_mask": nanmean_or_none(energy_in_mask(upsampled, masks)),  # Arras et al.'s relevance mass accuracy
        "relevance_rank_accuracy": nanmean_or_none(rank_accuracy(upsampled, masks)),
    }


def clip_masks(video_path: str | os.PathLike[str], frame_indices: Sequence[int], size: int) -> np.ndarray:
    """The demo mask of the frames the model saw, cropped and resized exactly as those frames were: bool (T, S, S).

    Masks whose shorter side is already ``size`` (the demo's) are only centre-cropped, here in numpy; any other size
    is resized by the loader's own transform, which needs torch.
    """
    from videoxai.data.masks import load_mask

    mask = load_mask(video_path)[list(frame_indices)]
    h, w = mask.shape[1:3]
    if min(h, w) == size:
        top, left = (h - size) // 2, (w - size) // 2
        return mask[:, top : top + size, left : left + size].copy()
    from videoxai.data.transforms import resize_crop  # torch: only for masks of another size than the model's input

    rgb = np.repeat(mask[..., None].astype(np.uint8) * 255, 3, axis=-1)
    return resize_crop(rgb, size)[..., 0].numpy() >= 128
