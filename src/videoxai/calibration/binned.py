"""Binned calibration errors, for unit weights or a batch of bootstrap weights at once.

Every estimator here reduces to per-bin sums of ``weight * (confidence - outcome)``
(the signed residual) and of ``weight``. With ``weights=None`` results are scalars
(0-d arrays); with integer weights of shape ``(B, N)`` they are ``(B,)`` arrays,
one per resample. Bin conventions: see :mod:`videoxai.calibration.binning`.
Per-bin sums are ``np.bincount`` with weights, which adds each bin's terms in
sample order.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from videoxai.calibration.binning import EqualMass, check_n_bins, equal_width_bins, equal_width_edges
from videoxai.calibration.scores import as_array

Norm = Literal["l1", "l2", "max"]
F64 = np.float64


def bin_sums(bins: np.ndarray, values: np.ndarray | None, n_bins: int, weights: Any = None) -> np.ndarray:
    """Sum of ``weight * value`` (or of ``weight`` when ``values`` is None) in each bin.

    ``bins`` is ``(N,)`` (the same bins for every resample) or ``(B, N)`` (per
    resample); the result is ``(n_bins,)`` without weights, ``(B, n_bins)`` with.
    """
    if weights is None:
        src = None if values is None else np.asarray(values, dtype=F64)
        if bins.ndim == 1:
            return np.bincount(bins, weights=src, minlength=n_bins).astype(F64, copy=False)
        rows = bins.shape[0]
        src = np.ones(bins.shape[-1], dtype=F64) if src is None else src
        return _row_bincount(bins, np.broadcast_to(src, bins.shape), n_bins, rows)
    w = as_array(weights).astype(F64)
    src = w if values is None else w * np.asarray(values, dtype=F64)
    return _row_bincount(np.broadcast_to(bins, src.shape), src, n_bins, w.shape[0])


def _row_bincount(bins: np.ndarray, src: np.ndarray, n_bins: int, rows: int) -> np.ndarray:
    """Per-row ``bincount``: one flat pass with the row's offset added to its bins."""
    flat = (bins + (np.arange(rows, dtype=np.int64) * n_bins)[:, None]).ravel()
    return np.bincount(flat, weights=np.ascontiguousarray(src).ravel(), minlength=rows * n_bins).reshape(rows, n_bins)


def error_from_sums(counts: np.ndarray, residual_sums: np.ndarray, norm: Norm = "l1") -> np.ndarray:
    """ECE (``l1``), RMS calibration error (``l2``) or MCE (``max``) from per-bin sums.

    ``l1 = sum_b |R_b| / n``, ``l2 = sqrt(sum_b R_b^2 / n_b / n)``, ``max = max_b |R_b| / n_b``
    over non-empty bins, where ``R_b`` is the bin's summed residual and ``n_b`` its
    (weighted) count: the bin-mass-weighted ``|mean confidence - accuracy|``.
    """
    total = counts.sum(axis=-1)
    occupied = counts > 0
    safe = np.where(occupied, counts, 1.0)
    if norm == "l1":
        return np.abs(residual_sums).sum(axis=-1) / total
    if norm == "l2":
        return np.sqrt(np.where(occupied, residual_sums**2 / safe, 0.0).sum(axis=-1) / total)
    if norm == "max":
        return np.where(occupied, np.abs(residual_sums) / safe, 0.0).max(axis=-1)
    raise ValueError(f"norm must be 'l1', 'l2' or 'max', got {norm!r}")


