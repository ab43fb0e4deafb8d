"""Post-hoc recalibration beyond temperature scaling, fitted on val logits and applied to any test logits.

Methods (``METHODS``), each a map from logits ``(N, K)`` to probabilities:

- ``temperature``: ``softmax(z / T)`` (Guo et al. 2017; :mod:`videoxai.calibration.temperature`);
- ``vector``: ``softmax(w * z + b)``, per-class scale and bias (Guo et al. 2017), 2K parameters;
- ``matrix``: ``softmax(W z + b)``, K^2 + K parameters, with Kull et al. (2019)'s ODIR penalty
  ``lam * mean(off-diagonal W^2) + mu * mean(b^2)``;
- ``dirichlet``: matrix scaling of the log-probabilities ``log softmax(z)`` (Kull et al. 2019), ODIR too;
- ``isotonic``: one-vs-all isotonic regression of each class's probability (scikit-learn), renormalised;
- ``histogram``: one-vs-all histogram binning (Zadrozny & Elkan 2001): each class's probability replaced by
  the val frequency of its equal-width bin, renormalised;
- ``ets``: ensemble temperature scaling (Zhang, Kailkhura & Han 2020, "Mix-n-Match"),
  ``w1 softmax(z / T) + w2 softmax(z) + w3 / K``: T fitted first, then the weights on the simplex minimising
  the val NLL (``objective="nll"``, the default) or, as the paper does, the val squared error (``"mse"``);
- ``irm``: multi-class isotonic regression (same paper): one isotonic map fitted on every class's probability
  pooled against the one-hot targets, applied to every class, renormalised;
- ``spline``: top-label spline calibration (Gupta et al. 2021): a least-squares cubic spline of the cumulative
  val accuracy against the cumulative top-label probability (val clips sorted by confidence); its slope times
  the confidence is the recalibrated top-label confidence; the other classes are rescaled to fill the rest.

The scaling methods minimise val NLL (+ penalty) with L-BFGS from the identity, on whitened inputs (same optimum). ``ODIR`` strengths are fixed
(``lam = mu = 1e-2`` by default) or chosen by k-fold cross-validation on the fitting split
(:func:`choose_strength`); ``lam = mu = 0`` is plain multinomial logistic regression on the (log-)logits, which
the tests compare with scikit-learn's. :func:`cross_fit` recalibrates each fold of a split with a method fitted on
the other folds (Kull et al. 2019's cross-fitting, where there is no val split).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from videoxai.calibration.scores import check_finite_logits, check_labels, log_softmax

F64 = np.float64
METHODS = ("temperature", "vector", "matrix", "dirichlet", "isotonic", "histogram", "ets", "irm", "spline")
#: the methods with a penalty whose strength :func:`choose_strength` can choose (vector: ``mu`` only)
REGULARISED = ("vector", "matrix", "dirichlet")
ODIR = 1e-2
#: the strengths (``lam = mu``) cross-validation tries by default
ODIR_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


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


def _whitening(x: np.ndarray, diagonal: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, R, R^-1)`` with ``(x - mean) @ R`` of unit covariance (``diagonal``: per-column scales only).

    Directions of (almost) no variance keep a scale near the others' (eigenvalues floored at 1e-6 of the largest), so
    only the data's own correlations are undone; a constant input is left as it is.
    """
    m = x.mean(axis=0)
    xc = x - m
    if diagonal:
        var = (xc**2).mean(axis=0)
        var = np.maximum(var, var.max() * 1e-6) if var.max() > 0 else np.ones_like(var)
        return m, np.diag(1 / np.sqrt(var)), np.diag(np.sqrt(var))
    e, v = np.linalg.eigh(xc.T @ xc / len(x))
    e = np.maximum(e, e.max() * 1e-6) if e.max() > 0 else np.ones_like(e)
    return m, (v / np.sqrt(e)) @ v.T, (v * np.sqrt(e)) @ v.T


