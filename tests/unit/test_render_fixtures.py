"""A small but real heatmaps file for the render and tracking tests (imported by test_render_*, test_tracking_*)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videoxai.explain.store import HeatmapSet, save_heatmaps

CLASSES = ["ApplyEyeMakeup", "Basketball", "CliffDiving"]


def make_heatmaps(path: Path, n: int = 3, t: int = 8, size: int = 32, grid: int = 4, seed: int = 0) -> Path:
    """Clips whose maps carry one bright blob moving across the grid, frames with a moving square."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 60, size=(n, t, size, size, 3), dtype=np.uint8)
    maps = np.zeros((n, t, grid, grid), dtype=np.float32)
    for i in range(n):
        for j in range(t):
            r, c = (i + j) % grid, (2 * i + j) % grid
            maps[i, j] = rng.random((grid, grid)) * 0.2
            maps[i, j, r, c] = 1.0
            s = size // grid
            frames[i, j, r * s : (r + 1) * s, c * s : (c + 1) * s] = 220
    ti = rng.random((n, t)).astype(np.float32)
    ti /= ti.sum(axis=1, keepdims=True)
    clips = []
    for i in range(n):
        target = i % len(CLASSES)
        pred = target if i % 2 == 0 else (target + 1) % len(CLASSES)
        clips.append(
            {
                "sample_id": f"{CLASSES[target]}/v_{CLASSES[target]}_g01_c0{i}.avi",
                "class_index": target,
                "class_name": CLASSES[target],
                "sample_index": i // len(CLASSES),
                "target": target,
                "target_name": CLASSES[target],
                "label": target,
                "pred": pred,
                "pred_name": CLASSES[pred],
                "confidence": 0.5 + 0.1 * i,
            }
        )
    params = {"method": "grad-cam", "layer": "blocks.3"}
    save_heatmaps(path, HeatmapSet(maps.astype(np.float16), ti, frames, clips, params))
    return path


def test_fixture_is_a_valid_heatmaps_file(tmp_path: Path) -> None:
    from videoxai.explain.store import load_heatmaps

    hs = load_heatmaps(make_heatmaps(tmp_path / "h.safetensors", n=2, t=5, size=16, grid=4))
    assert hs.heatmaps.shape == (2, 5, 4, 4) and hs.frames.shape == (2, 5, 16, 16, 3)
    assert len(hs.clips) == 2 and hs.clips[1]["pred"] != hs.clips[1]["target"]
