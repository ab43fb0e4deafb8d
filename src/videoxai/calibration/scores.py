"""Per-sample quantities every calibration metric is built from, computed once in float64 (numpy, no torch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from videoxai.calibration.float32 import softmax_float32

#: numpy arrays, nested sequences, or anything with ``__array__`` (a CPU torch tensor works without importing torch)
ArrayLike = np.ndarray | Sequence[float] | Any

_MAX_IDS_SHOWN = 10


class NonFiniteLogitsError(ValueError):
    """Some rows of a predictions file hold NaN or infinite logits."""


def as_array(x: ArrayLike, dtype: Any = None) -> np.ndarray:
    """A numpy array of ``x`` (no copy when it already is one of the right dtype).

    A torch tensor (the test references and notebooks pass them) is detached and
    read through ``numpy()`` without this module importing torch.
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(getattr(x, "dtype", "")) == "torch.bfloat16":  # numpy has no bfloat16
            x = x.float()
        x = x.numpy()
    a = np.asarray(x)
    return a if dtype is None else a.astype(dtype, copy=False)


def check_finite_logits(logits: ArrayLike, sample_ids: Sequence[str] | None = None, source: str = "") -> None:
    """Raise :class:`NonFiniteLogitsError` naming the samples whose logits are NaN or infinite.

    A NaN logit would otherwise turn every metric into a silent NaN; the ids tell
    the user which clips to re-extract (or to mark ``status=error``).
    """
    a = as_array(logits)
    bad = np.flatnonzero(~np.isfinite(a).reshape(a.shape[0], -1).all(axis=1)).tolist()
    if not bad:
        return
    names = [sample_ids[i] if sample_ids is not None else f"row {i}" for i in bad[:_MAX_IDS_SHOWN]]
    more = f" and {len(bad) - _MAX_IDS_SHOWN} more" if len(bad) > _MAX_IDS_SHOWN else ""
    where = f" in {source}" if source else ""
    raise NonFiniteLogitsError(
        f"{len(bad)} sample(s){where} have non-finite (NaN or inf) logits: {', '.join(map(str, names))}{more}. "
        "Re-extract these clips, or mark their rows status=error so calibration skips them."
    )


def check_labels(labels: np.ndarray, num_classes: int) -> None:
    """Labels must index the class list; anything else is a mismatched predictions file."""
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for {num_classes} classes, "
            f"got values in [{int(labels.min())}, {int(labels.max())}]"
        )


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax`` in float64: ``z - max - log(sum(exp(z - max)))``, never ``log(0)``."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class Scores:
    """Probabilities and per-sample terms of one model on one split (float64 numpy arrays).

    ``confidence`` is the top-label probability, ``correct`` whether the top label
    (first maximum on ties, as ``argmax``) equals the true label. ``nll`` and
    ``brier`` are per-sample terms: the means are the reported metrics, and keeping
    them per sample is what makes the bootstrap a weighted mean.
    """

    probs: np.ndarray  # (N, K) float64
    labels: np.ndarray  # (N,) int64
    confidence: np.ndarray  # (N,) float64
    prediction: np.ndarray  # (N,) int64
    correct: np.ndarray  # (N,) bool
    nll: np.ndarray  # (N,) float64
    brier: np.ndarray  # (N,) float64

    @property
    def n(self) -> int:
        return int(self.labels.size)

    @property
    def num_classes(self) -> int:
        return int(self.probs.shape[1])

    @classmethod
    def from_logits(
        cls,
        logits: ArrayLike,
        labels: ArrayLike,
        temperature: float = 1.0,
        sample_ids: Sequence[str] | None = None,
        softmax: str = "float64",
    ) -> Scores:
        """Softmax of ``logits / temperature``: in float64 with the NLL from ``log_softmax`` (never ``log(0)``), or
        (``softmax="float32"``) torch's float32 softmax, every term computed from those probabilities
        (see :class:`~videoxai.calibration.rules.ConventionParams`)."""
        if softmax == "float32":
            return cls._from_logits_float32(logits, labels, temperature)
        if softmax != "float64":
            raise ValueError(f"softmax must be 'float64' or 'float32', got {softmax!r}")
        z = as_array(logits, np.float64)
        y = as_array(labels, np.int64)
        if z.ndim != 2 or y.ndim != 1 or z.shape[0] != y.shape[0]:
            raise ValueError(f"expected logits (N, K) and labels (N,), got {tuple(z.shape)} and {tuple(y.shape)}")
        if z.shape[0] == 0:
            raise ValueError("no predictions to evaluate (0 rows with status=ok)")
        if not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
        check_finite_logits(z, sample_ids)
        check_labels(y, z.shape[1])
        logp = log_softmax(z / temperature)
        probs = np.exp(logp)
        return cls._build(probs, y, nll=-np.take_along_axis(logp, y[:, None], axis=1)[:, 0])

    @classmethod
    def _from_logits_float32(cls, logits: ArrayLike, labels: ArrayLike, temperature: float) -> Scores:
        """Prompt-tuning's probabilities; a single -inf logit is a zero probability (an infinite NLL), as there."""
        z = as_array(logits)
        if z.ndim != 2:
            raise ValueError(f"expected logits of shape (N, K), got {z.shape}")
        if not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
        # NaN, +inf or an all -inf row make the float32 softmax NaN
        bad = np.flatnonzero(np.isnan(z).any(axis=1) | np.isposinf(z).any(axis=1) | np.isneginf(z).all(axis=1))
        if bad.size:
            raise ValueError(
                f"{bad.size} row(s) have NaN, +inf or only -inf logits, e.g. rows {bad[:10].tolist()}; "
                "drop them (or mark them status=error) before computing calibration metrics"
            )
        return cls.from_probs(softmax_float32(z, temperature).astype(np.float64), labels)

    @classmethod
    def from_probs(cls, probs: ArrayLike, labels: ArrayLike, floor: float = 0.0) -> Scores:
        """From probabilities as given (rows are not renormalised); NLL is ``-log max(p_y, floor)`` (inf where 0
        without a floor: recalibration maps such as isotonic regression give exact zeros)."""
        p = as_array(probs, np.float64)
        y = as_array(labels, np.int64)
        if p.ndim != 2 or y.ndim != 1 or p.shape[0] != y.shape[0]:
            raise ValueError(f"expected probs (N, K) and labels (N,), got {tuple(p.shape)} and {tuple(y.shape)}")
        if p.shape[0] == 0:
            raise ValueError("no predictions to evaluate")
        check_labels(y, p.shape[1])
        with np.errstate(divide="ignore"):
            nll = -np.log(np.maximum(np.take_along_axis(p, y[:, None], axis=1)[:, 0], floor))
        return cls._build(p, y, nll=nll)

    @classmethod
    def _build(cls, probs: np.ndarray, labels: np.ndarray, nll: np.ndarray) -> Scores:
        prediction = probs.argmax(axis=1)
        confidence = np.take_along_axis(probs, prediction[:, None], axis=1)[:, 0]
        p_true = np.take_along_axis(probs, labels[:, None], axis=1)[:, 0]
        # sum_k (p_k - y_k)^2 = sum_k p_k^2 - 2 p_y + 1: the original multiclass Brier score, range [0, 2]
        brier = (probs * probs).sum(axis=1) - 2.0 * p_true + 1.0
        return cls(probs, labels, confidence, prediction, prediction == labels, nll, brier)
