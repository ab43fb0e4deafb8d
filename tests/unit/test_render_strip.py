"""The attention-map PNG: drawn once and written by Pillow, it holds the pixels matplotlib's ``savefig`` writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.unit.test_render_fixtures import make_heatmaps
from videoxai.explain.store import load_heatmaps
from videoxai.render.overlay import overlay
from videoxai.render.stage import _keeping
from videoxai.render.strip import MAX_FRAMES, attention_strip, strip_figure, strip_frame_indices, write_png


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA"))


@pytest.mark.parametrize(
    ("colormap", "t", "with_clip"), [("jet", 8, True), ("inferno", 20, True), ("viridis", 5, False)]
)
def test_strip_pixels_equal_savefig(tmp_path: Path, colormap: str, t: int, with_clip: bool) -> None:
    """The single draw (layout and render in one pass) gives the same image as savefig's two draws."""
    hs = load_heatmaps(make_heatmaps(tmp_path / "h.safetensors", n=2, t=t, size=32, grid=4), 1)
    args = (hs.frames[0], hs.heatmaps[0], hs.temporal_importance[0])
    clip = hs.clips[0] if with_clip else None
    reference = tmp_path / "savefig.png"
    fig, idx = strip_figure(*args, clip, colormap, 0.6)
    fig.savefig(reference, format="png", dpi=fig.dpi)
    out = tmp_path / "maps" / "strip.png"
    info = attention_strip(*args, out, clip, colormap, 0.6)
    assert info["frames_shown"] == [int(i) for i in idx] and len(idx) == min(t, 16)
    a, b = pixels(reference), pixels(out)
    assert a.shape == b.shape and a.shape[1] == 900
    np.testing.assert_array_equal(a, b)
    with Image.open(reference) as ref, Image.open(out) as im:
        assert (ref.mode, im.mode) == ("RGBA", "RGB")  # opaque: the same pixels without an alpha channel
        assert im.info["Software"] == ref.info["Software"] and im.info["dpi"] == ref.info["dpi"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["strip.png"]  # written atomically, no temporaries


def test_write_png_keeps_every_pixel(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, size=(30, 41, 4), dtype=np.uint8)
    opaque = rgba.copy()
    opaque[..., 3] = 255
    write_png(opaque, tmp_path / "opaque.png", 100)
    write_png(rgba, tmp_path / "alpha.png", 72)
    with Image.open(tmp_path / "opaque.png") as im:
        assert im.mode == "RGB" and im.info["Software"].startswith("Matplotlib version")
        np.testing.assert_array_equal(np.asarray(im), opaque[..., :3])
    with Image.open(tmp_path / "alpha.png") as im:
        assert im.mode == "RGBA"  # transparency is kept where the canvas has any
        np.testing.assert_array_equal(np.asarray(im), rgba)
        assert im.info["dpi"] == pytest.approx((72, 72), abs=0.02)  # PNG stores whole pixels per metre


def test_write_png_rejects_what_is_not_a_canvas(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 4\) uint8 RGBA, got \(4, 4, 3\)"):
        write_png(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.png", 100)
    with pytest.raises(ValueError, match="float32"):
        write_png(np.zeros((4, 4, 4), np.float32), tmp_path / "x.png", 100)
    assert not any(tmp_path.iterdir())


def test_overlays_kept_from_the_video_draw_the_same_strip(tmp_path: Path) -> None:
    """The stage hands the strip the overlays it made for the video; a wrong set is refused, not drawn."""
    hs = load_heatmaps(make_heatmaps(tmp_path / "h.safetensors", n=1, t=20, size=32, grid=4), 0)
    frames, maps, ti = hs.frames[0], hs.heatmaps[0], hs.temporal_importance[0]
    idx = strip_frame_indices(20, MAX_FRAMES)
    attention_strip(frames, maps, ti, tmp_path / "own.png", colormap="inferno")
    attention_strip(
        frames, maps, ti, tmp_path / "kept.png", colormap="inferno", overlays=overlay(frames, maps, "inferno")[idx]
    )
    np.testing.assert_array_equal(pixels(tmp_path / "own.png"), pixels(tmp_path / "kept.png"))
    with pytest.raises(ValueError, match=r"overlays must be the 16 shown frames, shaped \(16, 32, 32, 3\); got \(20,"):
        attention_strip(frames, maps, ti, tmp_path / "bad.png", overlays=overlay(frames, maps))
    assert not (tmp_path / "bad.png").exists()


def test_stage_keeps_exactly_the_shown_frames() -> None:
    chunks = [
        np.full((16, 2, 2, 3), k, np.uint8) + np.arange(16, dtype=np.uint8)[:, None, None, None] for k in (0, 100)
    ]
    chunks.append(np.full((3, 2, 2, 3), 200, np.uint8))
    at = strip_frame_indices(35, MAX_FRAMES)
    kept: list[np.ndarray] = []
    passed = list(_keeping(iter(chunks), at, kept))
    assert all(a is b for a, b in zip(passed, chunks, strict=True))  # the video gets every chunk, untouched
    whole = np.concatenate(chunks)
    np.testing.assert_array_equal(np.concatenate(kept), whole[at])
