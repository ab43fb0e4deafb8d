"""Binned calibration errors, for unit weights or a batch of bootstrap weights at once.

Every estimator here reduces to per-bin sums of ``weight * (confidence - outcome)``
(the signed residual) and of ``weight``. With ``weights=None`` results are scalars
(0-d tensors); with integer weights of shape ``(B, N)`` they are ``(B,)`` tensors,
one per resample. Bin conventions: see :mod:`videoxai.calibration.binning`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

from videoxai.calibration.binning import EqualMass, check_n_bins, equal_width_bins, equal_width_edges

Norm = Literal["l1", "l2", "max"]
F64 = torch.float64


def bin_sums(bins: Tensor, values: Tensor | None, n_bins: int, weights: Tensor | None = None) -> Tensor:
    """Sum of ``weight * value`` (or of ``weight`` when ``values`` is None) in each bin.

    ``bins`` is ``(N,)`` (the same bins for every resample) or ``(B, N)`` (per
    resample); the result is ``(n_bins,)`` without weights, ``(B, n_bins)`` with.
    """
    if weights is None:
        src = torch.ones(bins.shape[-1], dtype=F64) if values is None else values.to(F64)
        if bins.ndim == 1:
            return torch.zeros(n_bins, dtype=F64).index_add_(0, bins, src)
        return torch.zeros(bins.shape[0], n_bins, dtype=F64).scatter_add_(1, bins, src.expand_as(bins))
    w = weights.to(F64)
    src = w if values is None else w * values.to(F64)
    out = torch.zeros(w.shape[0], n_bins, dtype=F64)
    if bins.ndim == 1:
        return out.index_add_(1, bins, src)
    return out.scatter_add_(1, bins, src)


def error_from_sums(counts: Tensor, residual_sums: Tensor, norm: Norm = "l1") -> Tensor:
    """ECE (``l1``), RMS calibration error (``l2``) or MCE (``max``) from per-bin sums.

    ``l1 = sum_b |R_b| / n``, ``l2 = sqrt(sum_b R_b^2 / n_b / n)``, ``max = max_b |R_b| / n_b``
    over non-empty bins, where ``R_b`` is the bin's summed residual and ``n_b`` its
    (weighted) count: the bin-mass-weighted ``|mean confidence - accuracy|``.
    """
    total = counts.sum(dim=-1)
    occupied = counts > 0
    safe = torch.where(occupied, counts, torch.ones_like(counts))
    if norm == "l1":
        return residual_sums.abs().sum(dim=-1) / total
    if norm == "l2":
        return torch.sqrt(torch.where(occupied, residual_sums**2 / safe, 0.0).sum(dim=-1) / total)
    if norm == "max":
        return torch.where(occupied, residual_sums.abs() / safe, 0.0).amax(dim=-1)
    raise ValueError(f"norm must be 'l1', 'l2' or 'max', got {norm!r}")


class EqualWidth:
    """Top-label equal-width binning of one (confidence, correct) set."""

    def __init__(self, confidence: Tensor, correct: Tensor, n_bins: int):
        self.n_bins = check_n_bins(n_bins)
        self.confidence = confidence.to(F64)
        self.residual = self.confidence - correct.to(F64)
        self.bins = equal_width_bins(self.confidence, self.n_bins)

    def sums(self, weights: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(counts, residual sums) per bin."""
        return (
            bin_sums(self.bins, None, self.n_bins, weights),
            bin_sums(self.bins, self.residual, self.n_bins, weights),
        )

    def errors(self, weights: Tensor | None = None) -> dict[str, Tensor]:
        counts, res = self.sums(weights)
        return {
            "ece": error_from_sums(counts, res, "l1"),
            "rms_ce": error_from_sums(counts, res, "l2"),
            "mce": error_from_sums(counts, res, "max"),
        }

    def table(self) -> dict[str, Tensor]:
        """Per-bin lower/upper edge, count, mean confidence, accuracy and gap (= confidence - accuracy)."""
        edges = torch.as_tensor(equal_width_edges(self.n_bins))
        counts, res = self.sums()
        conf = bin_sums(self.bins, self.confidence, self.n_bins)
        return _table(edges[:-1], edges[1:], counts, conf, res)


class Adaptive:
    """Top-label equal-mass binning (adaptive ECE), L1 norm."""

    def __init__(self, confidence: Tensor, correct: Tensor, n_bins: int):
        self.n_bins = check_n_bins(n_bins)
        self.mass = EqualMass(confidence, self.n_bins)
        conf = confidence.to(F64)[self.mass.order]
        self.sorted_confidence = conf
        self.sorted_residual = conf - correct.to(F64)[self.mass.order]

    def sums(self, weights: Tensor | None = None) -> tuple[Tensor, Tensor]:
        bins = self.mass.bins(weights)
        w = None if weights is None else weights[:, self.mass.order]
        return bin_sums(bins, None, self.n_bins, w), bin_sums(bins, self.sorted_residual, self.n_bins, w)

    def error(self, weights: Tensor | None = None) -> Tensor:
        return error_from_sums(*self.sums(weights), "l1")

    def table(self) -> dict[str, Tensor]:
        """Per-bin table; ``lower``/``upper`` are the smallest/largest confidence in the bin (NaN if empty)."""
        bins = self.mass.bins()
        counts, res = self.sums()
        conf = bin_sums(bins, self.sorted_confidence, self.n_bins)
        lo = torch.full((self.n_bins,), float("inf"), dtype=F64).scatter_reduce_(
            0, bins, self.sorted_confidence, "amin"
        )
        hi = torch.full((self.n_bins,), float("-inf"), dtype=F64).scatter_reduce_(
            0, bins, self.sorted_confidence, "amax"
        )
        empty = counts == 0
        return _table(lo.masked_fill(empty, float("nan")), hi.masked_fill(empty, float("nan")), counts, conf, res)


