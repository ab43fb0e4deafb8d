"""Overlays on known inputs, and the same bytes as the torch implementation they replace (videos stay the same)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from videoxai.explain.maps import upsample_bilinear
from videoxai.render.colormap import lut
from videoxai.render.overlay import overlay, overlay_chunks


def _corner_clip(t: int = 3, size: int = 40, grid: int = 5) -> tuple[np.ndarray, np.ndarray]:
    frames = np.random.default_rng(0).integers(0, 256, (t, size, size, 3), dtype=np.uint8)
    maps = np.zeros((t, grid, grid), np.float32)
    maps[:, 0, 0] = 1.0
    return frames, maps


@pytest.mark.parametrize("colormap", ["jet", "inferno", "viridis"])
def test_hot_corner_gets_top_colour_and_cold_corner_bottom_colour(colormap: str) -> None:
    frames, maps = _corner_clip()
    out = overlay(frames, maps, colormap, alpha=1.0)
    table = lut(colormap)
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert (out[:, 0, 0] == table[255]).all()
    assert (out[:, -1, -1] == table[0]).all()


def test_alpha_blends_frame_and_colour() -> None:
    frames, maps = _corner_clip()
    out = overlay(frames, maps, "jet", alpha=0.5)
    expected = np.round((frames[:, 0, 0].astype(np.float64) + lut("jet")[255]) / 2)  # half to even, as torch
    np.testing.assert_array_equal(out[:, 0, 0], expected)
    np.testing.assert_array_equal(overlay(frames, maps, alpha=0.0), frames)


def test_bilinear_upsampling_of_a_known_map() -> None:
    up = upsample_bilinear(np.array([[[0.0, 1.0], [0.0, 1.0]]], dtype=np.float16), (4, 4))
    assert up.dtype == np.float32 and up.shape == (1, 4, 4)
    np.testing.assert_allclose(up[0, 0], [0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(up[0, :, 2], [0.75] * 4)


def test_undefined_and_out_of_range_maps_draw_as_the_table_ends() -> None:
    """NaN draws as 0 and values outside [0, 1] as the nearest end of the colour table."""
    frames, _ = _corner_clip()
    for value, end in ((np.nan, 0.0), (-3.0, 0.0), (7.0, 1.0)):
        maps = np.full((frames.shape[0], 5, 5), value, np.float32)
        np.testing.assert_array_equal(
            overlay(frames, maps, alpha=1.0), overlay(frames, np.full_like(maps, end), alpha=1.0)
        )


@pytest.mark.parametrize(
    ("grid", "size"),
    [
        ((7, 7), (64, 64)),
        ((8, 8), (64, 64)),
        ((7, 7), (63, 65)),
        ((14, 14), (224, 224)),
        ((2, 2), (224, 224)),
        ((16, 16), (112, 112)),
        ((5, 9), (63, 101)),
        ((1, 1), (32, 32)),
        ((3, 5), (20, 30)),
    ],
)
def test_upsampling_equals_torch_bit_for_bit(grid: tuple[int, int], size: tuple[int, int]) -> None:
    """Both of torch's CPU kernels (H + W <= 128 and above), with their fused multiply-adds."""
    maps = np.random.default_rng(sum(size)).random((3, 8, *grid)).astype(np.float16).astype(np.float32)
    theirs = (
        F.interpolate(torch.from_numpy(maps).reshape(-1, 1, *grid), size=size, mode="bilinear", align_corners=False)
        .reshape(3, 8, *size)
        .numpy()
    )
    np.testing.assert_array_equal(upsample_bilinear(maps, size), theirs)


def _torch_overlay(frames: np.ndarray, maps: np.ndarray, colormap: str, alpha: float) -> np.ndarray:
    """The torch implementation the numpy one replaced (what the videos were drawn with before)."""
    table = lut(colormap)
    m = torch.nan_to_num(torch.as_tensor(maps).float(), nan=0.0)
    m = F.interpolate(m.unsqueeze(1), size=frames.shape[1:3], mode="bilinear", align_corners=False).squeeze(1)
    idx = m.clamp(0, 1).mul(256).clamp_(0, 255).to(torch.uint8).numpy()
    colours = torch.from_numpy(np.take(table, idx, axis=0))
    return torch.lerp(torch.from_numpy(frames).float(), colours.float(), alpha).round_().to(torch.uint8).numpy()


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.45, 0.5, 0.55, 0.7, 1.0])
@pytest.mark.parametrize(("grid", "size"), [(8, 64), (7, 64), (7, 112), (14, 224)])
def test_overlay_equals_the_torch_overlay(alpha: float, grid: int, size: int) -> None:
    rng = np.random.default_rng(grid * size)
    frames = rng.integers(0, 256, (4, size, size, 3), dtype=np.uint8)
    maps = rng.random((4, grid, grid)).astype(np.float16)
    np.testing.assert_array_equal(overlay(frames, maps, "jet", alpha), _torch_overlay(frames, maps, "jet", alpha))


def test_chunks_equal_whole_clip() -> None:
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (10, 16, 24, 3), dtype=np.uint8)
    maps = rng.random((10, 4, 6)).astype(np.float32)
    whole = overlay(frames, maps, "viridis", 0.4)
    parts = list(overlay_chunks(frames, maps, "viridis", 0.4, chunk=3))
    assert [p.shape[0] for p in parts] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_bad_inputs_say_what_is_wrong() -> None:
    frames, maps = _corner_clip(t=3)
    with pytest.raises(ValueError, match="number of frames"):
        overlay(frames, maps[:2])
    with pytest.raises(ValueError, match="uint8"):
        overlay(frames.astype(np.float32), maps)
    with pytest.raises(ValueError, match="alpha"):
        overlay(frames, maps, alpha=1.5)
