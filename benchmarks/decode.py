"""Decoding speed per backend and container: clips/s for 8 and 16 sampled frames.

Generates 320x240 clips like the real datasets store them: .avi with MPEG-4
Part 2 (UCF101 / HMDB51 are XviD) and .mp4 with H.264 yuv420p (Kinetics),
150 frames (6 s at 25 fps) of moving texture. Each measurement is one
``decode_clip`` call per clip (open, count, seek/decode the segment-centre
frames, close: what a DataLoader worker does), one decoder thread. Best of
``--rounds`` rounds, to be robust to other load on the machine. Prints a
table with the ratio of each backend to the fastest for the same container
and frame count, and writes ``benchmarks/results/decode.json``.

    python benchmarks/decode.py [--clips 6] [--rounds 3] [--min-seconds 1.0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from _common import print_table, save

from videoxai.data.decode import available_backends, decode_clip

CONTAINERS = {
    "avi": {"codec": "mpeg4", "pix_fmt": "yuv420p", "options": {"qscale": "4", "g": "12"}},
    "mp4": {"codec": "libx264", "pix_fmt": "yuv420p", "options": {"crf": "23", "preset": "fast"}},
}


def make_clip(path: Path, rng: np.random.Generator, frames: int, width: int = 320, height: int = 240) -> None:
    """A moving smooth texture with noise: compresses like camera footage, not like a flat test pattern."""
    spec = CONTAINERS[path.suffix.lstrip(".")]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, 3)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(spec["codec"], rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, spec["pix_fmt"]
        stream.options = dict(spec["options"])
        for t in range(frames):
            img = np.stack(
                [128 + 60 * np.sin((xx + 2 * t) / (17 + 5 * c) + yy / 23 + phase[c]) for c in range(3)], axis=-1
            )
            img += rng.normal(0, 6, img.shape)
            frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def clips_per_second(paths: list[Path], frames: int, backend: str, min_seconds: float) -> float:
    calls, start = 0, time.perf_counter()
    while True:
        for path in paths:
            decode_clip(path, frames, decoder=backend)
            calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=6, help="clips per container")
    parser.add_argument("--length", type=int, default=150, help="frames per generated clip")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per measurement; the best is kept")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="minimum time per measurement")
    args = parser.parse_args()
    torch.set_num_threads(1)
    backends = available_backends()
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for container in CONTAINERS:
            files[container] = [Path(tmp) / f"clip{i}.{container}" for i in range(args.clips)]
            for path in files[container]:
                make_clip(path, rng, args.length)
        # identical output is a precondition of comparing speed
        for container, paths in files.items():
            reference = decode_clip(paths[0], 16, decoder="pyav").frames
            for backend in backends:
                if not np.array_equal(decode_clip(paths[0], 16, decoder=backend).frames, reference):
                    raise SystemExit(f"{backend} decodes {container} differently from pyav")
        for container, paths in files.items():
            for frames in (8, 16):
                for backend in backends:
                    decode_clip(paths[0], frames, decoder=backend)  # warm-up: imports, caches
                best = {b: 0.0 for b in backends}
                for _ in range(args.rounds):  # interleaved rounds: load spikes hit every backend alike
                    for backend in backends:
                        best[backend] = max(best[backend], clips_per_second(paths, frames, backend, args.min_seconds))
                fastest = max(best.values())
                for backend in backends:
                    rows.append(
                        {
                            "container": f"{container} ({CONTAINERS[container]['codec']})",
                            "frames": frames,
                            "backend": backend,
                            "clips_per_s": round(best[backend], 1),
                            "ratio_to_fastest": round(best[backend] / fastest, 2),
                        }
                    )
    print(f"decode_clip, 320x240, {args.length}-frame clips, one decoder thread, best of {args.rounds} rounds\n")
    print_table(rows, ["container", "frames", "backend", "clips_per_s", "ratio_to_fastest"])
    save(
        "decode",
        {
            "rows": rows,
            "settings": {
                "clips": args.clips,
                "length": args.length,
                "rounds": args.rounds,
                "min_seconds": args.min_seconds,
                "size": [320, 240],
                "containers": CONTAINERS,
            },
            "versions": {"av": av.__version__, **_versions(backends)},
        },
    )


def _versions(backends: list[str]) -> dict[str, str]:
    out = {}
    for name in backends:
        if name != "pyav":
            module = __import__(name)
            out[name] = getattr(module, "__version__", "?")
    return out


if __name__ == "__main__":
    main()
