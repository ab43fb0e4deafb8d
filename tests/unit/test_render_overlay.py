"""Overlays on known inputs: where the map is 1 the colour is the table's top colour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videoxai.render.colormap import lut
from videoxai.render.overlay import overlay, overlay_chunks, upsample_maps


def _corner_clip(t: int = 3, size: int = 40, grid: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    frames = torch.randint(0, 256, (t, size, size, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    maps = torch.zeros(t, grid, grid)
    maps[:, 0, 0] = 1.0
    return frames, maps


@pytest.mark.parametrize("colormap", ["jet", "inferno", "viridis"])
def test_hot_corner_gets_top_colour_and_cold_corner_bottom_colour(colormap: str) -> None:
    frames, maps = _corner_clip()
    out = overlay(frames, maps, colormap, alpha=1.0)
    table = lut(colormap)
    assert out.shape == frames.shape and out.dtype == torch.uint8
    assert (out[:, 0, 0] == table[255]).all()
    assert (out[:, -1, -1] == table[0]).all()


def test_alpha_blends_frame_and_colour() -> None:
    frames, maps = _corner_clip()
    out = overlay(frames, maps, "jet", alpha=0.5)
    expected = ((frames[:, 0, 0].double() + lut("jet")[255].double()) / 2).round()
    # x.5 ties may round either way in float32; never more than 1 off
    assert (out[:, 0, 0].double() - expected).abs().max() <= 1
    assert torch.equal(overlay(frames, maps, alpha=0.0), frames)


def test_bilinear_upsampling_of_a_known_map() -> None:
    up = upsample_maps(np.array([[[0.0, 1.0], [0.0, 1.0]]], dtype=np.float16), (4, 4))
    np.testing.assert_allclose(up[0, 0].numpy(), [0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(up[0, :, 2].numpy(), [0.75] * 4)


def test_chunks_equal_whole_clip() -> None:
    frames = torch.randint(0, 256, (10, 16, 24, 3), dtype=torch.uint8)
    maps = torch.rand(10, 4, 6)
    whole = overlay(frames, maps, "viridis", 0.4)
    parts = list(overlay_chunks(frames, maps, "viridis", 0.4, chunk=3))
    assert [p.shape[0] for p in parts] == [3, 3, 3, 1]
    assert torch.equal(torch.cat(parts), whole)


def test_bad_inputs_say_what_is_wrong() -> None:
    frames, maps = _corner_clip(t=3)
    with pytest.raises(ValueError, match="number of frames"):
        overlay(frames, maps[:2])
    with pytest.raises(ValueError, match="uint8"):
        overlay(frames.float(), maps)
    with pytest.raises(ValueError, match="alpha"):
        overlay(frames, maps, alpha=1.5)
