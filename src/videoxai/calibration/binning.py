"""Bin assignment for the binned calibration metrics, under any :class:`~videoxai.calibration.rules.BinningRule`.

Equal-width bins (``n_bins`` over [0, 1])
    Edges are ``np.linspace(0, 1, n_bins + 1)`` in float64 (``edge_dtype="float64"``)
    or torch's float32 ``linspace`` (``"float32"``). With ``closed="left"`` (the
    standard) bin ``b`` holds the confidences ``c`` with ``edges[b] <= c < edges[b + 1]``
    and the last bin is closed on the right, so ``c == 0`` is in the first bin,
    ``c == 1`` in the last, and a confidence exactly on an interior edge goes to
    the bin above it. With ``closed="right"`` (the classic Guo et al. (2017) loop,
    which prompt-tuning's ``calibration.py`` follows) it is ``edges[b] < c <= edges[b + 1]``:
    an interior-edge value lands in the lower bin and ``c == 0`` in no bin at all
    (index ``n_bins``). Membership is decided by comparing against the stored
    edges (``np.searchsorted``) in their dtype, never by ``floor(c * n_bins)``,
    whose rounding can move an edge value down a bin.

    Other codes differ only at these edges: torchmetrics also uses ``[lo, hi)`` but
    puts ``c == 1`` into an extra, hidden ``(n_bins + 1)``-th bin of its own;
    netcal clips confidences into ``[eps, 1 - eps]`` first.

Equal-mass bins (adaptive ECE)
    Sort the samples by confidence (stable). A sample's position ``r`` is the
    number of samples strictly below it (``ties="shared"``: tied confidences share
    ``r`` and therefore a bin, so the result does not depend on the order of the
    rows, and bins after a large tie group can be empty) or its own place in the
    sorted order (``ties="row-order"``). ``equal_mass="balanced"`` puts it in bin
    ``floor(n_bins * r / N)`` (sizes differ by at most one; exactly ``N / n_bins``
    when it divides); ``"floor"`` gives every bin ``N // n_bins`` samples and the
    last the rest. With bootstrap weights ``r`` and ``N`` count resampled copies.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from videoxai.calibration.float32 import torch_linspace_float32
from videoxai.calibration.rules import BinningRule
from videoxai.calibration.scores import as_array

STANDARD_RULE = BinningRule()


def check_n_bins(n_bins: int) -> int:
    """Reject a bin count that is not a positive integer, naming the option."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer (the config's 'n-bins'), got {n_bins!r}")
    return int(n_bins)


def bin_edges(n_bins: int, rule: BinningRule = STANDARD_RULE) -> np.ndarray:
    """The ``n_bins + 1`` edges over [0, 1] in the rule's dtype."""
    n_bins = check_n_bins(n_bins)
    if rule.edge_dtype == "float32":
        return torch_linspace_float32(0.0, 1.0, n_bins + 1)
    return np.linspace(0.0, 1.0, n_bins + 1)


def bin_centres(n_bins: int, rule: BinningRule = STANDARD_RULE) -> np.ndarray:
    """``(edges[:-1] + edges[1:]) / 2`` in the edges' dtype: where a ``"centre"`` rule draws an empty bin."""
    edges = bin_edges(n_bins, rule)
    return ((edges[:-1] + edges[1:]) / edges.dtype.type(2)).astype(edges.dtype)


def equal_width_edges(n_bins: int) -> np.ndarray:
    """The standard ``n_bins + 1`` float64 edges ``0, 1/n_bins, ..., 1``."""
    return bin_edges(n_bins)


def bin_index(values: Any, edges: np.ndarray, closed: str = "left") -> np.ndarray:
    """Equal-width bin (int64) of each value, compared in the edges' dtype; ``n_bins`` where it is in no bin."""
    n_bins = len(edges) - 1
    v = as_array(values).astype(edges.dtype, copy=False)
    if closed == "left":
        return np.searchsorted(edges[1:-1], v, side="right").astype(np.int64)
    j = np.searchsorted(edges, v, side="left")
    return np.where((j >= 1) & (j <= n_bins), j - 1, n_bins).astype(np.int64)


