"""The ``compare`` key's choice of calibration results (videoxai.calibration.catalog.pick_results)."""

from __future__ import annotations

import pytest

from videoxai.calibration.catalog import pick_results, result_at

A = result_at("results", "video_coop", "demo", "tiny", "demo", "test")
B = result_at("results", "stt", "demo", "tiny", "demo", "test+b10")


def test_patterns_pick_labels_in_their_order_each_once() -> None:
    assert pick_results([A, B], ["*(test+b10)", "video_coop/*"]) == [B, A]
    assert pick_results([A, B], ["*/demo/tiny on demo*", "stt/*"]) == [A, B]
    assert pick_results([A, B], ["video_coop/demo/tiny on demo (test)"]) == [A]


def test_a_pattern_matching_nothing_names_the_labels() -> None:
    with pytest.raises(ValueError, match=r"'x\*' matches no calibration result; the labels are 'video_coop/demo"):
        pick_results([A, B], ["x*"])
    with pytest.raises(ValueError, match="compare_curves needs the results to draw"):
        pick_results([A, B], [])
    with pytest.raises(ValueError, match="compare_curves needs the results to draw"):
        pick_results([A, B], "video_coop/*")  # a string, not a list
