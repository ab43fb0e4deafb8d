"""Prompt-tuning's calibration conventions, reproduced in numpy: ``conventions: prompt-tuning``.

Prompt-tuning's ``calibration.py`` (``CalibratedModel.eval``) and ``plots.py``
(``plot_reliability_diagram``) compute their numbers in float32 torch. Under the
``prompt-tuning`` convention videoxai gives the same numbers (to 1e-6; the fixtures in
``origin-fixtures/calibration`` check it) without importing torch:

- probabilities: the float32 ``softmax(logits / T)`` as torch's CPU kernel forms
  it (subtract the row max, exp, sum, multiply by the reciprocal of the sum);
- bin edges: float32 ``torch.linspace(0, 1, n_bins + 1)``, reproduced bit for bit
  (:func:`torch_linspace_float32`), so 0.2, 0.4 and 0.6 sit one ulp off their
  float32 values, exactly as in prompt-tuning;
- membership ``lo < c <= hi``: a confidence on an edge goes to the bin below it,
  and a probability of exactly 0 is in no bin;
- ECE and MCE over those bins; class-wise ECE bins every class's probabilities
  the same way and averages over classes;
- adaptive ECE sorts the confidences and puts ``N // n_bins`` samples in each
  bin, the rest in the last (ties split at a bin boundary by their row order);
- the reliability diagram: empty bins have accuracy 0 and confidence at the bin
  centre;
- NLL is ``mean(-log p_y)`` of the float32 probabilities (infinite when one
  underflows to 0, as in prompt-tuning).

Everything is a function of per-bin sums, with unit weights for the point
estimate or integer bootstrap counts ``(B, N)`` for resamples, so intervals come
from the same estimator as the point values (see :mod:`videoxai.calibration.bootstrap`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from videoxai.conventions import CONVENTIONS as CONVENTIONS  # re-exported: videoxai.calibration.CONVENTIONS
from videoxai.conventions import Convention as Convention
from videoxai.conventions import check_convention as check_convention

# prompt-tuning's metric names -> metrics.json's names (all others are the same)
PROMPT_TUNING_NAMES = {"brier_score": "brier"}
PROMPT_TUNING_METRICS = ("nll", "ece", "accuracy", "brier", "mce", "adaptive_ece", "classwise_ece")
# lanes of torch's float32 sum reduction on AVX-512 CPUs (the order its softmax adds a row in)
_SUM_LANES = 16
F32 = np.float32


def _check_n_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer (the config's 'n-bins'), got {n_bins!r}")
    return int(n_bins)


def torch_linspace_float32(start: float, end: float, steps: int) -> np.ndarray:
    """``torch.linspace(start, end, steps)`` (float32, CPU) bit for bit, in numpy.

    torch computes ``step = (end - start) / (steps - 1)`` in float32, the first
    half as ``start + step * i`` and the second as ``end - step * (steps - 1 - i)``,
    each with one rounding (a fused multiply-add). The products of a float32 and
    a small integer are exact in float64, so forming them in float64 and rounding
    once to float32 is that fused operation.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    s, e = F32(start), F32(end)
    if steps == 1:
        return np.array([s], dtype=F32)
    step = np.float64((e - s) / F32(steps - 1))
    i = np.arange(steps, dtype=np.float64)
    low = np.float64(s) + step * i
    high = np.float64(e) - step * (steps - 1 - i)
    return np.where(np.arange(steps) < steps // 2, low, high).astype(F32)


def prompt_tuning_edges(n_bins: int) -> np.ndarray:
    """Prompt-tuning's ``n_bins + 1`` float32 bin edges over [0, 1]."""
    return torch_linspace_float32(0.0, 1.0, _check_n_bins(n_bins) + 1)


def prompt_tuning_centres(n_bins: int) -> np.ndarray:
    """Prompt-tuning's float32 bin centres ``(edges[:-1] + edges[1:]) / 2`` (where empty bins are drawn)."""
    edges = prompt_tuning_edges(n_bins)
    return ((edges[:-1] + edges[1:]) / F32(2)).astype(F32)


def _row_sums_float32(e: np.ndarray) -> np.ndarray:
    """Row sums in float32, added in the order of torch's vectorised reduction (``reduce_all``)."""
    k = e.shape[1]
    if k < _SUM_LANES:  # one partial vector: lanes added one after another
        acc = e[:, 0].copy()
        for j in range(1, k):
            acc += e[:, j]
        return acc
    acc = e[:, :_SUM_LANES].copy()
    full = k - k % _SUM_LANES
    for d in range(_SUM_LANES, full, _SUM_LANES):
        acc += e[:, d : d + _SUM_LANES]
    if full < k:
        acc[:, : k - full] += e[:, full:]
    width = _SUM_LANES
    while width > 1:  # then the lanes pairwise, halves first
        width //= 2
        acc = acc[:, :width] + acc[:, width : 2 * width]
    return acc[:, 0]


def softmax_float32(logits: Any, temperature: float = 1.0) -> np.ndarray:
    """Prompt-tuning's probabilities: float32 ``softmax(logits / temperature)`` as torch's CPU kernel forms them.

    The exp is correctly rounded; torch's vectorised one is not always, so about
    one entry in eight differs from torch by one to four float32 ulps (none in
    the fixtures' edge case). That moves a sample between bins only when its
    confidence lies within those ulps of a bin edge, and changes no metric by
    more than ~1e-7 otherwise.
    """
    z = _as_numpy(logits).astype(F32, copy=False)
    if z.ndim != 2:
        raise ValueError(f"expected logits of shape (N, K), got {z.shape}")
    z = z / F32(temperature)  # prompt-tuning divides by a float32 temperature tensor
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted.astype(np.float64)).astype(F32)
    return e * (F32(1) / _row_sums_float32(e))[:, None]


