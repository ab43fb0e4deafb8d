"""`overlay: source` for real: the demo's videos and attention maps drawn over the decoded original frames, at their
own resolution, the map where the loader's crop puts it, and the video's pixels those of source_overlay."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.helpers import TINY_DEMO, explainer_folder, make_workdir, run_snakemake
from videoxai.data.decode import read_frames
from videoxai.explain.store import load_heatmaps
from videoxai.render.source import source_overlay

pytestmark = pytest.mark.workflow

KEY = "video_coop/demo/tiny"
SMALL = {**TINY_DEMO, "explainer-method": "grad-cam", "classes-to-map": 1, "samples-per-class": 1, "evaluate": False}
FOLDER = explainer_folder("grad-cam", SMALL)  # grad-cam+evaluate-false+classes-1+samples-1


def test_source_overlays_are_drawn_at_the_original_resolution(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path, {**SMALL, "overlay": "source", "colormap": "viridis"})
    folder = f"figures/explainer/{KEY}/demo-test/{FOLDER}"
    proc = run_snakemake(workdir, "--cores", "2", f"{folder}/gallery.html", timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    hs = load_heatmaps(workdir / f"results/explain/{KEY}/demo/test/{FOLDER}/heatmaps.safetensors")
    clip = hs.clips[0]
    source = read_frames(workdir / "data/demo" / clip["sample_id"], clip["frame_indices"])
    # (the demo's clips are the model's size: the crop is the whole frame, its border drawn; other sizes: the unit
    # tests of videoxai.render.source)
    expected = source_overlay(source, hs.heatmaps[0], hs.frames.shape[2], "viridis", 0.5)
    video = next((workdir / folder / "video_samples").glob("*.mp4"))
    with av.open(str(video)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    h, w = source.shape[1:3]
    assert len(decoded) == len(source)
    # the video: caption on top, then original | overlay at the source's size (H.264 is lossy: compare means)
    body = decoded[0][-h:, w : 2 * w] if decoded[0].shape[0] >= h else None
    assert body is not None and decoded[0].shape[1] >= 2 * w
    assert np.abs(body.astype(float) - expected[0].astype(float)).mean() < 6
    assert Image.open(next((workdir / folder / "attention_maps").glob("*.png"))).size[0] > 0
