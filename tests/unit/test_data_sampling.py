"""TSN-style segment centres."""

from __future__ import annotations

import pytest

from videoxai.data.sampling import segment_centres, segment_views


def test_centres_of_equal_segments() -> None:
    assert segment_centres(16, 8) == ([1, 3, 5, 7, 9, 11, 13, 15], False)
    assert segment_centres(100, 4) == ([12, 37, 62, 87], False)
    assert segment_centres(8, 8) == (list(range(8)), False)


def test_short_clip_is_padded_by_repeating_frames() -> None:
    indices, padded = segment_centres(3, 8)
    assert padded
    assert indices == sorted(indices) and set(indices) == {0, 1, 2} and len(indices) == 8


@pytest.mark.parametrize(("total", "frames"), [(1, 1), (1, 8), (7, 8), (9, 8), (301, 16), (5, 32)])
def test_indices_in_range_sorted(total: int, frames: int) -> None:
    indices, padded = segment_centres(total, frames)
    assert len(indices) == frames
    assert all(0 <= i < total for i in indices) and indices == sorted(indices)
    assert padded == (total < frames)


def test_rejects_empty_clip_and_zero_frames() -> None:
    with pytest.raises(ValueError, match="no frames"):
        segment_centres(0, 8)
    with pytest.raises(ValueError, match="num_frames"):
        segment_centres(10, 0)


def test_one_view_is_segment_centres() -> None:
    assert segment_views(16, 8, 1) == ([segment_centres(16, 8)[0]], False)


def test_views_interleave_inside_segments() -> None:
    views, padded = segment_views(24, 4, 2)
    assert not padded
    assert views == [[2, 8, 14, 20], [4, 10, 16, 22]]  # offsets 1/3 and 2/3 of each 6-frame segment
    short, padded = segment_views(3, 4, 3)
    assert padded and all(0 <= i < 3 for v in short for i in v)
    with pytest.raises(ValueError, match="num_views"):
        segment_views(10, 2, 0)