class EqualWidth:
    """Top-label equal-width binning of one (confidence, correct) set."""

    def __init__(self, confidence: Any, correct: Any, n_bins: int):
        self.n_bins = check_n_bins(n_bins)
        self.confidence = as_array(confidence, F64)
        self.residual = self.confidence - as_array(correct, F64)
        self.bins = equal_width_bins(self.confidence, self.n_bins)

    def sums(self, weights: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(counts, residual sums) per bin."""
        return (
            bin_sums(self.bins, None, self.n_bins, weights),
            bin_sums(self.bins, self.residual, self.n_bins, weights),
        )

    def errors(self, weights: Any = None) -> dict[str, np.ndarray]:
        counts, res = self.sums(weights)
        return {
            "ece": error_from_sums(counts, res, "l1"),
            "rms_ce": error_from_sums(counts, res, "l2"),
            "mce": error_from_sums(counts, res, "max"),
        }

    def table(self) -> dict[str, np.ndarray]:
        """Per-bin lower/upper edge, count, mean confidence, accuracy and gap (= confidence - accuracy)."""
        edges = equal_width_edges(self.n_bins)
        counts, res = self.sums()
        conf = bin_sums(self.bins, self.confidence, self.n_bins)
        return _table(edges[:-1], edges[1:], counts, conf, res)


class Adaptive:
    """Top-label equal-mass binning (adaptive ECE), L1 norm."""

    def __init__(self, confidence: Any, correct: Any, n_bins: int):
        self.n_bins = check_n_bins(n_bins)
        conf = as_array(confidence, F64)
        self.mass = EqualMass(conf, self.n_bins)
        self.sorted_confidence = conf[self.mass.order]
        self.sorted_residual = self.sorted_confidence - as_array(correct, F64)[self.mass.order]

    def sums(self, weights: Any = None) -> tuple[np.ndarray, np.ndarray]:
        bins = self.mass.bins(weights)
        w = None if weights is None else as_array(weights)[:, self.mass.order]
        return bin_sums(bins, None, self.n_bins, w), bin_sums(bins, self.sorted_residual, self.n_bins, w)

    def error(self, weights: Any = None) -> np.ndarray:
        return error_from_sums(*self.sums(weights), "l1")

    def table(self) -> dict[str, np.ndarray]:
        """Per-bin table; ``lower``/``upper`` are the smallest/largest confidence in the bin (NaN if empty)."""
        bins = self.mass.bins()
        counts, res = self.sums()
        conf = bin_sums(bins, self.sorted_confidence, self.n_bins)
        lo = np.full(self.n_bins, np.inf)
        hi = np.full(self.n_bins, -np.inf)
        np.minimum.at(lo, bins, self.sorted_confidence)
        np.maximum.at(hi, bins, self.sorted_confidence)
        empty = counts == 0
        return _table(np.where(empty, np.nan, lo), np.where(empty, np.nan, hi), counts, conf, res)


def _table(
    lower: np.ndarray, upper: np.ndarray, counts: np.ndarray, conf_sums: np.ndarray, res_sums: np.ndarray
) -> dict[str, np.ndarray]:
    occupied = counts > 0
    safe = np.where(occupied, counts, 1.0)
    mean_conf = np.where(occupied, conf_sums / safe, np.nan)
    gap = np.where(occupied, res_sums / safe, np.nan)
    return {
        "lower": np.asarray(lower, dtype=F64),
        "upper": np.asarray(upper, dtype=F64),
        "count": counts,
        "mean_confidence": mean_conf,
        "accuracy": mean_conf - gap,
        "gap": gap,
    }


# rows a float32 column sum adds in float32 before the running total moves to float64
_F32_BLOCK = 256


def _column_sums(p: np.ndarray) -> np.ndarray:
    """Float64 column sums of a row chunk; float32 chunks add blocks of rows in float32 first.

    Casting a float32 chunk to float64 costs more than the rest of class-wise ECE's scan;
    short float32 blocks keep the sums within ~1e-7 relative (about torch's float32 sum).
    """
    if p.dtype != np.float32:
        return p.sum(axis=0, dtype=F64)
    full = (p.shape[0] // _F32_BLOCK) * _F32_BLOCK
    blocks = p[:full].reshape(-1, _F32_BLOCK, p.shape[1]).sum(axis=1).sum(axis=0, dtype=F64)
    return blocks + p[full:].sum(axis=0, dtype=F64)


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

    def __init__(self, probs: Any, labels: Any, n_bins: int, chunk_rows: int = 8192):
        self.n_bins = check_n_bins(n_bins)
        array = as_array(probs)
        if array.dtype not in (np.float32, F64):
            array = array.astype(np.float32)
        array = np.ascontiguousarray(array)
        self.probs = array
        self.labels = as_array(labels, np.int64)
        self.n, self.k = array.shape
        self.chunk_rows = max(1, int(chunk_rows))
        edges = equal_width_edges(self.n_bins)
        interior = edges[1:-1]
        # a float threshold in the probs' dtype that is certainly <= edges[1]: a superset of bins >= 1
        first = array.dtype.type(edges[1] if self.n_bins > 1 else 2.0)
        threshold = np.nextafter(np.nextafter(first, array.dtype.type(0)), array.dtype.type(0))
        col_sums = np.zeros(self.k, dtype=F64)
        rows, cells, residual = [], [], []
        for start in range(0, self.n, self.chunk_rows):
            p = array[start : start + self.chunk_rows]
            col_sums += _column_sums(p)
            if self.n_bins == 1:
                continue
            flat = np.flatnonzero(p >= threshold)
            r, c = np.divmod(flat, self.k)
            value = p.reshape(-1)[flat].astype(F64)
            b = np.searchsorted(interior, value, side="right")  # same rule as equal_width_bins
            keep = b > 0
            r, c, value, b = r[keep], c[keep], value[keep], b[keep]
            rows.append(r + start)
            cells.append(c * self.n_bins + b)
            residual.append(value - (self.labels[start + r] == c))
        self.rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        self.cells = np.concatenate(cells) if cells else np.zeros(0, dtype=np.int64)
        self.residual = np.concatenate(residual) if residual else np.zeros(0, dtype=F64)
        self.label_counts = np.bincount(self.labels, minlength=self.k).astype(F64)
        self.col_sums = col_sums

    def residual_sums(self, weights: Any = None) -> np.ndarray:
        """Summed residual ``p - y`` per (class, bin): ``(K, n_bins)`` or ``(B, K, n_bins)``."""
        kb = self.k * self.n_bins
        if weights is None:
            upper = np.bincount(self.cells, weights=self.residual, minlength=kb).reshape(self.k, self.n_bins)
            total = self.col_sums - self.label_counts
        else:
            w = as_array(weights).astype(F64)
            b = w.shape[0]
            upper = _row_bincount(
                np.broadcast_to(self.cells, (b, self.cells.size)), w[:, self.rows] * self.residual, kb, b
            ).reshape(b, self.k, self.n_bins)
            label_sums = _row_bincount(np.broadcast_to(self.labels, w.shape), w, self.k, b)
            total = self._weighted_col_sums(w) - label_sums
        # first bin = class total minus the other bins (which hold only the sparse entries)
        first = total - upper[..., 1:].sum(axis=-1)
        return np.concatenate([first[..., None], upper[..., 1:]], axis=-1)

    def _weighted_col_sums(self, w: np.ndarray) -> np.ndarray:
        out = np.zeros((w.shape[0], self.k), dtype=F64)
        for start in range(0, self.n, self.chunk_rows):
            out += w[:, start : start + self.chunk_rows] @ self.probs[start : start + self.chunk_rows].astype(F64)
        return out

    def error(self, weights: Any = None) -> np.ndarray:
        res = self.residual_sums(weights)
        total = float(self.n) if weights is None else as_array(weights).astype(F64).sum(axis=1)
        return np.abs(res).sum(axis=(-2, -1)) / (self.k * total)