def _affine_fit(
    x: np.ndarray, y: np.ndarray, kind: str, lam: float, mu: float, tolerance: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) minimising mean NLL of ``softmax(x W^T + b)`` (+ ODIR); ``kind`` vector: W diagonal.

    L-BFGS runs on whitened inputs ``u = (x - m) R`` (``R`` diagonal for vector scaling): the same objective in the
    coordinates ``W' = W R^-T``, ``c = b + W m``, so the same optimum, reached in far fewer steps where the inputs
    are correlated (Dirichlet's log-probabilities share each clip's log-sum-exp: 500+ steps on raw inputs for
    10^4 x 101, under 100 whitened). The penalty is taken on ``(W, b)`` itself. Objective and gradient are analytic:
    ``dNLL/dW' = (P - Y)^T u / n``.
    """
    from scipy.optimize import minimize

    n, k = x.shape
    vector = kind == "vector"
    m, r, r_inv = _whitening(x, diagonal=vector)
    u = (x - m) * np.diag(r) if vector else (x - m) @ r
    rows = np.arange(n)
    off = ~np.eye(k, dtype=bool)
    n_off = max(int(off.sum()), 1)

    def original(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(W, b) of whitened parameters ``theta = (W', c)``."""
        if vector:
            w = np.diag(theta[:k] * np.diag(r))
        else:
            w = theta[: k * k].reshape(k, k) @ r.T
        return w, theta[-k:] - w @ m

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logits = u * theta[:k] if vector else u @ theta[: k * k].reshape(k, k).T
        logits += theta[-k:]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        total = e.sum(axis=1)
        nll = float((np.log(total) - logits[rows, y]).mean())
        g = e / total[:, None]  # d loss / d logits: (P - Y) / n
        g[rows, y] -= 1.0
        g /= n
        gw = (g * u).sum(axis=0) if vector else g.T @ u
        gc = g.sum(axis=0)
        w, b = original(theta)
        dw = np.zeros_like(w)
        if kind == "matrix" and k > 1:
            nll += lam * float((w[off] ** 2).sum()) / n_off
            dw = lam * 2 * np.where(off, w, 0.0) / n_off
        db = np.zeros_like(b)
        if vector or k > 1:
            nll += mu * float((b**2).mean())
            db = mu * 2 * b / k
        # chain rule through W = W' R^T, b = c - W m: d/dW' = (dW - db m^T) R, d/dc = db
        dpen = (dw - np.outer(db, m)) @ r
        gw = gw + (np.diag(dpen) if vector else dpen)
        return nll, np.concatenate([gw.ravel(), gc + db])

    # the identity map (W = I, b = 0) in whitened coordinates
    start = np.concatenate([np.diag(r_inv) if vector else r_inv.T.ravel(), m])
    result = minimize(
        loss,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tolerance, "ftol": tolerance * 1e-3},
    )
    return original(result.x)


def _one_vs_all(p_val: np.ndarray, y: np.ndarray, fit_column: Callable) -> Callable[[np.ndarray], np.ndarray]:
    k = p_val.shape[1]
    maps = [fit_column(p_val[:, j], (y == j).astype(F64)) for j in range(k)]

    def transform(z: np.ndarray) -> np.ndarray:
        p = softmax(z)
        q = np.stack([m(p[:, j]) for j, m in enumerate(maps)], axis=1)
        return _renormalise(q)  # all-zero rows: uniform

    return transform


def _isotonic(p: np.ndarray, target: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, target)
    return model.predict


def _renormalise(q: np.ndarray) -> np.ndarray:
    """Rows divided by their sums; a row of zeros becomes uniform."""
    total = q.sum(axis=1, keepdims=True)
    return np.where(total > 0, q / np.where(total > 0, total, 1), 1.0 / q.shape[1])


def _irm(p_val: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Zhang et al.'s IRM: one monotone map shared by all classes, fitted on the pooled (probability, one-hot) pairs."""
    k = p_val.shape[1]
    shared = _isotonic(p_val.ravel(), np.eye(k)[y].ravel())
    return lambda z: _renormalise(shared(softmax(z).ravel()).reshape(z.shape))


def _ets(z: np.ndarray, y: np.ndarray, objective: str) -> tuple[float, np.ndarray]:
    """(T, weights) of ensemble temperature scaling: T by NLL, then the simplex weights by ``objective``.

    Both objectives are convex in the weights (NLL: minus the log of a linear function; MSE: a quadratic), so SLSQP
    from ``(1, 0, 0)`` (temperature scaling alone) finds the minimum; it is kept only if it is no worse than there.
    """
    from scipy.optimize import minimize

    from videoxai.calibration.temperature import fit_temperature

    if objective not in ("nll", "mse"):
        raise ValueError(f"ensemble temperature scaling's objective must be 'nll' or 'mse', got {objective!r}")
    t = fit_temperature(z, y).temperature
    n, k = z.shape
    parts = np.stack([softmax(z / t), softmax(z), np.full(z.shape, 1.0 / k)])  # (3, N, K)
    if objective == "nll":
        a = parts[:, np.arange(n), y].T  # (N, 3): each part's probability of the true class

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            p = np.clip(a @ w, 1e-300, None)
            return float(-np.log(p).mean()), -(a / p[:, None]).mean(axis=0)
    else:
        gram = np.einsum("mik,nik->mn", parts, parts) / n
        c = parts[:, np.arange(n), y].mean(axis=1)

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            return float(w @ gram @ w - 2 * c @ w + 1), 2 * gram @ w - 2 * c

    start = np.array([1.0, 0.0, 0.0])
    result = minimize(
        loss,
        start,
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * 3,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(3)}],
        options={"ftol": 1e-12, "maxiter": 200},
    )
    w = np.clip(result.x, 0.0, None)
    w /= w.sum()
    return t, (w if loss(w)[0] <= loss(start)[0] else start)