def _as_numpy(x: Any) -> np.ndarray:
    """numpy view of an array-like; torch tensors through their own ``numpy()`` (no torch import here)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(getattr(x, "dtype", "")) == "torch.bfloat16":  # numpy has no bfloat16
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin ``b`` with ``edges[b] < v <= edges[b + 1]`` (compared in float32); ``n_bins`` for no bin."""
    n_bins = len(edges) - 1
    j = np.searchsorted(edges, values.astype(edges.dtype, copy=False), side="left")
    return np.where((j >= 1) & (j <= n_bins), j - 1, n_bins)


def _weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones((1, n)) if weights is None else np.asarray(weights, dtype=np.float64)


class PromptTuningSuite:
    """Prompt-tuning's metrics of one set of float32 probabilities, for unit or bootstrap weights.

    ``errors(weights)`` returns every metric as a ``(B,)`` array (``B = 1`` for
    ``weights=None``); :meth:`point` gives floats; :meth:`tables` the per-bin tables.
    """

    def __init__(self, probs: Any, labels: Any, n_bins: int = 15):
        import scipy.sparse  # here, not at the top: the standard convention (and the summary job) never need it

        p = _as_numpy(probs).astype(F32, copy=False)
        y = _as_numpy(labels).astype(np.int64, copy=False).reshape(-1)
        if p.ndim != 2 or p.shape[0] != y.shape[0] or p.shape[0] == 0:
            raise ValueError(f"expected probs (N, K) and labels (N,) with N > 0, got {p.shape} and {y.shape}")
        if y.min() < 0 or y.max() >= p.shape[1]:
            raise ValueError(
                f"labels must lie in [0, {p.shape[1]}) for {p.shape[1]} classes, got values in [{y.min()}, {y.max()}]"
            )
        self.n_bins = _check_n_bins(n_bins)
        self.n, self.k = p.shape
        self.edges = prompt_tuning_edges(self.n_bins)
        rows = np.arange(self.n)
        prediction = p.argmax(axis=1)  # first maximum, as torch's max/argmax on CPU
        conf32 = p[rows, prediction]
        self.confidence = conf32.astype(np.float64)
        self.correct = (prediction == y).astype(np.float64)
        p_true = p[rows, y].astype(np.float64)
        with np.errstate(divide="ignore"):
            self.nll_terms = -np.log(p_true)
        p64 = p.astype(np.float64)
        self.brier_terms = (p64 * p64).sum(axis=1) - 2.0 * p_true + 1.0
        # equal width (prompt-tuning's bins): one extra column collects what falls in no bin
        self.bins = bin_index(conf32, self.edges)
        self._onehot = scipy.sparse.csr_matrix((np.ones(self.n), (rows, self.bins)), shape=(self.n, self.n_bins + 1))
        # equal mass: sorted by confidence (row order among ties)
        self.order = np.argsort(conf32, kind="stable")
        self.sorted_confidence = self.confidence[self.order]
        self.sorted_correct = self.correct[self.order]
        # class-wise: every probability binned on its own; residual p_ic - y_ic per (class, bin) cell
        cls_bins = bin_index(p, self.edges)
        keep = cls_bins < self.n_bins
        r, c = np.nonzero(keep)
        residual = p64[r, c] - (y[r] == c)
        self._classwise = scipy.sparse.csr_matrix(
            (residual, (r, c * self.n_bins + cls_bins[r, c])), shape=(self.n, self.k * self.n_bins)
        )

    # --- sums -------------------------------------------------------------------------------------
    def _equal_width_sums(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(count, confidence sum, correct sum) per bin, ``(B, n_bins)``, the no-bin column dropped."""
        # (B, N) @ sparse (N, n_bins + 1): the transpose product keeps scipy on its sparse path
        count = np.asarray(self._onehot.T @ w.T).T
        conf = np.asarray(self._onehot.T @ (w * self.confidence).T).T
        correct = np.asarray(self._onehot.T @ (w * self.correct).T).T
        return count[:, :-1], conf[:, :-1], correct[:, :-1]

    def _equal_mass_sums(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(count, confidence sum, correct sum) per equal-mass bin, ``(B, n_bins)``.

        Copies of a resampled row sit next to each other in the sorted order; the
        bin boundaries fall at positions ``b * (total // n_bins)``, and a boundary
        inside a run of copies splits the run, as it would in the expanded list.
        """
        ws = w[:, self.order]
        b, n = ws.shape
        cum = np.cumsum(ws, axis=1)
        total = cum[:, -1]
        size = np.floor(total / self.n_bins)
        bounds = size[:, None] * np.arange(self.n_bins + 1)[None, :]
        bounds[:, -1] = total  # the last bin takes the rest
        # position x lies in sorted sample j = #(cum <= x); rows are offset so one searchsorted does all
        offset = (np.arange(b) * (total.max() + 1.0))[:, None]
        j = np.searchsorted((cum + offset).ravel(), (bounds + offset).ravel(), side="right").reshape(b, -1)
        j -= (np.arange(b) * n)[:, None]
        start = np.concatenate([np.zeros((b, 1)), cum[:, :-1]], axis=1)

        def prefix(values: np.ndarray) -> np.ndarray:
            """Sum of ``values`` over the first ``bounds`` positions of each row."""
            full = np.concatenate([np.zeros((b, 1)), np.cumsum(ws * values, axis=1)], axis=1)
            jj = np.minimum(j, n - 1)
            partial = np.where(j < n, (bounds - np.take_along_axis(start, jj, 1)) * values[jj], 0.0)
            return np.take_along_axis(full, j, 1) + partial

        count = np.diff(bounds, axis=1)
        return count, np.diff(prefix(self.sorted_confidence), axis=1), np.diff(prefix(self.sorted_correct), axis=1)

    # --- metrics ----------------------------------------------------------------------------------
    def errors(self, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Every metric under metrics.json's names, ``(B,)`` each; ``rms_ce`` is the L2 error over prompt-tuning's bins."""
        w = _weights(weights, self.n)
        total = w.sum(axis=1)
        finite = np.isfinite(self.nll_terms)
        nll = (w @ np.where(finite, self.nll_terms, 0.0)) / total
        nll = np.where((w @ (~finite).astype(np.float64)) > 0, np.inf, nll)
        count, conf, correct = self._equal_width_sums(w)
        gap = np.abs(conf - correct)
        occupied = count > 0
        safe = np.where(occupied, count, 1.0)
        out = {
            "accuracy": (w @ self.correct) / total,
            "nll": nll,
            "brier": (w @ self.brier_terms) / total,
            "ece": gap.sum(axis=1) / total,
            "rms_ce": np.sqrt(np.where(occupied, gap**2 / safe, 0.0).sum(axis=1) / total),
            "mce": np.where(occupied, gap / safe, 0.0).max(axis=1),
        }
        m_count, m_conf, m_correct = self._equal_mass_sums(w)
        out["adaptive_ece"] = np.where(m_count > 0, np.abs(m_conf - m_correct), 0.0).sum(axis=1) / total
        cells = np.asarray(self._classwise.T @ w.T).T  # (B, K * n_bins) residual sums
        out["classwise_ece"] = np.abs(cells).sum(axis=1) / (self.k * total)
        return out

    def point(self) -> dict[str, float]:
        """Point estimates (unit weights) as floats."""
        return {k: float(v[0]) for k, v in self.errors().items()}

    def tables(self) -> dict[str, dict[str, np.ndarray]]:
        """Per-bin tables (``lower, upper, count, mean_confidence, accuracy, gap``) of both schemes.

        ``equal-width`` is prompt-tuning's reliability diagram: float32 edges, and empty
        bins with accuracy 0 and confidence at the bin centre, as ``plot_reliability_diagram``
        draws them. ``equal-mass`` bins span the smallest to largest confidence they hold
        (NaN when empty).
        """
        w = np.ones((1, self.n))
        count, conf, correct = (a[0] for a in self._equal_width_sums(w))
        occupied = count > 0
        safe = np.where(occupied, count, 1.0)
        mean_conf = np.where(occupied, conf / safe, prompt_tuning_centres(self.n_bins).astype(np.float64))
        acc = np.where(occupied, correct / safe, 0.0)
        width = {
            "lower": self.edges[:-1].astype(np.float64),
            "upper": self.edges[1:].astype(np.float64),
            "count": count,
            "mean_confidence": mean_conf,
            "accuracy": acc,
            "gap": mean_conf - acc,
        }
        m_count, m_conf, m_correct = (a[0] for a in self._equal_mass_sums(w))
        bounds = np.concatenate([[0], np.cumsum(m_count)]).astype(np.int64)
        filled = m_count > 0
        lower = np.where(filled, self.sorted_confidence[np.minimum(bounds[:-1], self.n - 1)], np.nan)
        upper = np.where(filled, self.sorted_confidence[np.maximum(bounds[1:] - 1, 0)], np.nan)
        m_safe = np.where(filled, m_count, 1.0)
        m_mean = np.where(filled, m_conf / m_safe, np.nan)
        m_gap = np.where(filled, (m_conf - m_correct) / m_safe, np.nan)
        mass = {
            "lower": lower,
            "upper": upper,
            "count": m_count,
            "mean_confidence": m_mean,
            "accuracy": m_mean - m_gap,
            "gap": m_gap,
        }
        return {"equal-width": width, "equal-mass": mass}


def prompt_tuning_metrics(logits: Any, labels: Any, n_bins: int = 15, temperature: float = 1.0) -> dict[str, float]:
    """Prompt-tuning's ``CalibratedModel.eval`` metrics of ``logits / temperature``, under metrics.json's names."""
    suite = PromptTuningSuite(softmax_float32(logits, temperature), labels, n_bins)
    point = suite.point()
    return {name: point[name] for name in PROMPT_TUNING_METRICS}
