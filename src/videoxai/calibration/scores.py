"""Per-sample quantities every calibration metric is built from, computed once in float64."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

ArrayLike = np.ndarray | Tensor | Sequence[float]

_MAX_IDS_SHOWN = 10


class NonFiniteLogitsError(ValueError):
    """Some rows of a predictions file hold NaN or infinite logits."""


def as_tensor(x: ArrayLike, dtype: torch.dtype | None = None) -> Tensor:
    """A CPU tensor of ``x`` (no copy when it already is one of the right dtype, or writable numpy)."""
    if isinstance(x, Tensor):
        t = x
    else:
        a = np.asarray(x)
        t = torch.as_tensor(a if a.flags.writeable else a.copy())  # torch cannot wrap read-only memory
    t = t.detach().cpu()
    return t if dtype is None else t.to(dtype)


def check_finite_logits(logits: ArrayLike, sample_ids: Sequence[str] | None = None, source: str = "") -> None:
    """Raise :class:`NonFiniteLogitsError` naming the samples whose logits are NaN or infinite.

    A NaN logit would otherwise turn every metric into a silent NaN; the ids tell
    the user which clips to re-extract (or to mark ``status=error``).
    """
    t = as_tensor(logits)
    bad = (~torch.isfinite(t)).reshape(t.shape[0], -1).any(dim=1).nonzero().flatten().tolist()
    if not bad:
        return
    names = [sample_ids[i] if sample_ids is not None else f"row {i}" for i in bad[:_MAX_IDS_SHOWN]]
    more = f" and {len(bad) - _MAX_IDS_SHOWN} more" if len(bad) > _MAX_IDS_SHOWN else ""
    where = f" in {source}" if source else ""
    raise NonFiniteLogitsError(
        f"{len(bad)} sample(s){where} have non-finite (NaN or inf) logits: {', '.join(map(str, names))}{more}. "
        "Re-extract these clips, or mark their rows status=error so calibration skips them."
    )


def check_labels(labels: Tensor, num_classes: int) -> None:
    """Labels must index the class list; anything else is a mismatched predictions file."""
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for {num_classes} classes, "
            f"got values in [{int(labels.min())}, {int(labels.max())}]"
        )


@dataclass(frozen=True)
class Scores:
    """Probabilities and per-sample terms of one model on one split (float64, CPU).

    ``confidence`` is the top-label probability, ``correct`` whether the top label
    (first maximum on ties, as ``argmax``) equals the true label. ``nll`` and
    ``brier`` are per-sample terms: the means are the reported metrics, and keeping
    them per sample is what makes the bootstrap a weighted mean.
    """

    probs: Tensor  # (N, K) float64
    labels: Tensor  # (N,) int64
    confidence: Tensor  # (N,) float64
    prediction: Tensor  # (N,) int64
    correct: Tensor  # (N,) bool
    nll: Tensor  # (N,) float64
    brier: Tensor  # (N,) float64

    @property
    def n(self) -> int:
        return int(self.labels.numel())

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
    ) -> Scores:
        """Softmax of ``logits / temperature`` in float64; NLL from ``log_softmax`` (never ``log(0)``)."""
        z = as_tensor(logits, torch.float64)
        y = as_tensor(labels, torch.int64)
        if z.ndim != 2 or y.ndim != 1 or z.shape[0] != y.shape[0]:
            raise ValueError(f"expected logits (N, K) and labels (N,), got {tuple(z.shape)} and {tuple(y.shape)}")
        if z.shape[0] == 0:
            raise ValueError("no predictions to evaluate (0 rows with status=ok)")
        if not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
        check_finite_logits(z, sample_ids)
        check_labels(y, z.shape[1])
        logp = torch.log_softmax(z / temperature, dim=1)
        probs = logp.exp()
        return cls._build(probs, y, nll=-logp.gather(1, y[:, None]).squeeze(1))

    @classmethod
    def from_probs(cls, probs: ArrayLike, labels: ArrayLike) -> Scores:
        """From probabilities as given (rows are not renormalised); NLL is ``-log p_y`` (inf where 0)."""
        p = as_tensor(probs, torch.float64)
        y = as_tensor(labels, torch.int64)
        if p.ndim != 2 or y.ndim != 1 or p.shape[0] != y.shape[0]:
            raise ValueError(f"expected probs (N, K) and labels (N,), got {tuple(p.shape)} and {tuple(y.shape)}")
        if p.shape[0] == 0:
            raise ValueError("no predictions to evaluate")
        check_labels(y, p.shape[1])
        return cls._build(p, y, nll=-torch.log(p.gather(1, y[:, None]).squeeze(1)))

    @classmethod
    def _build(cls, probs: Tensor, labels: Tensor, nll: Tensor) -> Scores:
        confidence, prediction = probs.max(dim=1)
        p_true = probs.gather(1, labels[:, None]).squeeze(1)
        # sum_k (p_k - y_k)^2 = sum_k p_k^2 - 2 p_y + 1: the original multiclass Brier score, range [0, 2]
        brier = (probs * probs).sum(dim=1) - 2.0 * p_true + 1.0
        return cls(probs, labels, confidence, prediction, prediction == labels, nll, brier)
