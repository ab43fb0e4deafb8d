"""Overlay + encode throughput: ours (colour table on whole tensors, one streamed encoder) vs the prompt-tuning scripts' way.

Seed-style, per frame: resize the map, colour it with a matplotlib colour-map call, blend, draw it in a pyplot
figure and save that figure as a PNG (the prompt-tuning scripts' per-frame figures); the blended frames are then encoded.
Ours: upsample, colour-table lookup and blend on whole chunks of frames, streamed into one encoder. Both get
the same frames (the workflow's demo clips) and maps, both write the same 224x224 overlay-only H.264 video
with the same encoder settings; the time covers arrays in memory -> files on disk. ``render_clip`` (caption
strip, original | overlay, plus the attention-strip PNG) is timed too, for reference.

    python benchmarks/render.py                      # 16- and 175-frame clips -> benchmarks/results/render.json
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import matplotlib
import numpy as np
import torch
import torch.nn.functional as F

import videoxai
from videoxai.demo.dataset import make_clip
from videoxai.explain.store import HeatmapSet, save_heatmaps
from videoxai.io import write_json
from videoxai.render.overlay import overlay_chunks
from videoxai.render.stage import render_clip
from videoxai.render.video import compose_frames, encode_mp4

GRID = 14  # a ViT-B/16 token grid at 224 px


def make_inputs(t: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A demo clip (moving object on a textured background) and maps that follow the object, plus noise."""
    rng = np.random.default_rng(seed)
    frames, mask = make_clip(0, rng, t, size)
    pooled = F.adaptive_avg_pool2d(torch.from_numpy(mask.astype(np.float32))[:, None], GRID)[:, 0].numpy()
    maps = np.clip(0.8 * pooled / max(pooled.max(), 1e-6) + 0.2 * rng.random((t, GRID, GRID)), 0, 1)
    return frames, maps.astype(np.float16)


def ours(frames: np.ndarray, maps: np.ndarray, out: Path, fps: int) -> None:
    encode_mp4(compose_frames(overlay_chunks(frames, maps, "jet", 0.5)), out, fps=fps)


def prompt_tuning_style(frames: np.ndarray, maps: np.ndarray, out: Path, fps: int) -> None:
    """Per frame: resize, matplotlib colour map, blend, a pyplot figure saved as PNG; then encode the blends."""
    import matplotlib.pyplot as plt

    size = frames.shape[1]

    def blended() -> Iterator[np.ndarray]:
        for i, (frame, m) in enumerate(zip(frames, maps)):
            up = F.interpolate(
                torch.from_numpy(m.astype(np.float32))[None, None],
                size=(size, size),
                mode="bilinear",
                align_corners=False,
            )[0, 0].numpy()
            heat = matplotlib.colormaps["jet"](up)[..., :3]
            blend = np.uint8(np.round(255 * (0.5 * frame / 255.0 + 0.5 * heat)))
            fig, ax = plt.subplots()
            ax.imshow(blend)
            ax.axis("off")
            fig.savefig(out.parent / f"{out.stem}_{i:04d}.png", bbox_inches="tight")
            plt.close(fig)
            yield blend

    encode_mp4(blended(), out, fps=fps)


def render_clip_path(frames: np.ndarray, maps: np.ndarray, out: Path, fps: int) -> None:
    """The render stage as the workflow runs it: heatmaps file -> captioned side-by-side mp4 + strip PNG."""
    hm = out.parent / "heatmaps.safetensors"
    ti = maps.astype(np.float32).mean(axis=(1, 2))[None]
    clip = {
        "sample_id": "demo",
        "class_name": "Basketball",
        "target": 0,
        "target_name": "Basketball",
        "pred": 0,
        "pred_name": "Basketball",
        "confidence": 0.9,
    }
    save_heatmaps(hm, HeatmapSet(maps[None], ti, frames[None], [clip], {}))
    render_clip(hm, 0, out, out.with_suffix(".png"), fps=fps)


def best_time(
    fn: Callable[[np.ndarray, np.ndarray, Path, int], None],
    frames: np.ndarray,
    maps: np.ndarray,
    repeats: int,
    fps: int,
) -> float:
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            out = Path(d) / "clip.mp4"
            t0 = time.perf_counter()
            fn(frames, maps, out, fps)
            times.append(time.perf_counter() - t0)
            with av.open(str(out)) as c:  # every timed video is checked to decode to the right length
                n = sum(1 for _ in c.decode(video=0))
            assert n == len(frames), f"{fn.__name__} wrote {n} frames, expected {len(frames)}"
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, nargs="+", default=[16, 175])
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--fps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3, help="best of N for our paths")
    ap.add_argument(
        "--prompt-tuning-repeats", type=int, default=1, help="best of N for the (slow) prompt-tuning-style path"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the encoder picks its own)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "render.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ours(*make_inputs(4, args.size), Path(tempfile.mkdtemp()) / "warmup.mp4", args.fps)  # import/LUT warm-up

    results = []
    for t in args.frames:
        frames, maps = make_inputs(t, args.size)
        ours_s = best_time(ours, frames, maps, args.repeats, args.fps)
        full_s = best_time(render_clip_path, frames, maps, args.repeats, args.fps)
        prompt_tuning_s = best_time(prompt_tuning_style, frames, maps, args.prompt_tuning_repeats, args.fps)
        row = {
            "frames": t,
            "size": args.size,
            "ours_s": round(ours_s, 4),
            "ours_fps": round(t / ours_s, 1),
            "render_clip_s": round(full_s, 4),
            "render_clip_fps": round(t / full_s, 1),
            "prompt_tuning_style_s": round(prompt_tuning_s, 4),
            "prompt_tuning_style_fps": round(t / prompt_tuning_s, 1),
            "speedup": round(prompt_tuning_s / ours_s, 1),
        }
        results.append(row)
        print(
            f"{t:4d} frames {args.size}x{args.size}: ours {row['ours_fps']:8.1f} frames/s | "
            f"render_clip (caption, side by side, PNG) {row['render_clip_fps']:7.1f} | prompt-tuning-style {row['prompt_tuning_style_fps']:6.1f}"
            f" | speedup {row['speedup']:.1f}x (goal >= 20x)"
        )
    write_json(
        args.out,
        {
            "benchmark": "overlay + H.264 encode of a 224x224 overlay-only video, arrays in memory -> files on disk; "
            "prompt-tuning-style = matplotlib colour map + pyplot figure saved as PNG per frame, same encoder",
            "goal_speedup": 20,
            "results": results,
            "settings": {
                "torch_threads": args.threads,
                "repeats": args.repeats,
                "prompt_tuning_repeats": args.prompt_tuning_repeats,
                "fps": args.fps,
                "colormap": "jet",
                "alpha": 0.5,
                "map_grid": GRID,
                "encoder": "libx264 crf 20 preset veryfast yuv420p",
                "inputs": "videoxai.demo.dataset.make_clip",
            },
            "machine": {
                "platform": platform.platform(),
                "python": platform.python_version(),
                "torch": torch.__version__,
                "av": av.__version__,
                "matplotlib": matplotlib.__version__,
                "videoxai": videoxai.__version__,
                "cpu_count": os.cpu_count(),
                "load_average_1min": round(os.getloadavg()[0], 2),
            },
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
