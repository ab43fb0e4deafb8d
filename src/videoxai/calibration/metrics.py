"""Calibration metrics as plain functions of arrays (numpy, nested lists or CPU torch tensors; any float dtype).

Each function is a thin front to the batched estimators the bootstrap uses
(:mod:`~videoxai.calibration.binned`, :mod:`~videoxai.calibration.smooth`), so a
point estimate and its confidence interval always come from the same code.

The binned ones take ``binning``: what a convention changes (edge dtype, closed
side, equal-mass rule, ties), as a :class:`~videoxai.calibration.rules.BinningRule`
or a convention's name (``"standard"``, the default, or ``"prompt-tuning"``), the
way torchmetrics' ``calibration_error`` takes ``bin_boundaries`` and ``norm``.
Bin assignment: :mod:`videoxai.calibration.binning`.
"""

from __future__ import annotations

import numpy as np

from videoxai.calibration.binned import Adaptive, Classwise, EqualWidth, Norm
from videoxai.calibration.rules import BinningRule, binning_rule
from videoxai.calibration.scores import ArrayLike, Scores, as_array, check_labels
from videoxai.calibration.smooth import SmoothECE, smooth_ece

F64 = np.float64


def top_label(probs: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct): the top probability of each row and whether its class is the label.

    Works on the probabilities' own dtype (one pass over ``(N, K)``); the first
    maximum wins on ties, as in ``argmax``.
    """
    a = as_array(probs)
    y = as_array(labels, np.int64)
    check_labels(y, a.shape[1])
    prediction = a.argmax(axis=1)
    confidence = np.take_along_axis(a, prediction[:, None], axis=1)[:, 0]
    return confidence.astype(np.float64), prediction == y


def accuracy(probs: ArrayLike, labels: ArrayLike) -> float:
    """Fraction of rows whose top class is the label."""
    return float(top_label(probs, labels)[1].astype(F64).mean())


def negative_log_likelihood(logits: ArrayLike, labels: ArrayLike) -> float:
    """Mean ``-log softmax(logits)[label]`` (natural log), from logits so it is finite."""
    return float(Scores.from_logits(logits, labels).nll.mean())


def brier_score(probs: ArrayLike, labels: ArrayLike) -> float:
    """Multiclass Brier score ``mean_i sum_k (p_ik - y_ik)^2`` (Brier 1950; range [0, 2])."""
    return float(Scores.from_probs(probs, labels).brier.mean())


def calibration_error(
    confidence: ArrayLike,
    correct: ArrayLike,
    n_bins: int = 15,
    norm: Norm = "l1",
    binning: BinningRule | str = "standard",
) -> float:
    """Equal-width binned calibration error: ``l1`` = ECE, ``l2`` = RMS-CE, ``max`` = MCE."""
    estimator = EqualWidth(as_array(confidence, F64), as_array(correct), n_bins, binning_rule(binning))
    name = {"l1": "ece", "l2": "rms_ce", "max": "mce"}.get(norm)
    if name is None:
        raise ValueError(f"norm must be 'l1', 'l2' or 'max', got {norm!r}")
    return float(estimator.errors()[name])


def adaptive_calibration_error(
    confidence: ArrayLike, correct: ArrayLike, n_bins: int = 15, binning: BinningRule | str = "standard"
) -> float:
    """ECE (L1) with equal-mass bins (standard: tied confidences always share a bin)."""
    return float(Adaptive(as_array(confidence, F64), as_array(correct), n_bins, binning_rule(binning)).error())


def classwise_calibration_error(
    probs: ArrayLike, labels: ArrayLike, n_bins: int = 15, binning: BinningRule | str = "standard"
) -> float:
    """Class-wise ECE: every class's probability column binned on its own (equal width), averaged over classes."""
    p = as_array(probs)
    y = as_array(labels, np.int64)
    check_labels(y, p.shape[1])
    return float(Classwise(p, y, n_bins, rule=binning_rule(binning)).error())


def smooth_calibration_error(confidence: ArrayLike, correct: ArrayLike) -> SmoothECE:
    """Smooth ECE (Błasiok & Nakkiran 2023) at its automatic bandwidth, with that bandwidth."""
    conf = as_array(confidence, F64)
    value, sigma = smooth_ece(conf, conf - as_array(correct, F64))
    return SmoothECE(float(value[0]), float(sigma[0]))
