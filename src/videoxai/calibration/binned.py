"""Binned calibration errors, for unit weights or a batch of bootstrap weights at once.

Every estimator here reduces to per-bin sums of ``weight * (confidence - outcome)``
(the signed residual ``R``), of ``weight`` and of ``weight * confidence * (1 - confidence)``
(``V``: the variance ``R`` would have if the model were calibrated). The plug-in
errors use ``R``; the debiased ones and the test of perfect calibration use ``V``
too (:func:`debiased_from_sums`, :func:`calibration_test`). With ``weights=None`` results are scalars
(0-d arrays); with integer weights of shape ``(B, N)`` they are ``(B,)`` arrays,
one per resample. Each estimator takes a :class:`~videoxai.calibration.rules.BinningRule`
(edges, closed side, equal-mass rule, ties, how the table shows a bin; default
the standard one): the conventions are arguments of these estimators, not copies
of them. Bin assignment: see :mod:`videoxai.calibration.binning`. Per-bin sums
are ``np.bincount`` with weights, which adds each bin's terms in sample order.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from videoxai.calibration.binning import (
    STANDARD_RULE,
    EqualMass,
    bin_centres,
    bin_edges,
    bin_index,
    check_n_bins,
    equal_mass_bounds,
)
from videoxai.calibration.rules import BinningRule
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


def error_from_sums(counts: np.ndarray, residual_sums: np.ndarray, norm: Norm = "l1", total: Any = None) -> np.ndarray:
    """ECE (``l1``), RMS calibration error (``l2``) or MCE (``max``) from per-bin sums.

    ``l1 = sum_b |R_b| / n``, ``l2 = sqrt(sum_b R_b^2 / n_b / n)``, ``max = max_b |R_b| / n_b``
    over non-empty bins, where ``R_b`` is the bin's summed residual and ``n_b`` its
    (weighted) count: the bin-mass-weighted ``|mean confidence - accuracy|``. ``n``
    is ``total`` (the total weight, samples in no bin included), by default the binned count.
    """
    total = counts.sum(axis=-1) if total is None else total
    occupied = counts > 0
    safe = np.where(occupied, counts, 1.0)
    if norm == "l1":
        return np.abs(residual_sums).sum(axis=-1) / total
    if norm == "l2":
        return np.sqrt(np.where(occupied, residual_sums**2 / safe, 0.0).sum(axis=-1) / total)
    if norm == "max":
        return np.where(occupied, np.abs(residual_sums) / safe, 0.0).max(axis=-1)
    raise ValueError(f"norm must be 'l1', 'l2' or 'max', got {norm!r}")


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_erf = np.frompyfunc(math.erf, 1, 1)


def expected_abs(mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """``E|X|`` for ``X ~ N(mean, variance)``, elementwise: ``sd sqrt(2/pi) exp(-z^2/2) + mean erf(z/sqrt 2)``, ``z = mean/sd``.

    Beyond ``|z| = 9`` (and where the variance is 0) it is ``|mean|`` to double precision.
    """
    mean = np.asarray(mean, dtype=F64)
    out = np.abs(mean)
    sd = np.sqrt(np.maximum(np.asarray(variance, dtype=F64), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = mean / sd
    near = (sd > 0) & (np.abs(z) < 9.0)
    zn = z[near]
    out[near] = sd[near] * _SQRT_2_OVER_PI * np.exp(-0.5 * zn * zn) + mean[near] * _erf(zn / math.sqrt(2.0)).astype(F64)
    return out


def debiased_from_sums(
    counts: np.ndarray, residual_sums: np.ndarray, variance_sums: np.ndarray, norm: Norm, total: Any
) -> np.ndarray:
    """Kumar et al. (2019)'s debiased ECE (``l1``) or RMS calibration error (``l2``) from per-cell sums.

    A cell's summed residual ``R`` is about ``N(r, V)`` around its true value ``r``, so
    ``|R|`` overstates ``|r|`` by ``E|N(R, V)| - |R|`` (estimated at ``R``): ``l1`` is
    ``sum (2|R| - E|N(R, V)|) / total`` (the Gaussian expectation in closed form where
    Kumar et al. draw samples). ``l2`` subtracts ``V`` from ``R^2``, its unbiased
    estimate: ``sqrt(max(0, sum (R^2 - V) / n_b / total))``. ``V`` is the Bernoulli
    variance at the predicted probabilities, ``sum c (1 - c)`` (Kumar et al. use the
    bin's accuracy ``a (1 - a)``, which is 0 in a bin that is all right or all wrong).
    """
    if norm == "l1":
        return (2.0 * np.abs(residual_sums) - expected_abs(residual_sums, variance_sums)).sum(axis=-1) / total
    if norm == "l2":
        occupied = counts > 0
        safe = np.where(occupied, counts, 1.0)
        squares = np.where(occupied, (residual_sums**2 - variance_sums) / safe, 0.0).sum(axis=-1) / total
        return np.sqrt(np.maximum(squares, 0.0))
    raise ValueError(f"norm must be 'l1' or 'l2' for a debiased error, got {norm!r}")


def calibration_test(residual_sums: np.ndarray, variance_sums: np.ndarray, constraints: int = 0) -> tuple[float, int]:
    """(statistic, degrees of freedom) of the chi-square test that every cell is calibrated (unit weights).

    ``sum R^2 / V`` over the cells with ``V > 0``: under perfect calibration each
    ``R`` has mean 0 and variance ``V`` (given the confidences), so the sum is about
    chi-square with one degree of freedom per cell, less ``constraints`` (the
    Hosmer-Lemeshow idea with the variance of Spiegelhalter's test). A cell with
    ``V = 0`` but ``R != 0`` (confidence exactly 1 and wrong) rejects outright: infinity.
    """
    r, v = np.ravel(residual_sums), np.ravel(variance_sums)
    tested = v > 0
    if np.any(~tested & (np.abs(r) > 1e-12)):
        return math.inf, max(int(tested.sum()) - constraints, 1)
    return float((r[tested] ** 2 / v[tested]).sum()), max(int(tested.sum()) - constraints, 1)


def _total(weights: Any, n: int) -> np.ndarray:
    """Total weight: ``n`` for unit weights, the row sums of ``(B, N)`` resampling counts."""
    return np.asarray(float(n)) if weights is None else as_array(weights).astype(F64).sum(axis=1)


class EqualWidth:
    """Top-label equal-width binning of one (confidence, correct) set under ``rule``."""

    def __init__(self, confidence: Any, correct: Any, n_bins: int, rule: BinningRule = STANDARD_RULE):
        self.n_bins = check_n_bins(n_bins)
        self.rule = rule
        self.confidence = as_array(confidence, F64)
        self.correct = as_array(correct, F64)
        self.residual = self.confidence - self.correct
        self.variance = self.confidence * (1.0 - self.confidence)
        self.edges = bin_edges(self.n_bins, rule)
        self.bins = bin_index(self.confidence, self.edges, rule.closed)  # n_bins: in no bin

    def _sums(self, values: np.ndarray | None, weights: Any = None) -> np.ndarray:
        """Per-bin sums; the extra column of what falls in no bin is dropped."""
        return bin_sums(self.bins, values, self.n_bins + 1, weights)[..., : self.n_bins]

    def sums(self, weights: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(counts, residual sums) per bin."""
        return self._sums(None, weights), self._sums(self.residual, weights)

    def errors(self, weights: Any = None) -> dict[str, np.ndarray]:
        """ECE, RMS-CE and MCE (plug-in), and the debiased ECE and RMS-CE."""
        counts, res = self.sums(weights)
        variance = self._sums(self.variance, weights)
        total = _total(weights, self.confidence.size)
        return {
            "ece": error_from_sums(counts, res, "l1", total),
            "rms_ce": error_from_sums(counts, res, "l2", total),
            "mce": error_from_sums(counts, res, "max", total),
            "ece_debiased": debiased_from_sums(counts, res, variance, "l1", total),
            "rms_ce_debiased": debiased_from_sums(counts, res, variance, "l2", total),
        }

    def test(self) -> tuple[float, int]:
        """The chi-square test that every bin is calibrated: (statistic, dof)."""
        return calibration_test(self.sums()[1], self._sums(self.variance))

    def table(self) -> dict[str, np.ndarray]:
        """Per-bin lower/upper edge, count, mean confidence, accuracy and gap (= confidence - accuracy).

        An empty bin is NaN, or (``empty_bins="centre"``) at accuracy 0 and confidence
        at the bin's centre; ``bin_accuracy`` says which of accuracy and gap is a bin mean.
        """
        counts, res = self.sums()
        conf = self._sums(self.confidence)
        occupied = counts > 0
        safe = np.where(occupied, counts, 1.0)
        mean_conf = conf / safe
        if self.rule.bin_accuracy == "mean":
            accuracy = self._sums(self.correct) / safe
            gap = mean_conf - accuracy
        else:
            gap = res / safe
            accuracy = mean_conf - gap
        if self.rule.empty_bins == "centre":
            centre = bin_centres(self.n_bins, self.rule).astype(F64)
            mean_conf = np.where(occupied, mean_conf, centre)
            accuracy = np.where(occupied, accuracy, 0.0)
            gap = np.where(occupied, gap, centre)
        else:
            mean_conf, accuracy, gap = (np.where(occupied, a, np.nan) for a in (mean_conf, accuracy, gap))
        edges = self.edges.astype(F64)
        return _columns(edges[:-1], edges[1:], counts, mean_conf, accuracy, gap)


class Adaptive:
    """Top-label equal-mass binning (adaptive ECE) under ``rule``, L1 norm."""

    def __init__(self, confidence: Any, correct: Any, n_bins: int, rule: BinningRule = STANDARD_RULE):
        self.n_bins = check_n_bins(n_bins)
        self.rule = rule
        conf = as_array(confidence, F64)
        self.mass = EqualMass(conf, self.n_bins, rule)
        self.sorted_confidence = conf[self.mass.order]
        self.sorted_correct = as_array(correct, F64)[self.mass.order]
        self.sorted_residual = self.sorted_confidence - self.sorted_correct
        self.sorted_variance = self.sorted_confidence * (1.0 - self.sorted_confidence)

    def sums(self, weights: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(counts, residual sums) per bin."""
        counts, _, res, _ = self._sums(weights)
        return counts, res

    def _sums(self, weights: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(counts, confidence sums, residual sums, variance sums) per bin."""
        if self.rule.ties == "row-order":
            w = np.ones((1, self.mass.n)) if weights is None else as_array(weights)[:, self.mass.order].astype(F64)
            out = _split_run_sums(
                w, self.sorted_confidence, self.sorted_correct, self.sorted_variance, self.n_bins, self.rule.equal_mass
            )
            return tuple(a[0] for a in out) if weights is None else out
        bins = self.mass.bins(weights)
        w = None if weights is None else as_array(weights)[:, self.mass.order]
        return (
            bin_sums(bins, None, self.n_bins, w),
            bin_sums(bins, self.sorted_confidence, self.n_bins, w),
            bin_sums(bins, self.sorted_residual, self.n_bins, w),
            bin_sums(bins, self.sorted_variance, self.n_bins, w),
        )

    def error(self, weights: Any = None) -> np.ndarray:
        counts, res = self.sums(weights)
        return error_from_sums(counts, res, "l1", _total(weights, self.mass.n))

    def debiased(self, weights: Any = None) -> np.ndarray:
        """Kumar et al.'s debiased adaptive ECE (:func:`debiased_from_sums`)."""
        counts, _, res, variance = self._sums(weights)
        return debiased_from_sums(counts, res, variance, "l1", _total(weights, self.mass.n))

    def test(self) -> tuple[float, int]:
        """The chi-square test that every equal-mass bin is calibrated: (statistic, dof)."""
        _, _, res, variance = self._sums()
        return calibration_test(res, variance)

    def table(self) -> dict[str, np.ndarray]:
        """Per-bin table; ``lower``/``upper`` are the smallest/largest confidence in the bin (NaN if empty)."""
        counts, conf, res, _ = self._sums()
        # the bins are runs of the sorted order: a bin's first and last sample are its extremes
        bounds = np.concatenate([[0], np.cumsum(np.round(counts).astype(np.int64))])
        empty = counts == 0
        last = max(self.mass.n - 1, 0)
        lower = np.where(empty, np.nan, self.sorted_confidence[np.minimum(bounds[:-1], last)])
        upper = np.where(empty, np.nan, self.sorted_confidence[np.maximum(bounds[1:] - 1, 0)])
        safe = np.where(empty, 1.0, counts)
        mean_conf = np.where(empty, np.nan, conf / safe)
        gap = np.where(empty, np.nan, res / safe)
        return _columns(lower, upper, counts, mean_conf, mean_conf - gap, gap)


def _split_run_sums(
    w: np.ndarray, confidence: np.ndarray, correct: np.ndarray, variance: np.ndarray, n_bins: int, sizes: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(count, confidence, residual and variance sums) per equal-mass bin, ``(B, n_bins)``, when ties keep row order.

    ``w`` are the ``(B, N)`` weights in sorted order. Copies of a resampled row sit
    next to each other in the sorted order; a bin boundary inside such a run splits
    it, as it would in the expanded list. Sums come from prefix sums at the
    boundaries; the residual sum is the confidence sum minus the correct sum.
    """
    b, n = w.shape
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1]
    bounds = equal_mass_bounds(np.rint(total).astype(np.int64), n_bins, sizes).astype(F64)
    # position x lies in sorted sample j = #(cum <= x); rows are offset so one searchsorted does all
    offset = (np.arange(b) * (total.max() + 1.0))[:, None]
    j = np.searchsorted((cum + offset).ravel(), (bounds + offset).ravel(), side="right").reshape(b, -1)
    j -= (np.arange(b) * n)[:, None]
    start = np.concatenate([np.zeros((b, 1)), cum[:, :-1]], axis=1)
    jj = np.minimum(j, n - 1)

    def prefix(values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over the first ``bounds`` positions of each row."""
        full = np.concatenate([np.zeros((b, 1)), np.cumsum(w * values, axis=1)], axis=1)
        partial = np.where(j < n, (bounds - np.take_along_axis(start, jj, 1)) * values[jj], 0.0)
        return np.take_along_axis(full, j, 1) + partial

    conf = np.diff(prefix(confidence), axis=1)
    return np.diff(bounds, axis=1), conf, conf - np.diff(prefix(correct), axis=1), np.diff(prefix(variance), axis=1)


def _columns(
    lower: np.ndarray,
    upper: np.ndarray,
    counts: np.ndarray,
    mean_conf: np.ndarray,
    accuracy: np.ndarray,
    gap: np.ndarray,
) -> dict[str, np.ndarray]:
    return {
        "lower": np.asarray(lower, dtype=F64),
        "upper": np.asarray(upper, dtype=F64),
        "count": counts,
        "mean_confidence": mean_conf,
        "accuracy": accuracy,
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
    """Class-wise ECE (Kull et al. 2019; Nixon et al. 2019's SCE) with equal-width bins under ``rule``.

    ``cwECE = 1/(K N) * sum_k sum_b |sum_{i in B_kb} (p_ik - y_ik)|``: every class's
    probability column is binned on its own; ``y_ik = 1`` iff sample ``i`` has label ``k``.

    With ``closed="left"`` only entries with ``p_ik >= 1/n_bins`` can leave the first
    bin, and a row holds at most ``n_bins - 1`` of them (probabilities sum to one),
    so they are gathered into a sparse list while the first bin's sums come from
    column totals. This reads the ``(N, K)`` array twice, in cache-sized row chunks,
    and never builds an ``(N, K)`` index array, which is why it is cheaper than
    binning every entry. With ``closed="right"`` a zero probability is in no bin, so
    the first bin is not the column total minus the others: every non-zero entry is
    gathered and summed in its bin.
    """

    def __init__(self, probs: Any, labels: Any, n_bins: int, chunk_rows: int = 8192, rule: BinningRule = STANDARD_RULE):
        self.n_bins = check_n_bins(n_bins)
        self.rule = rule
        array = as_array(probs)
        if array.dtype not in (np.float32, F64):
            array = array.astype(np.float32)
        array = np.ascontiguousarray(array)
        self.probs = array
        self.labels = as_array(labels, np.int64)
        self.n, self.k = array.shape
        self.chunk_rows = max(1, int(chunk_rows))
        edges = bin_edges(self.n_bins, rule)
        # column totals give the first bin only when it holds every entry the other bins do not
        self.from_totals = rule.closed == "left"
        if self.from_totals:
            # a float threshold in the probs' dtype that is certainly <= edges[1]: a superset of bins >= 1
            first = array.dtype.type(edges[1] if self.n_bins > 1 else 2.0)
            threshold = np.nextafter(np.nextafter(first, array.dtype.type(0)), array.dtype.type(0))
        col_sums = np.zeros(self.k, dtype=F64)
        rows, cells, residual = [], [], []
        for start in range(0, self.n, self.chunk_rows):
            p = array[start : start + self.chunk_rows]
            if self.from_totals:
                col_sums += _column_sums(p)
                if self.n_bins == 1:
                    continue
                flat = np.flatnonzero(p >= threshold)
            else:
                flat = np.flatnonzero(p > 0)
            r, c = np.divmod(flat, self.k)
            value = p.reshape(-1)[flat].astype(F64)
            b = bin_index(value, edges, rule.closed)  # same rule as equal_width_bins
            keep = b > 0 if self.from_totals else b < self.n_bins
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
        gathered = self._gathered(self.residual, weights)
        if not self.from_totals:
            return gathered
        if weights is None:
            totals = self.col_sums - self.label_counts
        else:
            w = as_array(weights).astype(F64)
            totals = self._weighted_col_sums(w) - _row_bincount(
                np.broadcast_to(self.labels, w.shape), w, self.k, w.shape[0]
            )
        return _with_first_bin(gathered, totals)

    def variance_sums(self, weights: Any = None) -> np.ndarray:
        """Summed Bernoulli variance ``p (1 - p)`` per (class, bin), shaped as :meth:`residual_sums`."""
        entries = self.residual + (self.labels[self.rows] == self.cells // self.n_bins)  # back to p
        gathered = self._gathered(entries * (1.0 - entries), weights)
        if not self.from_totals:
            return gathered
        if weights is None:
            totals = self.col_sums - self._column_square_sums()
        else:
            w = as_array(weights).astype(F64)
            totals = self._weighted_col_sums(w) - self._weighted_col_sums(w, square=True)
        return _with_first_bin(gathered, totals)

    def _gathered(self, values: np.ndarray, weights: Any) -> np.ndarray:
        """Sums of the gathered entries' ``values`` per (class, bin)."""
        kb = self.k * self.n_bins
        if weights is None:
            return np.bincount(self.cells, weights=values, minlength=kb).reshape(self.k, self.n_bins)
        w = as_array(weights).astype(F64)
        b = w.shape[0]
        return _row_bincount(
            np.broadcast_to(self.cells, (b, self.cells.size)), w[:, self.rows] * values, kb, b
        ).reshape(b, self.k, self.n_bins)

    def _column_square_sums(self) -> np.ndarray:
        """Per-class sums of ``p^2`` (one more pass, only for the variance)."""
        out = np.zeros(self.k, dtype=F64)
        for start in range(0, self.n, self.chunk_rows):
            p = self.probs[start : start + self.chunk_rows]
            out += _column_sums(p * p)
        return out

    def _weighted_col_sums(self, w: np.ndarray, square: bool = False) -> np.ndarray:
        out = np.zeros((w.shape[0], self.k), dtype=F64)
        for start in range(0, self.n, self.chunk_rows):
            p = self.probs[start : start + self.chunk_rows].astype(F64)
            out += w[:, start : start + self.chunk_rows] @ (p * p if square else p)
        return out

    def _total(self, weights: Any) -> Any:
        return float(self.n) if weights is None else as_array(weights).astype(F64).sum(axis=1)

    def error(self, weights: Any = None) -> np.ndarray:
        res = self.residual_sums(weights)
        return np.abs(res).sum(axis=(-2, -1)) / (self.k * self._total(weights))

    def debiased(self, weights: Any = None) -> np.ndarray:
        """Kumar et al.'s debiased class-wise ECE (:func:`debiased_from_sums` over the (class, bin) cells)."""
        cells = self.k * self.n_bins
        res = self.residual_sums(weights).reshape(*np.shape(self._total(weights)), cells)
        variance = self.variance_sums(weights).reshape(res.shape)
        return debiased_from_sums(None, res, variance, "l1", self.k * self._total(weights))

    def test(self) -> tuple[float, int]:
        """The chi-square test that every (class, bin) cell is calibrated: (statistic, dof).

        The cells' residuals sum to exactly 0 (every row's probabilities and labels
        sum to one), one constraint; residuals of one row in different classes are
        slightly correlated, so the chi-square distribution is an approximation here.
        """
        return calibration_test(self.residual_sums(), self.variance_sums(), constraints=1)


def _with_first_bin(gathered: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Put each class's first bin in: its total minus the other bins (which hold only the gathered entries)."""
    first = totals - gathered[..., 1:].sum(axis=-1)
    return np.concatenate([first[..., None], gathered[..., 1:]], axis=-1)
