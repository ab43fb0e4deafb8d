"""Post-hoc recalibration beyond temperature scaling, fitted on val logits and applied to any test logits.

Methods (``METHODS``), each a map from logits ``(N, K)`` to probabilities:

- ``temperature``: ``softmax(z / T)`` (Guo et al. 2017; :mod:`videoxai.calibration.temperature`);
- ``vector``: ``softmax(w * z + b)``, per-class scale and bias (Guo et al. 2017), 2K parameters;
- ``matrix``: ``softmax(W z + b)``, K^2 + K parameters, with Kull et al. (2019)'s ODIR penalty
  ``lam * mean(off-diagonal W^2) + mu * mean(b^2)``;
- ``dirichlet``: matrix scaling of the log-probabilities ``log softmax(z)`` (Kull et al. 2019), ODIR too;
- ``isotonic``: one-vs-all isotonic regression of each class's probability (scikit-learn), renormalised;
- ``histogram``: one-vs-all histogram binning (Zadrozny & Elkan 2001): each class's probability replaced by
  the val frequency of its equal-width bin, renormalised.

The scaling methods minimise val NLL (+ penalty) with L-BFGS from the identity. ``ODIR`` strengths are fixed
(``lam = mu = 1e-2`` by default, the value docs/shift.md discusses); ``lam = mu = 0`` is plain multinomial
logistic regression on the (log-)logits, which the tests compare with scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from videoxai.calibration.scores import check_finite_logits, check_labels, log_softmax

F64 = np.float64
METHODS = ("temperature", "vector", "matrix", "dirichlet", "isotonic", "histogram")
ODIR = 1e-2


def softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(log_softmax(np.asarray(z, dtype=F64)))


@dataclass
class Recalibrator:
    """A fitted method: ``probs(logits)`` gives recalibrated probabilities; ``parameters`` counts what was fitted."""

    method: str
    transform: Callable[[np.ndarray], np.ndarray]
    parameters: int
    info: dict = field(default_factory=dict)

    def probs(self, logits: np.ndarray) -> np.ndarray:
        return self.transform(np.asarray(logits, dtype=F64))


def _affine_fit(
    x: np.ndarray, y: np.ndarray, kind: str, lam: float, mu: float, tolerance: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) minimising mean NLL of ``softmax(x W^T + b)`` (+ ODIR); ``kind`` vector: W diagonal."""
    from scipy.optimize import minimize

    n, k = x.shape
    onehot = np.eye(k)[y]
    off = ~np.eye(k, dtype=bool)

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if kind == "vector":
            return np.diag(theta[:k]), theta[k:]
        return theta[: k * k].reshape(k, k), theta[k * k :]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = unpack(theta)
        p = softmax(x @ w.T + b)
        nll = -np.log(np.clip(p[np.arange(n), y], 1e-300, None)).mean()
        g = (p - onehot) / n  # d loss / d logits
        gw, gb = g.T @ x, g.sum(axis=0)
        if kind == "matrix" and k > 1:
            nll += lam * (w[off] ** 2).mean() + mu * (b**2).mean()
            gw = gw + lam * 2 * np.where(off, w, 0) / off.sum()
            gb = gb + mu * 2 * b / k
        elif kind == "vector":
            nll += mu * (b**2).mean()
            gb = gb + mu * 2 * b / k
        grad = np.concatenate([np.diag(gw) if kind == "vector" else gw.ravel(), gb])
        return float(nll), grad

    start = np.concatenate([np.ones(k) if kind == "vector" else np.eye(k).ravel(), np.zeros(k)])
    result = minimize(
        loss,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tolerance, "ftol": tolerance * 1e-3},
    )
    return unpack(result.x)


def _one_vs_all(p_val: np.ndarray, y: np.ndarray, fit_column: Callable) -> Callable[[np.ndarray], np.ndarray]:
    k = p_val.shape[1]
    maps = [fit_column(p_val[:, j], (y == j).astype(F64)) for j in range(k)]

    def transform(z: np.ndarray) -> np.ndarray:
        p = softmax(z)
        q = np.stack([m(p[:, j]) for j, m in enumerate(maps)], axis=1)
        total = q.sum(axis=1, keepdims=True)
        return np.where(total > 0, q / np.where(total > 0, total, 1), 1.0 / k)  # all-zero rows: uniform

    return transform


def _isotonic(p: np.ndarray, target: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, target)
    return model.predict


def _histogram(n_bins: int) -> Callable:
    def fit(p: np.ndarray, target: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
        counts = np.bincount(bins, minlength=n_bins)
        hits = np.bincount(bins, weights=target, minlength=n_bins)
        centres = (np.arange(n_bins) + 0.5) / n_bins
        value = np.where(counts > 0, hits / np.maximum(counts, 1), centres)  # an empty bin keeps its centre
        return lambda q: value[np.minimum((q * n_bins).astype(np.int64), n_bins - 1)]

    return fit


def fit(
    method: str,
    logits: np.ndarray,
    labels: np.ndarray,
    *,
    lam: float = ODIR,
    mu: float = ODIR,
    n_bins: int = 15,
    tolerance: float = 1e-6,
    max_iter: int = 500,
) -> Recalibrator:
    """Fit ``method`` on val ``logits`` (N, K) and ``labels`` (N,).

    ``tolerance`` (the gradient's largest entry at the optimum) and ``max_iter`` bound the scaling methods' L-BFGS.
    """
    z = np.asarray(logits, dtype=F64)
    y = np.asarray(labels, dtype=np.int64)
    if z.ndim != 2 or y.shape != (z.shape[0],) or z.shape[0] == 0:
        raise ValueError(f"need logits (N, K) and labels (N,) with N > 0 to recalibrate, got {z.shape}, {y.shape}")
    check_finite_logits(z, source="the recalibration-fitting (val) predictions")
    check_labels(y, z.shape[1])
    k = z.shape[1]
    if method == "temperature":
        from videoxai.calibration.temperature import fit_temperature

        t = fit_temperature(z, y).temperature
        return Recalibrator(method, lambda x: softmax(x / t), 1, {"temperature": t})
    if method in ("vector", "matrix"):
        w, b = _affine_fit(z, y, method, lam, mu, tolerance, max_iter)
        return Recalibrator(method, lambda x: softmax(x @ w.T + b), 2 * k if method == "vector" else k * k + k)
    if method == "dirichlet":
        w, b = _affine_fit(log_softmax(z), y, "matrix", lam, mu, tolerance, max_iter)
        return Recalibrator(method, lambda x: softmax(log_softmax(x) @ w.T + b), k * k + k)
    if method == "isotonic":
        return Recalibrator(method, _one_vs_all(softmax(z), y, _isotonic), -1)
    if method == "histogram":
        return Recalibrator(method, _one_vs_all(softmax(z), y, _histogram(n_bins)), k * n_bins)
    raise ValueError(f"unknown recalibration method {method!r}: one of {', '.join(METHODS)}")
