"""VideoMix (Yun et al. 2020): one clip with part of another pasted in, explained for both classes.

A good explanation of a mixed clip moves with the class asked about: the
map for the base clip's class should lie outside the pasted region and the
map for the pasted clip's class inside it. Two ways of mixing:

* ``box``: a square covering half of every frame's area, at a seeded
  position, is taken from the second clip (a spatial tube);
* ``temporal``: the second half of the frames is taken from the second clip.

The region and the mixed ground-truth mask are numpy, the one definition the explain stage (which mixes the
clips) and the torch-free summary (which scores the maps against the region) both use; only :func:`videomix`
needs torch, and imports it when called.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

MIX_MODES = ("box", "temporal")


def mix_region(frames: int, size: int, mode: str, seed: int) -> np.ndarray:
    """Where the second clip shows: bool ``(T, S, S)``, the same for every call with the same arguments."""
    region = np.zeros((frames, size, size), dtype=bool)
    if mode == "temporal":
        region[frames // 2 :] = True
        return region
    if mode != "box":
        raise ValueError(f"mix mode must be one of {list(MIX_MODES)}, got {mode!r}")
    side = max(1, round(size * math.sqrt(0.5)))
    y, x = np.random.default_rng(seed).integers(0, size - side + 1, size=2)
    region[:, y : y + side, x : x + side] = True
    return region


def videomix(base: torch.Tensor, other: torch.Tensor, region: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Paste ``other`` into ``base`` where ``region`` (:func:`mix_region`) is set.

    Works on model input ``(T, C, S, S)`` and on stored frames ``(T, S, S, 3)``
    alike (the region is broadcast over the channel axis, wherever it is).
    """
    import torch  # only here: the region and mask helpers stay importable without torch

    if base.shape != other.shape:
        raise ValueError(f"clips to mix must have the same shape, got {tuple(base.shape)} and {tuple(other.shape)}")
    if base.ndim != 4:
        raise ValueError(f"expected one clip (T, C, S, S) or (T, S, S, 3), got {tuple(base.shape)}")
    r = torch.as_tensor(region, dtype=torch.bool, device=base.device)
    if base.shape[-1] == 3 and tuple(base.shape[1:3]) == tuple(r.shape[1:]):
        return torch.where(r[..., None], other, base)  # frames (T, S, S, 3)
    if tuple(base.shape[2:]) == tuple(r.shape[1:]):
        return torch.where(r[:, None], other, base)  # model input (T, C, S, S)
    raise ValueError(f"region {tuple(r.shape)} does not fit clip {tuple(base.shape)}")


def mixed_mask(base_mask: np.ndarray, other_mask: np.ndarray, region: np.ndarray, explains_other: bool) -> np.ndarray:
    """The ground-truth object of the class being explained, as it appears in the mixed clip."""
    return (other_mask & region) if explains_other else (base_mask & ~region)
