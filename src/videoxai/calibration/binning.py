"""Bin assignment for the binned calibration metrics: every edge convention lives here.

Equal-width bins (``n_bins`` over [0, 1])
    Edges are ``np.linspace(0, 1, n_bins + 1)`` in float64. Bin ``b`` holds the
    confidences ``c`` with ``edges[b] <= c < edges[b + 1]``; the last bin is closed
    on the right. So ``c == 0`` is in the first bin, ``c == 1`` in the last, and a
    confidence exactly on an interior edge goes to the bin above it. Membership is
    decided by comparing against the stored edges (``np.searchsorted``), never by
    ``floor(c * n_bins)``, whose rounding can move an edge value down a bin.

    Other codes differ only at these edges: torchmetrics also uses ``[lo, hi)`` but
    puts ``c == 1`` into an extra, hidden ``(n_bins + 1)``-th bin of its own; the
    classic Guo et al. (2017) loop, which prompt-tuning's ``calibration.py`` follows,
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

from typing import Any

import numpy as np

from videoxai.calibration.scores import as_array


def check_n_bins(n_bins: int) -> int:
    """Reject a bin count that is not a positive integer, naming the option."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer (the config's 'n-bins'), got {n_bins!r}")
    return int(n_bins)


def equal_width_edges(n_bins: int) -> np.ndarray:
    """The ``n_bins + 1`` float64 edges ``0, 1/n_bins, ..., 1``."""
    return np.linspace(0.0, 1.0, check_n_bins(n_bins) + 1)


def equal_width_bins(confidence: Any, n_bins: int) -> np.ndarray:
    """Equal-width bin index (int64, in ``[0, n_bins)``) of each confidence in [0, 1]."""
    interior = equal_width_edges(n_bins)[1:-1]
    return np.searchsorted(interior, as_array(confidence, np.float64), side="right").astype(np.int64)


class EqualMass:
    """Equal-mass binning of one confidence vector, reusable across bootstrap weights.

    The sort and the tie groups are computed once; :meth:`bins` then assigns bins
    for unit weights or for a batch of resampling weights in O(B * N).
    """

    def __init__(self, confidence: Any, n_bins: int):
        self.n_bins = check_n_bins(n_bins)
        conf = as_array(confidence, np.float64)
        self.n = conf.size
        self.order = np.argsort(conf, kind="stable")
        sorted_conf = conf[self.order]
        positions = np.arange(self.n)
        new_group = np.ones(self.n, dtype=bool)
        new_group[1:] = sorted_conf[1:] != sorted_conf[:-1]
        # first sorted position of each sample's tie group = samples strictly below it
        self.group_start = np.maximum.accumulate(np.where(new_group, positions, 0)) if self.n else positions

    def bins(self, weights: Any = None) -> np.ndarray:
        """Bin index per sample in *sorted* order: ``(N,)``, or ``(B, N)`` for ``weights`` of shape ``(B, N)``.

        ``weights`` are integer resampling counts (bootstrap); the arithmetic stays
        in int64 so the bin of every copy is exact.
        """
        if weights is None:
            return (self.group_start * self.n_bins) // max(self.n, 1)
        w = as_array(weights)[:, self.order].astype(np.int64)
        below = np.cumsum(w, axis=1) - w
        below = below[:, self.group_start]
        total = np.maximum(w.sum(axis=1, keepdims=True), 1)
        return np.minimum((below * self.n_bins) // total, self.n_bins - 1)
