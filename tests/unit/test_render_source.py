"""Overlays at the source resolution: a known map mapped back through the loader's resize and crop, pixel by pixel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from videoxai.data.transforms import resize_crop
from videoxai.render.colormap import apply_colormap
from videoxai.render.source import Crop, source_maps, source_overlay


def test_a_known_map_lands_where_hand_computation_puts_it() -> None:
    """320x240 source, a 64-pixel model, a 2x2 map: left column 0, right column 1.

    By hand: s = 64/240, the resized frame 85x64, the crop's left offset (85 - 64) // 2 = 10. Source column x sits at
    u = (x + 0.5) * 64/240 - 10 in the crop and at g = u * 2/64 - 0.5 on the map's grid; the map's value there is
    g clipped to [0, 1]. Column 157: u = 32, g = 0.5 -> 0.5. Column 100: u = 16.8, g = 0.025. Column 40: u = 0.8,
    g < 0 -> 0. The crop spans u in [0, 64): column 37 (u = 0) is its first, 276 its last (277: u = 64), 36 outside.
    """
    maps = np.array([[[0.0, 1.0], [0.0, 1.0]]])
    values, inside = source_maps(maps, 240, 320, 64)
    assert values.shape == (1, 240, 320) and inside.shape == (240, 320)
    assert values[0, 120, 157] == pytest.approx(0.5)
    assert values[0, 10, 100] == pytest.approx(0.025)
    assert values[0, 200, 40] == 0.0 and values[0, 0, 270] == pytest.approx(1.0)
    assert not inside[:, 36].any() and inside[:, 37].all() and inside[:, 276].all() and not inside[:, 277].any()
    assert Crop(240, 320, 64).box() == (0, 37, 240, 277)


def test_it_agrees_with_the_models_view_where_pixels_line_up() -> None:
    """Downsampling the source-resolution map the way the loader downsamples frames gives the model-resolution map
    (torch's bilinear upsampling of the map to the crop): the mapping is the loader's, inverted."""
    rng = np.random.default_rng(0)
    maps = rng.uniform(size=(2, 7, 7))
    values, _ = source_maps(maps, 240, 320, 224)
    # the map at the model's input resolution, as overlays at model resolution draw it
    model_view = F.interpolate(torch.tensor(maps)[None], size=(224, 224), mode="bilinear", align_corners=False)[0]
    # the source-resolution map through the loader's own resize and crop (a grey image per frame)
    grey = np.repeat((values * 255)[..., None], 3, axis=-1).round().astype(np.uint8)
    back = resize_crop(grey, 224)[..., 0].numpy() / 255.0
    assert np.abs(back - model_view.numpy()).mean() < 0.01


def test_the_overlay_colours_the_crop_darkens_the_rest_and_draws_the_frame() -> None:
    frames = np.full((1, 240, 320, 3), 200, dtype=np.uint8)
    maps = np.ones((1, 4, 4))
    out = source_overlay(frames, maps, 64, "inferno", alpha=0.5)
    top = apply_colormap(np.array(1.0), "inferno")
    assert out.shape == frames.shape
    assert np.array_equal(out[0, 120, 157], np.round((200 + top.astype(float)) / 2).astype(np.uint8))
    assert np.array_equal(out[0, 120, 10], [100, 100, 100])  # outside the crop: the frame darkened
    assert np.array_equal(out[0, 120, 37], [255, 255, 255]) and np.array_equal(out[0, 0, 157], [255, 255, 255])
    with pytest.raises(ValueError, match="same frames"):
        source_overlay(frames, np.ones((2, 4, 4)), 64)
