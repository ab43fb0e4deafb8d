"""The recalibration zoo against scikit-learn's fits and its own definitions, on overconfident synthetic logits."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from videoxai.calibration import zoo
from videoxai.calibration.metrics import negative_log_likelihood
from videoxai.calibration.scores import log_softmax


def _data(n: int, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a model that is right ~70% of the time and three times too sharp, one class biased."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    z = rng.normal(0, 1, (n, k))
    z[np.arange(n), y] += 1.5
    z[:, 0] += 0.7
    return 3 * z, y


def _nll(p: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(p[np.arange(len(y)), y]).mean())


@pytest.mark.parametrize("method,features", [("matrix", lambda z: z), ("dirichlet", log_softmax)])
def test_unregularised_matrix_and_dirichlet_are_multinomial_logistic_regression(method, features) -> None:
    z, y = _data(600)
    ours = zoo.fit(method, z, y, lam=0.0, mu=0.0, tolerance=1e-12, max_iter=5000)
    reference = LogisticRegression(C=np.inf, max_iter=10000, tol=1e-12).fit(features(z), y)
    test, _ = _data(200, seed=1)
    assert np.abs(ours.probs(test) - reference.predict_proba(features(test))).max() < 1e-5


def test_every_method_lowers_the_nll_of_overconfident_logits() -> None:
    z, y = _data(2000)
    test, ty = _data(2000, seed=1)
    before = negative_log_likelihood(test, ty)
    for method in zoo.METHODS:
        r = zoo.fit(method, z, y)
        p = r.probs(test)
        assert p.shape == test.shape and np.allclose(p.sum(axis=1), 1)
        assert _nll(np.clip(p, 1e-12, 1), ty) < before, method


def test_vector_scaling_fits_a_scale_and_bias_per_class() -> None:
    z, y = _data(2000)
    r = zoo.fit("vector", z, y, mu=0.0)
    assert r.parameters == 10
    # the fitted map is softmax(w * z + b): read b at z = 0 and w from unit inputs, then predict a third input
    p0 = r.probs(np.zeros((1, 5)))[0]
    b = np.log(p0)
    w = np.array([np.log(r.probs(np.eye(5)[j : j + 1])[0, j] / p0[j]) for j in range(5)])
    w -= np.log(np.array([r.probs(np.eye(5)[j : j + 1])[0, (j + 1) % 5] / p0[(j + 1) % 5] for j in range(5)]))
    x = np.random.default_rng(3).normal(size=(1, 5))
    lp = np.log(r.probs(x)[0])
    assert np.allclose(lp - lp.mean(), (w * x[0] + b) - (w * x[0] + b).mean(), atol=1e-8)
    assert 0 < w.mean() < 1  # three times too sharp: the scale comes out below one
    assert b[0] < b[1:].min()  # class 0 is favoured on val: its bias is taken back


def test_matrix_penalty_shrinks_off_diagonal_weights() -> None:
    z, y = _data(100, k=8)
    free = zoo.fit("matrix", z, y, lam=0.0, mu=0.0)
    odir = zoo.fit("matrix", z, y, lam=10.0, mu=10.0)
    test, ty = _data(2000, k=8, seed=1)
    # 72 parameters from 100 clips overfit; the penalty generalises better
    assert _nll(odir.probs(test), ty) < _nll(free.probs(test), ty)


def test_histogram_binning_is_the_val_frequency_of_each_bin() -> None:
    z, y = _data(3000)
    r = zoo.fit("histogram", z, y, n_bins=10)
    p = np.exp(log_softmax(z))
    test, _ = _data(5, seed=1)
    q = np.exp(log_softmax(test))
    expected = np.empty_like(q)
    for j in range(5):
        for i in range(5):
            lo = min(int(q[i, j] * 10), 9) / 10
            inside = (p[:, j] >= lo) & ((p[:, j] < lo + 0.1) | (lo == 0.9))
            expected[i, j] = (y[inside] == j).mean()
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(r.probs(test), expected)


def test_isotonic_is_monotone_in_each_class_probability() -> None:
    z, y = _data(2000)
    r = zoo.fit("isotonic", z, y)
    grid = np.zeros((50, 5))
    grid[:, 0] = np.linspace(-10, 10, 50)  # class 0's probability rises along the grid, the others' fall alike
    p = r.probs(grid)
    assert np.all(np.diff(p[:, 0]) >= -1e-12)


def test_bad_input_and_unknown_methods_are_errors() -> None:
    z, y = _data(10)
    with pytest.raises(ValueError, match="unknown recalibration method 'platt'"):
        zoo.fit("platt", z, y)
    with pytest.raises(ValueError, match="need logits"):
        zoo.fit("vector", z[:, 0], y)
