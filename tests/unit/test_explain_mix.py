"""VideoMix: pasted regions and mixing of model input and frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videoxai.explain.mix import mix_region, mixed_mask, videomix


def test_box_region_covers_half_of_every_frame_at_a_seeded_place():
    r = mix_region(4, 64, "box", seed=3)
    assert isinstance(r, np.ndarray) and r.dtype == bool and r.shape == (4, 64, 64)
    assert abs(float(r.mean()) - 0.5) < 0.01
    assert np.array_equal(r[0], r[3]) and np.array_equal(r, mix_region(4, 64, "box", seed=3))
    assert not np.array_equal(r, mix_region(4, 64, "box", seed=4))
    ys, xs = np.nonzero(r[0])  # pinned: heatmaps files already written were mixed (and are scored) at this place
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (16, 60, 1, 45)


def test_temporal_region_is_the_second_half_of_the_frames():
    r = mix_region(8, 16, "temporal", seed=0)
    assert r[:4].sum() == 0 and bool(r[4:].all())
    with pytest.raises(ValueError, match="mix mode"):
        mix_region(8, 16, "cutmix", seed=0)


def test_videomix_pastes_the_other_clip_in_both_layouts():
    region = mix_region(2, 8, "box", seed=1)
    r = torch.from_numpy(region)
    a, b = torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8)
    mixed = videomix(a, b, region)
    assert torch.equal(mixed, r[:, None].expand(2, 3, 8, 8).float())
    assert torch.equal(videomix(a, b, r), mixed)  # a torch region mixes the same
    fa, fb = torch.zeros(2, 8, 8, 3, dtype=torch.uint8), torch.full((2, 8, 8, 3), 255, dtype=torch.uint8)
    frames = videomix(fa, fb, region)
    assert torch.equal(frames[..., 0] == 255, r) and frames.dtype == torch.uint8
    with pytest.raises(ValueError, match="same shape"):
        videomix(a, b[:1], region)


def test_mixed_mask_keeps_the_object_of_the_class_explained():
    base = np.zeros((1, 4, 4), bool)
    base[0, 0, :] = True
    other = np.zeros((1, 4, 4), bool)
    other[0, :, 0] = True
    region = np.zeros((1, 4, 4), bool)
    region[0, :2, :2] = True
    assert mixed_mask(base, other, region, explains_other=False).sum() == 2  # base's row, minus the pasted box
    assert mixed_mask(base, other, region, explains_other=True).sum() == 2  # other's column, inside the box
