"""Calibration metrics against their definitions, and the bin-edge conventions at the edges."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videoxai.calibration import (
    NonFiniteLogitsError,
    Scores,
    accuracy,
    adaptive_calibration_error,
    brier_score,
    calibration_error,
    classwise_calibration_error,
    negative_log_likelihood,
    top_label,
)
from videoxai.calibration.binned import Adaptive, Classwise, EqualWidth
from videoxai.calibration.binning import EqualMass, equal_width_bins, equal_width_edges


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _data(n: int, k: int, seed: int, scale: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * scale
    labels = rng.integers(0, k, n)
    logits[np.arange(n // 2), labels[: n // 2]] += 3.0  # half the rows lean towards the label
    return logits, labels


# ---------------------------------------------------------------- reference definitions, written as loops


def ref_binned(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> tuple[float, float, float]:
    """ECE, RMS-CE, MCE from the textbook definition, bins [lo, hi) with the last one closed."""
    edges = np.linspace(0, 1, n_bins + 1)
    ece = rms = mce = 0.0
    n = len(conf)
    for b in range(n_bins):
        lo, hi = edges[b], edges[b + 1]
        m = (conf >= lo) & ((conf < hi) if b < n_bins - 1 else (conf <= hi))
        if m.sum() == 0:
            continue
        gap = abs(conf[m].mean() - correct[m].mean())
        ece += m.sum() / n * gap
        rms += m.sum() / n * gap**2
        mce = max(mce, gap)
    return ece, np.sqrt(rms), mce


def ref_classwise(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    k = probs.shape[1]
    total = 0.0
    for c in range(k):
        y = (labels == c).astype(float)
        ece, _, _ = ref_binned(probs[:, c], y, n_bins)
        total += ece
    return total / k


# ---------------------------------------------------------------- per-sample metrics


def test_accuracy_nll_brier_match_definitions():
    logits, labels = _data(300, 7, 0)
    p = _softmax(logits)
    n = len(labels)
    assert accuracy(p, labels) == pytest.approx(np.mean(p.argmax(1) == labels), abs=1e-15)
    nll = -np.mean(np.log(p[np.arange(n), labels]))
    assert negative_log_likelihood(logits, labels) == pytest.approx(nll, abs=1e-12)
    onehot = np.eye(7)[labels]
    assert brier_score(p, labels) == pytest.approx(np.mean(((p - onehot) ** 2).sum(1)), abs=1e-12)


def test_nll_from_logits_is_finite_where_softmax_underflows():
    logits = np.array([[0.0, 2000.0], [1.0, 0.0]])
    labels = np.array([0, 0])
    assert np.isfinite(negative_log_likelihood(logits, labels))
    assert negative_log_likelihood(logits, labels) == pytest.approx((2000.0 + np.log1p(np.exp(-1.0))) / 2)


def test_top_label_takes_first_maximum_on_ties():
    conf, correct = top_label(np.array([[0.4, 0.4, 0.2]]), np.array([0]))
    assert conf.item() == 0.4 and bool(correct.item())


def test_non_finite_logits_error_names_the_samples():
    logits = np.zeros((6, 3))
    logits[2, 1] = np.nan
    logits[4, 0] = np.inf
    ids = [f"clip_{i}.avi" for i in range(6)]
    with pytest.raises(NonFiniteLogitsError, match=r"2 sample\(s\).*clip_2\.avi, clip_4\.avi"):
        Scores.from_logits(logits, np.zeros(6, dtype=int), sample_ids=ids)


def test_labels_out_of_range_are_rejected():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        Scores.from_logits(np.zeros((2, 3)), np.array([0, 3]))


# ---------------------------------------------------------------- equal-width binning at its edges


@pytest.mark.parametrize("n_bins", [1, 2, 5, 10, 15, 20])
def test_equal_width_edges_go_to_the_upper_bin_and_one_to_the_last(n_bins):
    edges = equal_width_edges(n_bins)
    bins = equal_width_bins(torch.as_tensor(edges), n_bins).tolist()
    # every interior edge opens its bin; 0 is in the first bin, 1 in the last
    assert bins == list(range(n_bins)) + [n_bins - 1]
    below = torch.as_tensor(np.nextafter(edges[1:-1], -1.0))
    assert equal_width_bins(below, n_bins).tolist() == list(range(n_bins - 1))


def test_binned_errors_match_the_definition():
    logits, labels = _data(1000, 10, 1)
    conf, correct = top_label(_softmax(logits), labels)
    for n_bins in (1, 4, 15, 33):
        want = ref_binned(conf, correct.astype(float), n_bins)
        got = [calibration_error(conf, correct, n_bins, norm) for norm in ("l1", "l2", "max")]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_confidence_zero_and_one_are_counted():
    conf = np.array([0.0, 0.0, 1.0, 1.0, 0.5])
    correct = np.array([0, 1, 1, 0, 1])
    counts, _ = EqualWidth(torch.as_tensor(conf), torch.as_tensor(correct), 10).sums()
    assert counts[0] == 2 and counts[9] == 2 and counts.sum() == 5
    # bin 0: conf 0, acc 0.5; bin 9: conf 1, acc 0.5; bin 5: conf .5, acc 1
    assert calibration_error(conf, correct, 10) == pytest.approx((2 * 0.5 + 2 * 0.5 + 0.5) / 5)
    assert calibration_error(conf, correct, 10, "max") == pytest.approx(0.5)


def test_bin_table_columns_are_consistent():
    logits, labels = _data(500, 5, 2)
    conf, correct = top_label(_softmax(logits), labels)
    t = EqualWidth(conf, correct, 15).table()
    occ = t["count"] > 0
    assert t["count"].sum() == 500
    np.testing.assert_allclose((t["mean_confidence"] - t["accuracy"])[occ], t["gap"][occ], atol=1e-15)
    assert np.isnan(t["gap"][~occ]).all()
    np.testing.assert_allclose(t["lower"], equal_width_edges(15)[:-1])


def test_invalid_options_say_what_to_fix():
    with pytest.raises(ValueError, match="n-bins"):
        calibration_error([0.5], [1], n_bins=0)
    with pytest.raises(ValueError, match="norm must be"):
        calibration_error([0.5], [1], norm="l3")


# ---------------------------------------------------------------- equal-mass binning


def test_equal_mass_sizes_differ_by_at_most_one_without_ties():
    conf = torch.as_tensor(np.random.default_rng(3).uniform(size=103))
    for n_bins in (1, 7, 10, 103):
        sizes = np.bincount(EqualMass(conf, n_bins).bins(), minlength=n_bins)
        assert sizes.sum() == 103 and int(sizes.max() - sizes.min()) <= 1


def test_equal_mass_keeps_ties_together_whatever_the_row_order():
    conf = np.array([0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.8, 0.9, 0.95])
    correct = np.array([0, 1, 1, 0, 1, 1, 0, 1, 1, 1])
    m = EqualMass(torch.as_tensor(conf), 5)
    bins = m.bins()
    # sorted positions 2..6 share 0.3; position 2 -> bin floor(5*2/10) = 1 for all of them
    assert bins.tolist() == [0, 0, 1, 1, 1, 1, 1, 3, 4, 4]
    values = set()
    rng = np.random.default_rng(0)
    for _ in range(10):
        perm = rng.permutation(10)
        values.add(round(adaptive_calibration_error(conf[perm], correct[perm], 5), 15))
    assert len(values) == 1


def test_adaptive_ece_matches_sorted_split_definition():
    rng = np.random.default_rng(4)
    conf = rng.uniform(0.2, 1.0, 600)
    correct = (rng.uniform(size=600) < conf**1.5).astype(float)
    order = np.argsort(conf)
    want = sum(abs(conf[g].sum() - correct[g].sum()) for g in np.array_split(order, 12)) / 600
    assert adaptive_calibration_error(conf, correct, 12) == pytest.approx(want, abs=1e-12)
    t = Adaptive(torch.as_tensor(conf), torch.as_tensor(correct), 12).table()
    assert (t["count"] == 50).all()
    assert (t["lower"][1:] > t["upper"][:-1]).all()


# ---------------------------------------------------------------- class-wise ECE


@pytest.mark.parametrize("n_bins", [1, 3, 15])
def test_classwise_matches_the_loop_definition(n_bins):
    logits, labels = _data(400, 6, 5, scale=3.0)
    p = _softmax(logits)
    assert classwise_calibration_error(p, labels, n_bins) == pytest.approx(ref_classwise(p, labels, n_bins), abs=1e-12)


def test_classwise_handles_exact_edges_zeros_and_ones():
    # probabilities exactly on the edges of 5 bins, exact zeros and a one-hot row
    p = np.array([[0.2, 0.8, 0.0], [0.4, 0.4, 0.2], [0.0, 0.0, 1.0], [0.6, 0.2, 0.2], [1.0, 0.0, 0.0]])
    labels = np.array([1, 0, 2, 2, 1])
    assert classwise_calibration_error(p, labels, 5) == pytest.approx(ref_classwise(p, labels, 5), abs=1e-15)


def test_classwise_float32_chunked_equals_float64_single_chunk():
    logits, labels = _data(2000, 40, 6, scale=4.0)
    p64 = _softmax(logits)
    p32 = torch.as_tensor(p64.astype(np.float32))
    one = Classwise(torch.as_tensor(p32.double()), torch.as_tensor(labels), 15, chunk_rows=10**9).error()
    chunked = Classwise(p32, torch.as_tensor(labels), 15, chunk_rows=97).error()
    assert float(chunked) == pytest.approx(float(one), abs=1e-9)
    assert float(one) == pytest.approx(ref_classwise(p32.double().numpy(), labels, 15), abs=1e-12)
