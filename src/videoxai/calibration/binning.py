"""Bin assignment for the binned calibration metrics: every edge convention lives here.

Equal-width bins (``n_bins`` over [0, 1])
    Edges are ``np.linspace(0, 1, n_bins + 1)`` in float64. Bin ``b`` holds the
    confidences ``c`` with ``edges[b] <= c < edges[b + 1]``; the last bin is closed
    on the right. So ``c == 0`` is in the first bin, ``c == 1`` in the last, and a
    confidence exactly on an interior edge goes to the bin above it. Membership is
    decided by comparing against the stored edges (``torch.bucketize``), never by
    ``floor(c * n_bins)``, whose rounding can move an edge value down a bin.

    Other codes differ only at these edges: torchmetrics also uses ``[lo, hi)`` but
    puts ``c == 1`` into an extra, hidden ``(n_bins + 1)``-th bin of its own; the
    classic Guo et al. (2017) loop, which the seed's ``calibration.py`` follows,
    uses ``(lo, hi]``: an interior-edge value lands in the lower bin and ``c == 0``
    in no bin at all; netcal clips confidences into ``[eps, 1 - eps]`` first.

Equal-mass bins (adaptive ECE)
    Sort the samples by confidence; the sample whose confidence has ``r`` samples
    strictly below it goes to bin ``floor(n_bins * r / N)``. Without ties this is
    the sorted-position split into ``n_bins`` groups whose sizes differ by at most
    one (exactly ``N / n_bins`` when it divides). Tied confidences share ``r`` and
    therefore always share a bin (the bin of the tie group's first position), so the
    result does not depend on the order of the rows, and bins after a large tie
    group can be empty. With bootstrap weights ``r`` counts resampled copies.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def check_n_bins(n_bins: int) -> int:
    """Reject a bin count that is not a positive integer, naming the option."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer (the config's 'n-bins'), got {n_bins!r}")
    return int(n_bins)


def equal_width_edges(n_bins: int) -> np.ndarray:
    """The ``n_bins + 1`` float64 edges ``0, 1/n_bins, ..., 1``."""
    return np.linspace(0.0, 1.0, check_n_bins(n_bins) + 1)


def equal_width_bins(confidence: Tensor, n_bins: int) -> Tensor:
    """Equal-width bin index (int64, in ``[0, n_bins)``) of each confidence in [0, 1]."""
    interior = torch.as_tensor(equal_width_edges(n_bins)[1:-1], dtype=torch.float64)
    return torch.bucketize(confidence.to(torch.float64), interior, right=True)


class EqualMass:
    """Equal-mass binning of one confidence vector, reusable across bootstrap weights.

    The sort and the tie groups are computed once; :meth:`bins` then assigns bins
    for unit weights or for a batch of resampling weights in O(B * N).
    """

    def __init__(self, confidence: Tensor, n_bins: int):
        self.n_bins = check_n_bins(n_bins)
        conf = confidence.to(torch.float64)
        self.n = conf.numel()
        self.order = torch.argsort(conf, stable=True)
        sorted_conf = conf[self.order]
        positions = torch.arange(self.n)
        new_group = torch.ones(self.n, dtype=torch.bool)
        new_group[1:] = sorted_conf[1:] != sorted_conf[:-1]
        # first sorted position of each sample's tie group = samples strictly below it
        self.group_start = torch.cummax(torch.where(new_group, positions, 0), dim=0).values

    def bins(self, weights: Tensor | None = None) -> Tensor:
        """Bin index per sample in *sorted* order: ``(N,)``, or ``(B, N)`` for ``weights`` of shape ``(B, N)``.

        ``weights`` are integer resampling counts (bootstrap); the arithmetic stays
        in int64 so the bin of every copy is exact.
        """
        if weights is None:
            return torch.div(self.group_start * self.n_bins, max(self.n, 1), rounding_mode="floor")
        w = weights[:, self.order].to(torch.int64)
        below = torch.cumsum(w, dim=1) - w
        below = below.gather(1, self.group_start.expand_as(below))
        total = w.sum(dim=1, keepdim=True).clamp_min(1)
        return torch.div(below * self.n_bins, total, rounding_mode="floor").clamp_max(self.n_bins - 1)