def _table(lower: Tensor, upper: Tensor, counts: Tensor, conf_sums: Tensor, res_sums: Tensor) -> dict[str, Tensor]:
    occupied = counts > 0
    safe = torch.where(occupied, counts, torch.ones_like(counts))
    nan = torch.tensor(float("nan"), dtype=F64)
    mean_conf = torch.where(occupied, conf_sums / safe, nan)
    gap = torch.where(occupied, res_sums / safe, nan)
    return {
        "lower": lower.to(F64),
        "upper": upper.to(F64),
        "count": counts,
        "mean_confidence": mean_conf,
        "accuracy": mean_conf - gap,
        "gap": gap,
    }


class Classwise:
    """Class-wise ECE (Kull et al. 2019; Nixon et al. 2019's SCE) with equal-width bins.

    ``cwECE = 1/(K N) * sum_k sum_b |sum_{i in B_kb} (p_ik - y_ik)|``: every class's
    probability column is binned on its own; ``y_ik = 1`` iff sample ``i`` has label ``k``.

    Only entries with ``p_ik >= 1/n_bins`` can leave the first bin, and a row holds
    at most ``n_bins - 1`` of them (probabilities sum to one), so they are gathered
    into a sparse list while the first bin's sums come from column totals. This
    reads the ``(N, K)`` array twice, in cache-sized row chunks, and never builds
    an ``(N, K)`` index array, which is why it is cheaper than binning every entry.
    """

    def __init__(self, probs: Tensor, labels: Tensor, n_bins: int, chunk_rows: int = 8192):
        self.n_bins = check_n_bins(n_bins)
        if probs.dtype not in (torch.float32, F64):
            probs = probs.float()
        probs = probs.contiguous()
        self.probs = probs
        self.labels = labels.to(torch.int64)
        self.n, self.k = probs.shape
        self.chunk_rows = max(1, int(chunk_rows))
        edges = equal_width_edges(self.n_bins)
        interior = edges[1:-1]
        array = probs.numpy()
        # a float threshold in the probs' dtype that is certainly <= edges[1]: a superset of bins >= 1
        first = array.dtype.type(edges[1] if self.n_bins > 1 else 2.0)
        threshold = np.nextafter(np.nextafter(first, array.dtype.type(0)), array.dtype.type(0))
        labels_np = self.labels.numpy()
        col_sums = torch.zeros(self.k, dtype=F64)
        rows, cells, residual = [], [], []
        for start in range(0, self.n, self.chunk_rows):
            # torch for the column sums, numpy for the mask scan: each is the faster of the two at its job
            col_sums += probs[start : start + self.chunk_rows].sum(dim=0).to(F64)  # float32 per chunk, float64 total
            if self.n_bins == 1:
                continue
            p = array[start : start + self.chunk_rows]
            flat = np.flatnonzero(p >= threshold)
            r, c = np.divmod(flat, self.k)
            value = p.reshape(-1)[flat].astype(np.float64)
            b = np.searchsorted(interior, value, side="right")  # same rule as equal_width_bins
            keep = b > 0
            r, c, value, b = r[keep], c[keep], value[keep], b[keep]
            rows.append(r + start)
            cells.append(c * self.n_bins + b)
            residual.append(value - (labels_np[start + r] == c))
        self.rows = torch.from_numpy(np.concatenate(rows)) if rows else torch.zeros(0, dtype=torch.int64)
        self.cells = torch.from_numpy(np.concatenate(cells)) if cells else torch.zeros(0, dtype=torch.int64)
        self.residual = torch.from_numpy(np.concatenate(residual)) if residual else torch.zeros(0, dtype=F64)
        self.label_counts = torch.bincount(self.labels, minlength=self.k).to(F64)
        self.col_sums = col_sums

    def residual_sums(self, weights: Tensor | None = None) -> Tensor:
        """Summed residual ``p - y`` per (class, bin): ``(K, n_bins)`` or ``(B, K, n_bins)``."""
        kb = self.k * self.n_bins
        if weights is None:
            upper = torch.zeros(kb, dtype=F64).index_add_(0, self.cells, self.residual).view(self.k, self.n_bins)
            total = self.col_sums - self.label_counts
        else:
            w = weights.to(F64)
            upper = torch.zeros(w.shape[0], kb, dtype=F64).index_add_(1, self.cells, w[:, self.rows] * self.residual)
            upper = upper.view(w.shape[0], self.k, self.n_bins)
            total = self._weighted_col_sums(w) - torch.zeros(w.shape[0], self.k, dtype=F64).index_add_(
                1, self.labels, w
            )
        # first bin = class total minus the other bins (which hold only the sparse entries)
        first = total - upper[..., 1:].sum(dim=-1)
        return torch.cat([first.unsqueeze(-1), upper[..., 1:]], dim=-1)

    def _weighted_col_sums(self, w: Tensor) -> Tensor:
        out = torch.zeros(w.shape[0], self.k, dtype=F64)
        for start in range(0, self.n, self.chunk_rows):
            out += w[:, start : start + self.chunk_rows] @ self.probs[start : start + self.chunk_rows].to(F64)
        return out

    def error(self, weights: Tensor | None = None) -> Tensor:
        res = self.residual_sums(weights)
        total = float(self.n) if weights is None else weights.to(F64).sum(dim=1)
        return res.abs().sum(dim=(-2, -1)) / (self.k * total)
