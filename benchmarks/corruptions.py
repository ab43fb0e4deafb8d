"""Cost of decoding a clip under each corruption, as a ratio to clean decoding of the same clip, measured side by side.

Clips like UCF101's: 320x240 MPEG-4 Part 2 .avi, 150 frames (6 s at 25 fps),
made by ``benchmarks/decode.py``'s generator. Each measurement is what a
DataLoader worker does for one clip: ``decode_clip`` of 8 segment-centre frames
(PyAV, one thread), plus the corruption (frame corruptions on the 8 decoded
frames; ``motion_blur`` and ``frame_rate`` decode the source frames the 8 frames
of the corrupted clip are made of; the other video corruptions re-encode the
whole clip to a temporary file and decode that). Best of ``--rounds`` rounds. Writes
``benchmarks/results/corruptions.json`` and, with ``--gallery PATH``, one frame
of a clip at each severity of every corruption (the picture in docs/shift.md).

    python benchmarks/corruptions.py [--clips 3] [--rounds 3] [--gallery docs/images/corruptions.png]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import print_table, save
from decode import make_clip

from videoxai.data import corruptions as C
from videoxai.data import reencode as R
from videoxai.data.decode import decode_clip


def _one(path: Path, name: str | None, severity: int) -> np.ndarray:
    if name is None:
        return decode_clip(path, 8, decoder="pyav").frames
    rng = C.clip_rng(0, path.name, name, severity)
    if C.get(name).kind == "frame":
        return C.corrupt_frames(decode_clip(path, 8, decoder="pyav").frames, name, severity, rng)
    if name in R.RETIMED:  # as the loader does: no copy
        return R.decode_retimed_clip(path, name, severity, 8, decoder="pyav").frames
    with R.corrupted_copy(path, name, severity, rng) as copy:
        return decode_clip(copy, 8, decoder="pyav").frames


def _seconds(clips: list[Path], name: str | None, severity: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for path in clips:
            _one(path, name, severity)
        best = min(best, (time.perf_counter() - start) / len(clips))
    return best


def gallery(path: Path, clip: Path) -> None:
    """Rows: corruptions; columns: clean, severities 1-5; the middle sampled frame of ``clip``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(C.CORRUPTIONS)
    fig, axes = plt.subplots(len(names), 6, figsize=(9, 1.25 * len(names)))
    for i, name in enumerate(names):
        for j in range(6):
            frame = _one(clip, None if j == 0 else name, max(j, 1))[0, 4]
            ax = axes[i][j]
            ax.imshow(frame)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("clean" if j == 0 else f"severity {j}", fontsize=8)
            if j == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--severity", type=int, default=3)
    parser.add_argument("--gallery", type=Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for k in range(args.clips):
            clips.append(Path(tmp) / f"clip{k}.avi")
            make_clip(clips[-1], rng, 150)
        clean = _seconds(clips, None, 1, args.rounds)
        rows, results = [], {"clean_ms": clean * 1e3, "severity": args.severity, "ratio": {}}
        for name, c in C.CORRUPTIONS.items():
            t = _seconds(clips, name, args.severity, args.rounds)
            results["ratio"][name] = t / clean
            rows.append(
                {"corruption": name, "kind": c.kind, "ms/clip": round(t * 1e3, 1), "vs clean": round(t / clean, 2)}
            )
        if args.gallery:
            gallery(args.gallery, clips[0])
    print(f"clean decoding: {clean * 1e3:.1f} ms per clip (8 frames of a 150-frame 320x240 .avi)")
    print_table(rows, ["corruption", "kind", "ms/clip", "vs clean"])
    save("corruptions", results)


if __name__ == "__main__":
    main()
