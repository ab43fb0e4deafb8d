"""Occlusion (Zeiler & Fergus 2014) for video: a spatio-temporal patch slid over the clip.

Each position of a ``occlusion-frames`` x ``occlusion-patch`` x ``occlusion-patch`` box (the patch a fraction of
the frame's side, so one setting means the same on 64- and 224-pixel models) is filled
(:mod:`videoxai.explain.perturbation`), and the drop of the target's probability, ``p(clip) - p(occluded)``, is
credited to every pixel the box covered; a pixel's relevance is the mean drop over the boxes that covered it. The
last box of each axis is moved to end at the edge, so every pixel is covered. Forwards per clip: the number of box
positions, :meth:`Occlusion.forwards`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from videoxai.explain.options import METHOD_OPTIONS
from videoxai.explain.perturbation import PerturbationExplainer, grid_of, masked_probabilities
from videoxai.explain.perturbation_budget import side as _side
from videoxai.explain.perturbation_budget import starts


class Occlusion(PerturbationExplainer):
    """The mean drop of p(target) over the occluding boxes that cover each pixel."""

    name = "occlusion"
    options: dict[str, Any] = METHOD_OPTIONS["occlusion"]

    def check_params(self) -> None:
        super().check_params()
        for key in ("occlusion-patch", "occlusion-stride"):
            v = self.params[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 1:
                raise ValueError(f"option {key} must be a fraction of the frame's side in (0, 1], got {v!r}")
        for key in ("occlusion-frames", "occlusion-frame-stride"):
            v = self.params[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"option {key} must be a positive integer (frames), got {v!r}")

    def _boxes(self, t: int, h: int, w: int) -> list[tuple[int, int, int, int, int, int]]:
        """Every box ``(t0, t1, y0, y1, x0, x1)`` of a ``t`` x ``h`` x ``w`` clip."""
        pt, st = min(self.params["occlusion-frames"], t), self.params["occlusion-frame-stride"]
        ph, sh = _side(self.params["occlusion-patch"], h), _side(self.params["occlusion-stride"], h)
        pw, sw = _side(self.params["occlusion-patch"], w), _side(self.params["occlusion-stride"], w)
        return [
            (a, a + pt, y, y + ph, x, x + pw)
            for a in starts(t, pt, st)
            for y in starts(h, ph, sh)
            for x in starts(w, pw, sw)
        ]

    def forwards(self, frames: int, height: int, width: int) -> int:
        return len(self._boxes(frames, height, width))

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """Without a patch grid: one cell per stride (the finest step the boxes move by)."""
        return (
            max(1, round(height / _side(self.params["occlusion-stride"], height))),
            max(1, round(width / _side(self.params["occlusion-stride"], width))),
        )

    def clip_relevance(self, clip: torch.Tensor, fill: torch.Tensor, target: int, p_target: float) -> torch.Tensor:
        t, _, h, w = clip.shape
        boxes = self._boxes(t, h, w)
        batch = self.params["perturbation-batch"]

        def masks() -> Iterator[torch.Tensor]:
            for s in range(0, len(boxes), batch):
                chunk = boxes[s : s + batch]
                keep = torch.ones(len(chunk), t, h, w, device=clip.device)
                for j, (t0, t1, y0, y1, x0, x1) in enumerate(chunk):
                    keep[j, t0:t1, y0:y1, x0:x1] = 0
                yield keep

        total = torch.zeros(t, h, w, device=clip.device)
        count = torch.zeros(t, h, w, device=clip.device)
        for keep, probs in masked_probabilities(self.model, clip, fill, masks(), target, batch):
            covered = 1 - keep.float()
            total += ((p_target - probs.to(covered.device))[:, None, None, None] * covered).sum(dim=0)
            count += covered.sum(dim=0)
        return grid_of(total / count.clamp_min(1), self.map_grid(h, w))
