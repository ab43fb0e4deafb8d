"""RISE (Petsiuk et al. 2018) for video: random smooth spatio-temporal masks, weighted by the score they leave.

Each mask is a random binary grid of ``rise-cell-frames`` x ``rise-cells`` x ``rise-cells`` cells, each kept with
probability ``rise-keep``, stretched trilinearly to one cell more than the clip and shifted by a random fraction
of a cell (so cell borders fall anywhere), then cropped to the clip. The relevance of a pixel is
``sum_i p(target | clip * M_i) * M_i(pixel) / (N * keep)``: the expected score when the pixel is kept. The masks
come from a generator seeded with ``rise-seed`` (the config's): the same masks for every clip, so the maps of two
clips, two runs or two models are comparable, and a rerun gives the same maps. Forwards per clip:
``rise-masks``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

from videoxai.explain.options import METHOD_OPTIONS
from videoxai.explain.perturbation import PerturbationExplainer, grid_of, masked_probabilities


def draw_masks(
    n: int, shape: tuple[int, int, int], cells: tuple[int, int, int], keep: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The random part of ``n`` RISE masks for a clip of ``shape`` (T, H, W): binary cell grids ``(n, t', h', w')``
    and shifts ``(n, 3)``, drawn all at once (small) so the masks do not depend on how they are batched."""
    ct, ch, cw = (min(c, s) for c, s in zip(cells, shape, strict=True))
    grids = (torch.rand(n, ct, ch, cw, generator=generator) < keep).float()
    step = _cell_step(shape, grids.shape[1:])
    shifts = torch.stack([torch.randint(0, s, (n,), generator=generator) for s in step], dim=1)
    return grids, shifts


def _cell_step(shape: tuple[int, int, int], cells: tuple[int, ...]) -> tuple[int, int, int]:
    t, h, w = shape
    return math.ceil(t / cells[0]), math.ceil(h / cells[1]), math.ceil(w / cells[2])


def rise_masks(grids: torch.Tensor, shifts: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Masks ``(n, T, H, W)`` in [0, 1]: each cell grid stretched trilinearly to one cell more than the clip,
    then cropped to the clip at its shift."""
    t, h, w = shape
    ct, ch, cw = grids.shape[1:]
    step = _cell_step(shape, (ct, ch, cw))
    size = ((ct + 1) * step[0], (ch + 1) * step[1], (cw + 1) * step[2])
    big = F.interpolate(grids[:, None], size=size, mode="trilinear", align_corners=False)[:, 0]
    return torch.stack([big[i, a : a + t, b : b + h, c : c + w] for i, (a, b, c) in enumerate(shifts.tolist())])


class RISE(PerturbationExplainer):
    """Mask-weighted mean of p(target) over random smooth masks (seeded: the same masks for every clip)."""

    name = "rise"
    options: dict[str, Any] = METHOD_OPTIONS["rise"]

    def check_params(self) -> None:
        super().check_params()
        for key in ("rise-masks", "rise-cells", "rise-cell-frames"):
            v = self.params[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"option {key} must be a positive integer, got {v!r}")
        keep = self.params["rise-keep"]
        if isinstance(keep, bool) or not isinstance(keep, int | float) or not 0 < keep < 1:
            raise ValueError(f"option rise-keep must be a probability in (0, 1), got {keep!r}")
        if isinstance(self.params["rise-seed"], bool) or not isinstance(self.params["rise-seed"], int):
            raise ValueError(f"option rise-seed must be an integer, got {self.params['rise-seed']!r}")

    def forwards(self, frames: int, height: int, width: int) -> int:
        return int(self.params["rise-masks"])

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """Without a patch grid: four points per mask cell, at most the frame's pixels."""
        cells = self.params["rise-cells"]
        return min(height, 4 * cells), min(width, 4 * cells)

    def clip_relevance(self, clip: torch.Tensor, fill: torch.Tensor, target: int, p_target: float) -> torch.Tensor:
        t, _, h, w = clip.shape
        n, batch, keep = self.params["rise-masks"], self.params["perturbation-batch"], float(self.params["rise-keep"])
        cells = (self.params["rise-cell-frames"], self.params["rise-cells"], self.params["rise-cells"])
        gen = torch.Generator().manual_seed(int(self.params["rise-seed"]))  # the same masks for every clip
        grids, shifts = draw_masks(n, (t, h, w), cells, keep, gen)

        def masks() -> Iterator[torch.Tensor]:
            for s in range(0, n, batch):
                yield rise_masks(grids[s : s + batch], shifts[s : s + batch], (t, h, w))

        total = torch.zeros(t, h, w, device=clip.device)
        for m, probs in masked_probabilities(self.model, clip, fill, masks(), target, batch):
            total += (probs.to(clip.device)[:, None, None, None] * m.to(clip.device).float()).sum(dim=0)
        return grid_of(total / (n * keep), self.map_grid(h, w))
