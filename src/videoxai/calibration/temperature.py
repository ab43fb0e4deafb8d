"""Temperature scaling (Guo et al. 2017): one scalar T > 0 fitted on held-out logits by NLL."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from videoxai.calibration.scores import ArrayLike, as_tensor, check_finite_logits, check_labels

F64 = torch.float64
BOUNDS = (1e-2, 1e2)


@dataclass(frozen=True)
class TemperatureFit:
    temperature: float
    nll_before: float  # mean NLL of the fitting set at T = 1
    nll_after: float  # ... at the fitted T
    at_bound: bool  # the optimum lies at or beyond a bound (e.g. perfectly separable data): T is that bound
    n: int


def scaled_nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> float:
    """Mean NLL of ``softmax(logits / temperature)``."""
    return float(F.cross_entropy(logits.to(F64) / temperature, labels))


def fit_temperature(
    logits: ArrayLike, labels: ArrayLike, bounds: tuple[float, float] = BOUNDS, max_iter: int = 100
) -> TemperatureFit:
    """Minimise the mean NLL of ``softmax(logits / T)`` over ``log T`` with L-BFGS (strong Wolfe).

    Parametrising by ``log T`` keeps T positive without constraints. The NLL is
    convex in ``1/T``, so clipping the optimum to ``bounds`` gives the bounded
    optimum; it only happens when the fitting set is (almost) perfectly separable,
    where the NLL keeps falling as T -> 0, and is reported as ``at_bound``.
    """
    z = as_tensor(logits, F64)
    y = as_tensor(labels, torch.int64)
    if z.ndim != 2 or z.shape[0] != y.shape[0] or z.shape[0] == 0:
        raise ValueError(f"need logits (N, K) and labels (N,) with N > 0 to fit a temperature, got {tuple(z.shape)}")
    check_finite_logits(z, source="the temperature-fitting (val) predictions")
    check_labels(y, z.shape[1])
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    log_t = torch.zeros(1, dtype=F64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [log_t],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-12,
        tolerance_change=1e-15,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        # outside the bounds (+1 nat of slack) the loss is flat, so L-BFGS stops instead of overflowing
        loss = F.cross_entropy(z / torch.exp(log_t.clamp(lo - 1.0, hi + 1.0)), y)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    raw = float(log_t.detach())
    t = math.exp(min(max(raw, lo), hi)) if math.isfinite(raw) else bounds[0 if raw < 0 else 1]
    nll = scaled_nll(z, y, t)
    # the gradient vanishes far out too (separable data: NLL -> 0 as T -> 0), where L-BFGS may stop
    # early; by convexity in 1/T, a bound that beats the stopping point is the bounded optimum
    at_bound = False
    for b in bounds:
        nll_b = scaled_nll(z, y, b)
        if nll_b < nll:
            t, nll, at_bound = b, nll_b, True
    return TemperatureFit(
        temperature=t, nll_before=scaled_nll(z, y, 1.0), nll_after=nll, at_bound=at_bound, n=int(z.shape[0])
    )