def _spline(
    p_val: np.ndarray, y: np.ndarray, n_knots: int
) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, float]]:
    """Gupta et al.'s top-label spline: cumulative accuracy A(S) against cumulative confidence S, least squares.

    Sorted by confidence ``s_i``, ``S_i = sum_{j<=i} s_j / N`` and ``A_i = sum_{j<=i} correct_j / N``; their ratio of
    increments ``dA / dS`` is the local accuracy divided by the local confidence, so the recalibrated confidence of a
    score ``s`` is ``s * A'(S(s))`` with ``S(s)`` interpolated between the val scores. Knots sit at equal fractiles;
    fewer (and a lower degree) where there are too few val clips for a cubic with ``n_knots`` knots.
    """
    from scipy.interpolate import make_lsq_spline

    conf = p_val.max(axis=1)
    order = np.argsort(conf, kind="stable")
    s = conf[order]
    correct = (p_val.argmax(axis=1) == y)[order].astype(F64)
    n = len(s)
    x = np.concatenate([[0.0], np.cumsum(s) / n])  # strictly increasing: every confidence is >= 1/K > 0
    a = np.concatenate([[0.0], np.cumsum(correct) / n])
    degree = min(3, n)
    interior = max(0, min(n_knots - 2, n + 1 - (degree + 1)))
    inner = np.quantile(x, np.linspace(0, 1, interior + 2)[1:-1]) if interior else np.zeros(0)
    knots = np.concatenate([[x[0]] * (degree + 1), inner, [x[-1]] * (degree + 1)])
    slope = make_lsq_spline(x, a, knots, k=degree).derivative()

    def transform(z: np.ndarray) -> np.ndarray:
        p = softmax(z)
        rows = np.arange(len(p))
        top = p.argmax(axis=1)
        c = p[rows, top]
        new = np.clip(c * slope(np.interp(c, s, x[1:])), 0.0, 1.0)
        rest = p.copy()
        rest[rows, top] = 0.0
        runner_up = rest.max(axis=1)
        # the top label stays on top: its confidence above the runner-up's rescaled probability (1e-9: no tie,
        # which argmax would break towards the lower class index)
        floor = runner_up / np.maximum(1.0 - c + runner_up, 1e-300)
        new = np.minimum(np.maximum(new, np.where(runner_up > 0, floor + 1e-9, 0.0)), 1.0)
        others = rest.sum(axis=1)
        k = p.shape[1]
        share = np.where(others[:, None] > 0, rest / np.where(others > 0, others, 1)[:, None], 1.0 / max(k - 1, 1))
        share[rows, top] = 0.0
        out = share * (1.0 - new)[:, None]
        out[rows, top] = new
        return out

    return transform, {"knots": float(interior + 2), "degree": float(degree)}


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
    objective: str = "nll",
    n_knots: int = 6,
) -> Recalibrator:
    """Fit ``method`` on val ``logits`` (N, K) and ``labels`` (N,).

    ``tolerance`` (the gradient's largest entry at the optimum, in the whitened coordinates :func:`_affine_fit`
    optimises in) and ``max_iter`` bound the scaling methods' L-BFGS;
    ``objective`` is ensemble temperature scaling's weight criterion (``nll`` or ``mse``); ``n_knots`` the
    spline's knots, ends included (Gupta et al. use 6). ``info`` holds what was fitted or chosen.
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
    penalty = {"mu": mu} if method == "vector" else {"lam": lam, "mu": mu}
    if method in ("vector", "matrix"):
        w, b = _affine_fit(z, y, method, lam, mu, tolerance, max_iter)
        parameters = 2 * k if method == "vector" else k * k + k
        return Recalibrator(method, lambda x: softmax(x @ w.T + b), parameters, penalty)
    if method == "dirichlet":
        w, b = _affine_fit(log_softmax(z), y, "matrix", lam, mu, tolerance, max_iter)
        return Recalibrator(method, lambda x: softmax(log_softmax(x) @ w.T + b), k * k + k, penalty)
    if method == "isotonic":
        return Recalibrator(method, _one_vs_all(softmax(z), y, _isotonic), -1)
    if method == "histogram":
        return Recalibrator(method, _one_vs_all(softmax(z), y, _histogram(n_bins)), k * n_bins)
    if method == "ets":
        t, weights = _ets(z, y, objective)

        def mix(x: np.ndarray) -> np.ndarray:
            return weights[0] * softmax(x / t) + weights[1] * softmax(x) + weights[2] / x.shape[1]

        info = {"temperature": t, "w_scaled": weights[0], "w_raw": weights[1], "w_uniform": weights[2]}
        return Recalibrator(method, mix, 3, info)
    if method == "irm":
        return Recalibrator(method, _irm(softmax(z), y), -1)
    if method == "spline":
        transform, info = _spline(softmax(z), y, n_knots)
        return Recalibrator(method, transform, int(info["knots"]) + int(info["degree"]) - 1, info)
    raise ValueError(f"unknown recalibration method {method!r}: one of {', '.join(METHODS)}")


def choose_strength(
    method: str,
    logits: np.ndarray,
    labels: np.ndarray,
    grid: Sequence[float] = ODIR_GRID,
    folds: int = 5,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[float, dict[float, float]]:
    """The penalty strength (``lam = mu``) of ``grid`` with the lowest held-out NLL over ``folds`` folds of the
    fitting split, and the held-out NLL of each; Kull et al. (2019) choose theirs by cross-validation too.

    Folds are a seeded shuffle of the clips (scikit-learn's ``KFold``), at most one per clip.
    """
    from sklearn.model_selection import KFold

    if method not in REGULARISED:
        raise ValueError(f"{method!r} has no penalty to choose: only {', '.join(REGULARISED)}")
    z = np.asarray(logits, dtype=F64)
    y = np.asarray(labels, dtype=np.int64)
    k = min(int(folds), len(y))
    if k < 2 or not grid:
        raise ValueError(f"cross-validating {method}'s penalty needs 2 clips and a grid, got {len(y)} and {grid!r}")
    splits = list(KFold(n_splits=k, shuffle=True, random_state=seed).split(z))
    held_out: dict[float, float] = {}
    for strength in grid:
        total = 0.0
        for train, test in splits:
            p = fit(method, z[train], y[train], lam=strength, mu=strength, **kwargs).probs(z[test])
            total -= np.log(np.clip(p[np.arange(len(test)), y[test]], 1e-12, None)).sum()
        held_out[float(strength)] = total / len(y)
    best = min(held_out, key=lambda s: (held_out[s], -s))  # ties: the stronger penalty
    return best, held_out


def fold_of(sample_ids: Sequence[str], reference_ids: Sequence[str], folds: int, seed: int = 0) -> np.ndarray:
    """Each clip's fold in ``0 .. folds - 1``: a seeded shuffle of the sorted ``reference_ids`` dealt round-robin, so
    the same clip has the same fold in every split that shares those ids (clean and corrupted); a clip not among
    them gets a fold from a hash of its id."""
    import hashlib

    ref = sorted(set(reference_ids))
    perm = np.random.default_rng(seed).permutation(len(ref))
    dealt = {ref[i]: r % folds for r, i in enumerate(perm)}

    def hashed(sid: str) -> int:
        return int.from_bytes(hashlib.blake2b(f"{seed}:{sid}".encode(), digest_size=8).digest(), "big") % folds

    return np.array([dealt[s] if s in dealt else hashed(s) for s in sample_ids], dtype=np.int64)


def cross_fit(
    fitter: Callable[[np.ndarray, np.ndarray], Recalibrator],
    fit_logits: np.ndarray,
    fit_labels: np.ndarray,
    fit_folds: np.ndarray,
    logits: np.ndarray,
    folds_of_rows: np.ndarray,
) -> tuple[np.ndarray, list[Recalibrator]]:
    """Kull et al. (2019)'s cross-fitting: rows of fold f recalibrated by ``fitter`` on the fitting rows outside f.

    ``fit_*`` are the clips methods are fitted on (the split itself, or its clean form for a corrupted split, with
    the same folds); returns the probabilities of every row and the fitted method of each fold that has rows.
    """
    z = np.asarray(logits, dtype=F64)
    out = np.empty_like(z)
    fitted = []
    for f in np.unique(folds_of_rows):
        rows = folds_of_rows == f
        keep = fit_folds != f
        if not keep.any():
            raise ValueError(f"cross-fitting: fold {f} holds every fitting clip, none is left to fit on")
        r = fitter(fit_logits[keep], fit_labels[keep])
        out[rows] = r.probs(z[rows])
        fitted.append(r)
    return out, fitted
