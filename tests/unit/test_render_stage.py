"""The render stage API as a rule script calls it: render_clip, write_gallery, aggregate_stats."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.unit.test_render_fixtures import make_heatmaps
from videoxai.explain.store import HeatmapSet, load_heatmaps, save_heatmaps
from videoxai.render import aggregate_stats, render_clip, spatial_entropy, write_gallery


@pytest.fixture(scope="module")
def heatmaps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_heatmaps(tmp_path_factory.mktemp("hm") / "heatmaps.safetensors", n=4, t=8, size=32, grid=4)


def _decoded(path: Path) -> tuple[int, int, int, str, str]:
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        n = sum(1 for _ in c.decode(video=0))
        return n, cc.width, cc.height, cc.name, cc.pix_fmt


@pytest.mark.parametrize("side_by_side", [True, False])
def test_render_clip_writes_playable_video_and_png(heatmaps: Path, tmp_path: Path, side_by_side: bool) -> None:
    mp4 = tmp_path / "video_samples" / "class_1_sample_0.mp4"
    png = tmp_path / "attention_maps" / "class_1_sample_0.png"
    info = render_clip(heatmaps, 1, mp4, png, colormap="inferno", alpha=0.6, fps=4, side_by_side=side_by_side)
    n, w, h, codec, pix = _decoded(mp4)
    assert (n, codec, pix) == (8, "h264", "yuv420p")
    assert w == (64 if side_by_side else 32) and w % 2 == 0 and h % 2 == 0 and h > 32  # caption strip on top
    assert (info["n_frames"], info["width"], info["height"], info["duration_s"]) == (8, w, h, 2.0)
    assert info["sample_id"] == load_heatmaps(heatmaps, 1).clips[0]["sample_id"]
    with Image.open(png) as im:
        assert im.format == "PNG" and im.width > 300 and im.height > 200


def test_render_clip_rejects_bad_index(heatmaps: Path, tmp_path: Path) -> None:
    with pytest.raises(IndexError, match="holds 4 clips"):
        render_clip(heatmaps, 4, tmp_path / "a.mp4", tmp_path / "a.png")
    assert not any(tmp_path.iterdir())


def test_spatial_entropy_known_values() -> None:
    uniform = np.full((4, 4), 0.3)
    point = np.zeros((4, 4))
    point[1, 2] = 1.0
    half = np.zeros((4, 4))
    half[:2] = 0.5
    ent = spatial_entropy(np.stack([uniform, point, half, np.zeros((4, 4))]))
    np.testing.assert_allclose(ent[:3], [1.0, 0.0, 0.75])  # 8 of 16 pixels: log 8 / log 16
    assert np.isnan(ent[3])


def test_aggregate_stats(heatmaps: Path, tmp_path: Path) -> None:
    hs = load_heatmaps(heatmaps)
    out = tmp_path / "aggregated_stats.json"
    stats = aggregate_stats(heatmaps, out, extra={"evaluation": {"pointing_game": 0.75}})
    assert json.loads(out.read_text()) == stats
    assert stats["n_clips"] == 4 and stats["n_frames"] == 8 and stats["map_size"] == [4, 4]
    assert stats["params"] == {"method": "grad-cam", "layer": "blocks.3"}
    assert stats["evaluation"] == {"pointing_game": 0.75}
    classes = [c["class_name"] for c in hs.clips]
    assert set(stats["per_class"]) == set(classes) and stats["n_classes"] == 3
    assert stats["overall"]["n_correct"] == 2 and stats["overall"]["accuracy"] == 0.5
    sel = np.array([c == classes[0] for c in classes])
    np.testing.assert_allclose(
        stats["per_class"][classes[0]]["temporal_importance_mean"], hs.temporal_importance[sel].mean(axis=0), rtol=1e-6
    )
    assert stats["per_class"][classes[0]]["n_clips"] == int(sel.sum()) == 2
    assert 0.0 < stats["overall"]["spatial_entropy_mean"] < 1.0
    with pytest.raises(ValueError, match="reserved keys"):
        aggregate_stats(heatmaps, tmp_path / "x.json", extra={"overall": 1})
    assert not (tmp_path / "x.json").exists()


def test_aggregate_stats_counts_empty_maps(tmp_path: Path) -> None:
    maps = np.zeros((1, 2, 3, 3), np.float16)
    maps[0, 0, 1, 1] = 1.0
    clip = {"sample_id": "a", "class_name": "A", "target": 0, "pred": 0, "confidence": 1.0}
    save_heatmaps(
        tmp_path / "h.safetensors",
        HeatmapSet(maps, np.array([[0.9, 0.1]], np.float32), np.zeros((1, 2, 8, 8, 3), np.uint8), [clip], {}),
    )
    stats = aggregate_stats(tmp_path / "h.safetensors", tmp_path / "s.json")
    assert stats["overall"]["n_empty_maps"] == 1 and stats["overall"]["spatial_entropy_mean"] == 0.0
    assert stats["overall"]["temporal_peak_frame"] == 0


class _Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.src: dict[str, list[str]] = {"video": [], "img": []}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.src:
            self.src[tag].append(dict(attrs)["src"] or "")


def test_gallery_links_resolve_relative_and_embedded(heatmaps: Path, tmp_path: Path) -> None:
    folder = tmp_path / "GRADCAM"
    videos, pngs = [], []
    for i in range(2):
        videos.append(folder / "video_samples" / f"class_{i}_sample_0.mp4")
        pngs.append(folder / "attention_maps" / f"class_{i}_sample_0.png")
        render_clip(heatmaps, i, videos[-1], pngs[-1])
    page = folder / "gallery.html"
    write_gallery(page, videos, pngs, title="GRADCAM <video_coop/ucf101/best-attention-0>")
    text = page.read_text()
    assert "&lt;video_coop/ucf101/best-attention-0&gt;" in text
    p = _Sources()
    p.feed(text)
    assert p.src["video"] == ["video_samples/class_0_sample_0.mp4", "video_samples/class_1_sample_0.mp4"]
    assert all((folder / s).is_file() for s in p.src["video"] + p.src["img"]) and len(p.src["img"]) == 2

    embedded = tmp_path / "elsewhere" / "gallery.html"
    write_gallery(embedded, videos, pngs, title="embedded", embed=True)
    p = _Sources()
    p.feed(embedded.read_text())
    prefix = "data:video/mp4;base64,"
    assert p.src["video"][0].startswith(prefix)
    assert base64.b64decode(p.src["video"][0][len(prefix) :]) == videos[0].read_bytes()

    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        write_gallery(tmp_path / "g.html", [tmp_path / "missing.mp4"], [], "x")


def test_render_clip_addressed_by_class_and_sample(heatmaps: Path, tmp_path: Path) -> None:
    from videoxai.render.stage import clip_index, render_clip

    clips = load_heatmaps(heatmaps).clips
    want = clips[3]
    i = clip_index(heatmaps, want["class_index"], want["sample_index"])
    assert i == 3
    info = render_clip(heatmaps, i, tmp_path / "v.mp4", tmp_path / "v.png", fps=8)
    assert info["sample_id"] == want["sample_id"] and info["index"] == 3
    with pytest.raises(LookupError, match="class_index=9, sample_index=0"):
        clip_index(heatmaps, 9, 0)


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_render_folder_writes_every_clip_by_name_and_the_gallery(heatmaps: Path, tmp_path: Path) -> None:
    """One job per folder: every clip as class_{X}_sample_{Y}, the same videos as one clip at a time, a gallery."""
    from videoxai.render.stage import clip_name, render_folder

    clips = load_heatmaps(heatmaps).clips
    records = render_folder(
        heatmaps,
        tmp_path / "video_samples",
        tmp_path / "attention_maps",
        gallery=tmp_path / "gallery.html",
        title="t",
        fps=4,
    )
    names = [clip_name(c) for c in clips]
    assert sorted(p.stem for p in (tmp_path / "video_samples").iterdir()) == sorted(names)
    assert sorted(p.stem for p in (tmp_path / "attention_maps").iterdir()) == sorted(names)
    assert [r["sample_id"] for r in records] == [c["sample_id"] for c in clips]
    single = tmp_path / "single.mp4"
    render_clip(heatmaps, 2, single, tmp_path / "single.png", fps=4)
    # x264 itself is not bit-reproducible run to run here (the same frames encoded twice in one process decode a
    # few pixels apart now and then, before this code too), so the decoded videos are compared within that noise
    for a, b in zip(_frames(single), _frames(tmp_path / "video_samples" / f"{names[2]}.mp4"), strict=True):
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.0
    p = _Sources()
    p.feed((tmp_path / "gallery.html").read_text())
    assert len(p.src["video"]) == len(clips) and all(s.startswith("data:video/mp4;base64,") for s in p.src["video"])


def test_render_folder_refuses_clips_that_share_a_name(tmp_path: Path) -> None:
    from videoxai.render.stage import render_folder

    hs = load_heatmaps(make_heatmaps(tmp_path / "h.safetensors", n=2, t=4, size=16, grid=4))
    hs.clips[1].update(class_index=hs.clips[0]["class_index"], sample_index=hs.clips[0]["sample_index"])
    save_heatmaps(tmp_path / "dup.safetensors", hs)
    with pytest.raises(ValueError, match="share a"):
        render_folder(tmp_path / "dup.safetensors", tmp_path / "v", tmp_path / "m")
