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


@pytest.mark.parametrize("kind", ["vector", "matrix"])
@pytest.mark.parametrize("features", [lambda z: z + 5.0, log_softmax], ids=["shifted-logits", "log-probabilities"])
def test_penalised_scaling_reaches_a_stationary_point_of_the_penalised_nll(kind, features) -> None:
    """The fit runs in whitened coordinates; the gradient of the objective itself, in (W, b), is zero at its result."""
    z, y = _data(800, k=6)
    x = features(z)
    lam, mu = 0.05, 0.02
    w, b = zoo._affine_fit(x, y, kind, lam, mu, tolerance=1e-10, max_iter=5000)
    n, k = x.shape
    g = zoo.softmax(x @ w.T + b) - np.eye(k)[y]
    gw, gb = g.T @ x / n, g.mean(axis=0) + mu * 2 * b / k
    off = ~np.eye(k, dtype=bool)
    if kind == "vector":
        assert np.allclose(w, np.diag(np.diag(w)))
        gw = np.diag(gw)
    else:
        gw = gw + lam * 2 * np.where(off, w, 0) / off.sum()
    assert max(np.abs(gw).max(), np.abs(gb).max()) < 1e-6


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


def _noisy(n: int, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Overconfident logits with a fifth of the labels redrawn at random: confidently wrong clips that one
    temperature cannot soften without flattening the right ones (what ensemble temperature scaling's mix is for)."""
    z, y = _data(n, k, seed)
    rng = np.random.default_rng(seed + 100)
    flip = rng.random(n) < 0.2
    return z, np.where(flip, rng.integers(0, k, n), y)


@pytest.mark.parametrize("objective", ["nll", "mse"])
def test_ensemble_temperature_scaling_mixes_scaled_raw_and_uniform(objective: str) -> None:
    z, y = _noisy(3000)
    ets = zoo.fit("ets", z, y, objective=objective)
    ts = zoo.fit("temperature", z, y)
    info = ets.info
    w = np.array([info["w_scaled"], info["w_raw"], info["w_uniform"]])
    assert np.all(w >= 0) and w.sum() == pytest.approx(1) and info["temperature"] == ts.info["temperature"]
    # the map is the mix it names
    test, ty = _noisy(500, seed=1)
    expected = w[0] * ts.probs(test) + w[1] * np.exp(log_softmax(test)) + w[2] / 5
    p = ets.probs(test)
    assert np.allclose(p, expected) and np.allclose(p.sum(axis=1), 1)
    # every part ranks the classes as the logits do, so the top label never changes
    assert np.array_equal(p.argmax(axis=1), test.argmax(axis=1))
    if objective == "nll":  # the weights minimise val NLL; temperature scaling alone is the corner (1, 0, 0)
        assert _nll(ets.probs(z), y) < _nll(ts.probs(z), y) - 1e-3
        assert w[2] > 0.01
    else:  # the paper's criterion: val squared error (the Brier score) below temperature scaling's
        brier = [((r.probs(z) - np.eye(5)[y]) ** 2).sum(axis=1).mean() for r in (ets, ts)]
        assert brier[0] < brier[1]
    with pytest.raises(ValueError, match="objective"):
        zoo.fit("ets", z, y, objective="ece")


def test_multiclass_isotonic_is_one_isotonic_regression_on_the_pooled_classes() -> None:
    from sklearn.isotonic import IsotonicRegression

    z, y = _data(1500)
    r = zoo.fit("irm", z, y)
    p = np.exp(log_softmax(z))
    reference = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p.ravel(), np.eye(5)[y].ravel())
    test, _ = _data(300, seed=1)
    q = reference.predict(np.exp(log_softmax(test)).ravel()).reshape(test.shape)
    assert np.abs(r.probs(test) - q / q.sum(axis=1, keepdims=True)).max() < 1e-6
    # one map for all classes: equal probabilities in different classes get equal values before renormalising
    p_test = np.exp(log_softmax(test))
    assert not np.allclose(r.probs(test), zoo.fit("isotonic", z, y).probs(test))  # not one-vs-all
    assert np.allclose(r.probs(test).sum(axis=1), 1) and p_test.shape == r.probs(test).shape


def _top_label_data(n: int, sharpen: float, seed: int = 0, k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits whose top-label confidence is s ~ U(0.5, 1) while the top label is right with probability s**sharpen
    (1: calibrated; above 1: overconfident); the rest of each row is a random split of 1 - s."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.5, 1.0, n)
    p = rng.dirichlet(np.ones(k - 1), n) * (1 - s)[:, None]
    top = rng.integers(0, k, n)
    probs = np.empty((n, k))
    for i in range(n):
        probs[i] = np.insert(p[i], top[i], s[i])
    right = rng.random(n) < s**sharpen
    others = (top + rng.integers(1, k, n)) % k
    return np.log(probs), np.where(right, top, others), s


def test_spline_leaves_calibrated_confidences_and_lowers_overconfident_ones() -> None:
    z, y, _ = _top_label_data(6000, 1.0)
    test, _, s = _top_label_data(2000, 1.0, seed=1)
    calibrated = zoo.fit("spline", z, y).probs(test)
    assert np.allclose(calibrated.sum(axis=1), 1) and np.array_equal(calibrated.argmax(axis=1), test.argmax(axis=1))
    assert np.abs(calibrated.max(axis=1) - s).mean() < 0.03
    z, y, _ = _top_label_data(6000, 3.0)
    test, ty, s = _top_label_data(2000, 3.0, seed=1)
    over = zoo.fit("spline", z, y).probs(test)
    conf = over.max(axis=1)
    assert conf.mean() < s.mean() - 0.1
    # the true accuracy at each confidence, unless that would put the runner-up (rescaled) on top
    runner_up = np.sort(np.exp(test), axis=1)[:, -2]
    assert np.abs(conf - np.maximum(s**3, runner_up / (1 - s + runner_up))).mean() < 0.03
    # the other classes share the rest in their old proportions
    rest = np.exp(test)
    rest[np.arange(len(rest)), rest.argmax(axis=1)] = 0
    shrunk = over.copy()
    shrunk[np.arange(len(shrunk)), shrunk.argmax(axis=1)] = 0
    assert np.allclose(shrunk / shrunk.sum(axis=1, keepdims=True), rest / rest.sum(axis=1, keepdims=True))


def test_spline_fits_with_very_few_clips() -> None:
    for n in (1, 2, 3, 8):
        z, y, _ = _top_label_data(n, 1.0)
        p = zoo.fit("spline", z, y).probs(z)
        assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1)


def test_cross_validation_picks_the_strength_with_the_lowest_held_out_nll() -> None:
    z, y = _data(120, k=8)
    grid = (0.0, 1e-2, 10.0)
    best, held_out = zoo.choose_strength("matrix", z, y, grid=grid, folds=4, seed=0)
    assert set(held_out) == set(grid) and held_out[best] == min(held_out.values())
    # 72 parameters from 90 clips a fold: no penalty overfits
    assert best > 0 and held_out[0.0] > held_out[best]
    # the held-out NLL is what the folds say: recompute one
    from sklearn.model_selection import KFold

    total = 0.0
    for train, test in KFold(4, shuffle=True, random_state=0).split(z):
        p = zoo.fit("matrix", z[train], y[train], lam=10.0, mu=10.0).probs(z[test])
        total -= np.log(p[np.arange(len(test)), y[test]]).sum()
    assert held_out[10.0] == pytest.approx(total / len(y))
    with pytest.raises(ValueError, match="no penalty"):
        zoo.choose_strength("isotonic", z, y)


def test_cross_fitting_never_uses_a_clip_to_recalibrate_itself() -> None:
    z, y = _data(400)
    ids = [f"clip{i:03d}" for i in range(len(y))]
    folds = zoo.fold_of(ids, ids, 5, seed=0)
    assert sorted(np.bincount(folds)) == [80] * 5
    assert np.array_equal(folds, zoo.fold_of(ids, list(reversed(ids)), 5, seed=0))  # by id, not by row order
    probs, fitted = zoo.cross_fit(lambda a, b: zoo.fit("temperature", a, b), z, y, folds, z, folds)
    assert len(fitted) == 5
    for f in range(5):
        t = zoo.fit("temperature", z[folds != f], y[folds != f])
        assert np.allclose(probs[folds == f], t.probs(z[folds == f]))
    # a corrupted split's clips take their clean twin's fold; an id missing from the fitting split still gets one
    extra = zoo.fold_of([*ids[:3], "new"], ids, 5, seed=0)
    assert np.array_equal(extra[:3], folds[:3]) and 0 <= extra[3] < 5
