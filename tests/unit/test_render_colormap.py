"""The colour table must give matplotlib's colours, for whole arrays at once."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from videoxai.render.colormap import COLORMAPS, apply_colormap, lut


@pytest.mark.parametrize("name", COLORMAPS)
def test_lut_matches_matplotlib_on_sample_values(name: str) -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([np.linspace(0, 1, 1001), rng.random(500), [0.0, 1.0, 1 / 256, 255 / 256, 0.5]])
    values = values.astype(np.float16)  # the dtype heatmaps are stored in
    ours = apply_colormap(values, name)
    theirs = matplotlib.colormaps[name](values.astype(np.float64), bytes=True)[:, :3]
    np.testing.assert_array_equal(ours, theirs)


def test_default_is_jet_and_shape_is_kept() -> None:
    maps = np.random.default_rng(0).random((3, 5, 7)).astype(np.float32)
    out = apply_colormap(maps)
    assert out.shape == (3, 5, 7, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, apply_colormap(maps, "jet"))
    # jet runs from dark blue to dark red
    assert tuple(lut()[0].tolist()) == (0, 0, 127) and tuple(lut()[255].tolist()) == (127, 0, 0)


def test_torch_tensors_are_accepted() -> None:
    torch = pytest.importorskip("torch")
    maps = torch.rand(2, 3)
    np.testing.assert_array_equal(apply_colormap(maps), apply_colormap(maps.numpy()))


def test_nan_and_out_of_range_values_are_clipped() -> None:
    out = apply_colormap(np.array([np.nan, -3.0, 7.0, np.inf]), "viridis")
    table = lut("viridis")
    assert out[0].tolist() == table[0].tolist() == out[1].tolist()
    assert out[2].tolist() == table[255].tolist() == out[3].tolist()


def test_lut_is_a_copy() -> None:
    table = lut("inferno")
    table[:] = 0
    assert lut("inferno").sum() > 0


def test_unknown_colormap_names_the_choices() -> None:
    with pytest.raises(ValueError, match="jet, inferno, viridis"):
        apply_colormap(np.zeros(2), "not-a-colormap")
