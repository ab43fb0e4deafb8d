"""Extraction efficiency and memory: the real extract stage vs its parts, side by side.

1. clips/s of the real extract stage (decode in workers + forward + Parquet)
   vs forward-only on pre-decoded tensors (same model, same batch size), and
   extraction wall vs decode-only wall + forward-only wall (goal on CPU:
   <= 1.1 x the sum).
2. peak RSS of one extract job at N and 10 x N clips (goal <= 1.15 x:
   streaming, not accumulating).
Imports (torch, the decoders) are timed apart from both sides: a fixed
start-up cost of every job, reported on its own line.
Uses the demo model architecture (random weights: timing does not depend on
them) and generated demo clips.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import print_table, save

WORKER = r"""
import time
t = time.perf_counter()
import json, sys, torch


def hwm_mb():
    # this process's own peak (VmHWM): getrusage's ru_maxrss keeps the parent's peak across fork + exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


from videoxai.data.decode import available_backends
from videoxai.extract.run import extract_predictions
available_backends()  # imports the decoders (torchcodec pulls in torch._dynamo), as the parent did before timing
startup = time.perf_counter() - t
torch.set_num_threads(int(sys.argv[5]))
t = time.perf_counter()
s = extract_predictions(sys.argv[1], {"name": "demo", "format": "ucf101", "root": sys.argv[2]}, sys.argv[3],
                        options={"split": "test"}, batch_size=int(sys.argv[4]), num_workers=int(sys.argv[6]))
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "startup": startup, "clips": s["clips"], "rss_mb": hwm_mb()}))
"""


def make_model(root: Path) -> Path:
    from videoxai.demo.dataset import DEMO_CLASSES
    from videoxai.io import write_json
    from videoxai.models.checkpoints.resolve import resolve_model
    from videoxai.models.checkpoints.weights import save_checkpoint
    from videoxai.models.families.registry import build_model

    model = build_model("video_coop", {"class_names": list(DEMO_CLASSES)})
    save_checkpoint(model, root / "checkpoints/video_coop/demo/bench")
    resolved = resolve_model("video_coop/demo/bench", root / "checkpoints")
    path = root / "resolved.json"
    write_json(path, resolved)
    return path


def run_extract(resolved: Path, data: Path, out: Path, batch: int, threads: int, workers: int) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(resolved), str(data), str(out), str(batch), str(threads), str(workers)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def decode_only(data: Path, spec, batch: int, workers: int):
    from videoxai.data.datasets import load_split
    from videoxai.data.loader import make_loader

    _, samples = load_split("ucf101", data, "test")
    t = time.perf_counter()
    videos = [b["video"] for b in make_loader(samples, spec, batch_size=batch, num_workers=workers)]
    return time.perf_counter() - t, videos


def forward_only(model, videos) -> float:
    import torch

    with torch.inference_mode():
        model(videos[0])  # warm-up
        t = time.perf_counter()
        for v in videos:
            model(v)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=200, help="N (the memory check also runs 10 x N)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the forward pass")
    args = ap.parse_args()

    import torch

    from videoxai.data.decode import available_backends
    from videoxai.demo.dataset import write_demo_dataset
    from videoxai.io import read_json
    from videoxai.models.checkpoints.resolve import load_resolved

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        small, large = root / "small", root / "large"
        write_demo_dataset(small, n_train=8, n_test=args.clips, seed=1)
        write_demo_dataset(large, n_train=8, n_test=10 * args.clips, seed=1)
        resolved = make_model(root)
        model = load_resolved(read_json(resolved)).eval()
        available_backends()  # decoder imports outside the timing, as in the extract job
        decode_s, videos = decode_only(small, model.input_spec, args.batch_size, args.workers)
        forward_s = forward_only(model, videos)
        decode_big, videos = decode_only(large, model.input_spec, args.batch_size, args.workers)
        forward_big = forward_only(model, videos)
        del videos
        ex = run_extract(resolved, small, root / "small.parquet", args.batch_size, args.threads, args.workers)
        big = run_extract(resolved, large, root / "large.parquet", args.batch_size, args.threads, args.workers)

    n = args.clips
    eff = [
        {"measure": "decode only (workers)", "clips_per_s": n / decode_s, "seconds": decode_s},
        {"measure": "forward only (pre-decoded)", "clips_per_s": n / forward_s, "seconds": forward_s},
        {"measure": "extract stage (decode+forward+parquet)", "clips_per_s": n / ex["wall"], "seconds": ex["wall"]},
        {"measure": "extract job start-up (imports, not in the ratio)", "clips_per_s": None, "seconds": ex["startup"]},
        {"measure": "decode only, 10 x N", "clips_per_s": 10 * n / decode_big, "seconds": decode_big},
        {"measure": "forward only, 10 x N", "clips_per_s": 10 * n / forward_big, "seconds": forward_big},
        {"measure": "extract stage, 10 x N", "clips_per_s": 10 * n / big["wall"], "seconds": big["wall"]},
    ]
    ratios = {
        "extract_over_decode_plus_forward": ex["wall"] / (decode_s + forward_s),
        "extract_over_decode_plus_forward_10N": big["wall"] / (decode_big + forward_big),
        "extract_over_forward_only_throughput": (n / ex["wall"]) / (n / forward_s),
        "extract_over_forward_only_throughput_10N": forward_big / big["wall"],  # issue #29: >= 0.9
        "peak_rss_10N_over_N": big["rss_mb"] / ex["rss_mb"],
    }
    print_table(eff, ["measure", "clips_per_s", "seconds"])
    print()
    mem = [{"clips": n, "peak_rss_mb": ex["rss_mb"]}, {"clips": 10 * n, "peak_rss_mb": big["rss_mb"]}]
    print_table(mem, ["clips", "peak_rss_mb"])
    print()
    for k, v in ratios.items():
        print(f"{k}: {v:.3f}")
    print(
        "goals: extract <= 1.1 x (decode + forward) on CPU; extract >= 0.9 x forward-only throughput at 10N; "
        "peak RSS at 10N <= 1.15 x at N"
    )
    save("extraction", {"args": vars(args), "efficiency": eff, "memory": mem, "ratios": ratios})


if __name__ == "__main__":
    main()
