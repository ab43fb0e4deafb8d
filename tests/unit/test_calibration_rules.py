"""Conventions are parameters of the one set of estimators: each field of the record does what it says, alone."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.unit.test_calibration_prompt_tuning import case_logits, load_case
from videoxai.calibration import (
    adaptive_calibration_error,
    calibration_error,
    classwise_calibration_error,
    point_metrics,
)
from videoxai.calibration.binned import Adaptive, Classwise, EqualWidth
from videoxai.calibration.binning import EqualMass, bin_edges, equal_width_bins
from videoxai.calibration.rules import PARAMS, BinningRule, ConventionParams, binning_rule, convention_params
from videoxai.calibration.scores import Scores
from videoxai.calibration.suite import MetricSuite, metric_suite
from videoxai.conventions import CONVENTIONS

PT = PARAMS["prompt-tuning"].binning
STD = BinningRule()


def test_every_convention_has_one_record_and_records_are_frozen():
    assert set(PARAMS) == set(CONVENTIONS)
    assert PARAMS["standard"] == ConventionParams() and PARAMS["standard"].binning == STD
    assert convention_params("prompt-tuning") is PARAMS["prompt-tuning"]
    assert binning_rule("prompt-tuning") is PT and binning_rule(PT) is PT
    with pytest.raises(dataclasses.FrozenInstanceError):
        PT.closed = "left"  # type: ignore[misc]
    with pytest.raises(ValueError, match="^BinningRule.closed must be one of left, right, got 'both'$"):
        BinningRule(closed="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^ConventionParams.softmax must be float64 or float32, got 'float16'$"):
        ConventionParams(softmax="float16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'seed' is now called 'prompt-tuning'"):
        convention_params("seed")


def test_edge_dtype_and_closed_side_decide_edge_values_alone():
    values = np.array([0.0, 0.2, 1 / 3, 0.4, 0.8, 1.0])
    edges64, edges32 = bin_edges(15), bin_edges(15, PT)
    assert edges64.dtype == np.float64 and edges32.dtype == np.float32
    left = equal_width_bins(values, 15)
    right = equal_width_bins(values, 15, BinningRule(closed="right"))
    # on an edge: [lo, hi) puts it in the bin above, (lo, hi] in the bin below; 0 is in no bin under (lo, hi]
    assert left.tolist() == [0, 3, 5, 6, 12, 14]
    assert right.tolist() == [15, 2, 4, 5, 11, 14]
    # float32 edges: 0.2, 0.4 sit one ulp above their float32 values, so those confidences fall below them
    f32_left = equal_width_bins(values.astype(np.float32), 15, BinningRule(edge_dtype="float32"))
    assert f32_left.tolist() == [0, 2, 5, 5, 12, 14]


@pytest.mark.parametrize("sizes", ["balanced", "floor"])
@pytest.mark.parametrize("ties", ["shared", "row-order"])
def test_equal_mass_rules_resample_like_repeating_rows(sizes, ties):
    """Every combination of the equal-mass rule and tie order: integer weights are the expanded data."""
    rng = np.random.default_rng(7)
    conf = np.round(rng.uniform(0.3, 1.0, 61), 1)  # many ties
    correct = rng.uniform(size=61) < conf
    rule = BinningRule(equal_mass=sizes, ties=ties)
    est = Adaptive(conf, correct, 7, rule)
    counts = rng.multinomial(61, np.full(61, 1 / 61), size=5)
    batched_counts, batched_res = est.sums(counts)
    for row, c in enumerate(counts):
        idx = np.repeat(np.arange(61), c)
        direct_counts, direct_res = Adaptive(conf[idx], correct[idx], 7, rule).sums()
        np.testing.assert_allclose(batched_counts[row], direct_counts, atol=0)
        np.testing.assert_allclose(batched_res[row], direct_res, atol=1e-12)


def test_equal_mass_sizes_and_ties():
    conf = np.array([0.9, 0.5, 0.5, 0.5, 0.6, 0.7, 0.8, 0.95, 0.99, 0.3, 0.4])  # N = 11, a tie of three
    sizes = {}
    for equal_mass in ("balanced", "floor"):
        for ties in ("shared", "row-order"):
            bins = EqualMass(conf, 3, BinningRule(equal_mass=equal_mass, ties=ties)).bins()
            sizes[equal_mass, ties] = np.bincount(bins, minlength=3).tolist()
    assert sizes["balanced", "row-order"] == [4, 4, 3]  # floor(3 r / 11)
    assert sizes["floor", "row-order"] == [3, 3, 5]  # 11 // 3 each, the rest in the last
    assert sizes["balanced", "shared"] == [5, 3, 3]  # the tie (positions 2-4) stays in bin 0
    assert sizes["floor", "shared"] == [5, 1, 5]
    shuffled = np.random.default_rng(0).permutation(11)
    for equal_mass in ("balanced", "floor"):  # shared ties: the result does not depend on the row order
        rule = BinningRule(equal_mass=equal_mass)
        a = Adaptive(conf, conf > 0.55, 3, rule).error()
        b = Adaptive(conf[shuffled], (conf > 0.55)[shuffled], 3, rule).error()
        assert a == b


def test_empty_bins_and_bin_accuracy_change_only_the_table():
    rng = np.random.default_rng(3)
    conf = rng.uniform(0.6, 1.0, 200).astype(np.float32).astype(np.float64)
    correct = rng.uniform(size=200) < conf
    nan_rule = BinningRule()
    centre_rule = BinningRule(empty_bins="centre", bin_accuracy="mean")
    a, b = EqualWidth(conf, correct, 10, nan_rule), EqualWidth(conf, correct, 10, centre_rule)
    assert {k: float(v) for k, v in a.errors().items()} == {k: float(v) for k, v in b.errors().items()}
    ta, tb = a.table(), b.table()
    empty = ta["count"] == 0
    assert empty[:6].all() and not empty[6:].any()
    assert np.isnan(ta["accuracy"][empty]).all() and (tb["accuracy"][empty] == 0).all()
    np.testing.assert_allclose(tb["mean_confidence"][empty], (np.arange(6) + 0.5) / 10, atol=1e-15)
    # occupied bins: the same numbers, formed either way (accuracy exactly k / n under "mean")
    np.testing.assert_allclose(ta["accuracy"][~empty], tb["accuracy"][~empty], rtol=0, atol=1e-15)
    hits = np.bincount(equal_width_bins(conf, 10), weights=correct, minlength=10)
    assert (tb["accuracy"][~empty] == hits[~empty] / tb["count"][~empty]).all()


def test_classwise_zero_probabilities_are_in_no_bin_only_when_bins_close_on_the_right():
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.2, 0.8, 0.0]])
    labels = np.array([1, 1, 2])  # rows 0 and 2 put 0 on their true class
    left = Classwise(probs, labels, 5).error()
    right = Classwise(probs, labels, 5, rule=BinningRule(closed="right")).error()
    # left, [lo, hi): per (class, bin) cell, residual p - y summed, by hand
    # class 0: bin 0 {0 (row 1)} -> 0; bin 1 {0.2 (row 2), on an edge} -> 0.2; bin 4 {1.0 (row 0)} -> 1.0
    # class 1: bin 0 {0 - 1 (row 0)} -> -1; bin 2 {0.5 - 1} -> -0.5; bin 4 {0.8} -> 0.8
    # class 2: bin 0 {0 (row 0), 0 - 1 (row 2)} -> -1; bin 2 {0.5} -> 0.5
    assert float(left) == pytest.approx((0.2 + 1.0 + 1 + 0.5 + 0.8 + 1 + 0.5) / 9, abs=1e-15)
    # right: zeros in no bin, 0.2 is on an edge and goes to the bin below
    assert float(right) == pytest.approx((0.2 + 1.0 + 0.5 + 0.8 + 0.5) / 9, abs=1e-15)


def test_the_functions_take_the_rule_like_torchmetrics_takes_norm():
    """The functional API and the suite are one estimator: the same numbers for either convention."""
    logits, labels, temperature, expected, _ = case_logits("a")
    for convention in CONVENTIONS:
        suite = metric_suite(logits, labels, 15, convention, temperature)
        s, got = suite.scores, suite.point()
        assert calibration_error(s.confidence, s.correct, 15, binning=convention) == got["ece"]
        assert calibration_error(s.confidence, s.correct, 15, "max", binning=convention) == got["mce"]
        assert adaptive_calibration_error(s.confidence, s.correct, 15, binning=convention) == got["adaptive_ece"]
        assert classwise_calibration_error(s.probs, s.labels, 15, binning=convention) == got["classwise_ece"]
    pt = point_metrics(logits, labels, 15, "prompt-tuning", temperature)
    assert pt["ece"] == pytest.approx(expected["ece"], abs=1e-6)


def test_a_custom_record_mixes_the_parameters():
    """A record is not a name: standard bins on prompt-tuning's float32 probabilities, for instance."""
    _, arrays = load_case("b")
    logits, labels = arrays["logits_log_probs"], arrays["labels"]
    mixed = ConventionParams(softmax="float32", binning=STD)
    got = point_metrics(logits, labels, 15, mixed)
    direct = MetricSuite(Scores.from_logits(logits, labels, softmax="float32"), 15, STD).point()
    assert got == direct
    pt = point_metrics(logits, labels, 15, "prompt-tuning")
    assert got["nll"] == pt["nll"] and got["brier"] == pt["brier"]  # the same float32 probabilities
    assert got["adaptive_ece"] != pt["adaptive_ece"]  # the fixture's ties: shared vs row-order
