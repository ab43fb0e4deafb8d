"""torch's float32 CPU arithmetic reproduced in numpy: the bin edges and softmax prompt-tuning's numbers come from.

Prompt-tuning's ``calibration.py`` and ``plots.py`` compute in float32 torch. The
``prompt-tuning`` convention (:mod:`videoxai.calibration.rules`) needs two of its
kernels bit for bit, without importing torch: ``torch.linspace`` (the bin edges)
and ``torch.softmax`` (the probabilities). Inputs are numpy arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

F32 = np.float32
# lanes of torch's float32 sum reduction on AVX-512 CPUs (the order its softmax adds a row in)
_SUM_LANES = 16


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
    """float32 ``softmax(logits / temperature)`` as torch's CPU kernel forms it (prompt-tuning's probabilities).

    Subtract the row max, exp, sum, multiply by the reciprocal of the sum. The exp
    is correctly rounded; torch's vectorised one is not always, so about one entry
    in eight differs from torch by one to four float32 ulps (none in the fixtures'
    edge case). That moves a sample between bins only when its confidence lies
    within those ulps of a bin edge, and changes no metric by more than ~1e-7 otherwise.
    """
    z = np.asarray(logits).astype(F32, copy=False)
    if z.ndim != 2:
        raise ValueError(f"expected logits of shape (N, K), got {z.shape}")
    z = z / F32(temperature)  # prompt-tuning divides by a float32 temperature tensor
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted.astype(np.float64)).astype(F32)
    return e * (F32(1) / _row_sums_float32(e))[:, None]