def equal_width_bins(confidence: Any, n_bins: int, rule: BinningRule = STANDARD_RULE) -> np.ndarray:
    """Equal-width bin index (int64, ``n_bins`` for none) of each confidence in [0, 1]."""
    return bin_index(as_array(confidence, np.float64), bin_edges(n_bins, rule), rule.closed)


def equal_mass_bin(rank: np.ndarray, total: np.ndarray, n_bins: int, sizes: str) -> np.ndarray:
    """Equal-mass bin of a sample ``rank`` positions into a sorted list of ``total`` (int64, broadcasting)."""
    total = np.maximum(total, 1)
    if sizes == "balanced":
        return np.minimum((rank * n_bins) // total, n_bins - 1)
    size = total // n_bins
    return np.where(size > 0, np.minimum(rank // np.maximum(size, 1), n_bins - 1), n_bins - 1)


def equal_mass_bounds(total: np.ndarray, n_bins: int, sizes: str) -> np.ndarray:
    """First sorted position of each equal-mass bin and ``total`` after the last: ``(..., n_bins + 1)`` int64."""
    total = np.asarray(total, dtype=np.int64)[..., None]
    b = np.arange(n_bins + 1, dtype=np.int64)
    if sizes == "balanced":
        bounds = (
            b * total + n_bins - 1
        ) // n_bins  # ceil(b * total / n_bins): where floor(n_bins * r / total) reaches b
    else:
        bounds = (total // n_bins) * b
    bounds[..., -1] = total[..., 0]  # the last bin takes the rest
    return bounds


class EqualMass:
    """Equal-mass binning of one confidence vector, reusable across bootstrap weights.

    The sort and each sample's position are computed once; :meth:`bins` then
    assigns bins for unit weights, or, under ``ties="shared"``, for a batch of
    resampling weights in O(B * N). (Under ``ties="row-order"`` a boundary can
    split the copies of a resampled row: :class:`~videoxai.calibration.binned.Adaptive`
    sums those runs in parts.)
    """

    def __init__(self, confidence: Any, n_bins: int, rule: BinningRule = STANDARD_RULE):
        self.n_bins = check_n_bins(n_bins)
        self.rule = rule
        conf = as_array(confidence, np.float64)
        self.n = conf.size
        self.order = np.argsort(conf, kind="stable")
        positions = np.arange(self.n)
        if rule.ties == "row-order":
            self.rank = positions
        else:
            sorted_conf = conf[self.order]
            new_group = np.ones(self.n, dtype=bool)
            new_group[1:] = sorted_conf[1:] != sorted_conf[:-1]
            # first sorted position of each sample's tie group = samples strictly below it
            self.rank = np.maximum.accumulate(np.where(new_group, positions, 0)) if self.n else positions

    def bins(self, weights: Any = None) -> np.ndarray:
        """Bin index per sample in *sorted* order: ``(N,)``, or ``(B, N)`` for ``weights`` of shape ``(B, N)``.

        ``weights`` are integer resampling counts (bootstrap); the arithmetic stays
        in int64 so the bin of every copy is exact.
        """
        if weights is None:
            return equal_mass_bin(self.rank, np.int64(self.n), self.n_bins, self.rule.equal_mass)
        if self.rule.ties == "row-order":
            raise ValueError(
                "under ties='row-order' a bin boundary can split a resampled row's copies: use Adaptive.sums"
            )
        w = as_array(weights)[:, self.order].astype(np.int64)
        below = np.cumsum(w, axis=1) - w
        below = below[:, self.rank]
        return equal_mass_bin(below, w.sum(axis=1, keepdims=True), self.n_bins, self.rule.equal_mass)
