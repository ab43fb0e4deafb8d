"""Explainers side by side: time and extra peak memory per clip, as multiples of one forward pass (issue #31).

For each model (``--models``: the demo's space-time tower ``demo`` at 64 px, torchvision's ``r3d_18`` at
``--size``; random weights: the cost does not depend on them) and each explainer that applies to it (rollouts
need attention), one clip is explained ``--repeats`` times at the explainers' default options, in a fresh process
per explainer so that its peak memory is its own: the process's peak resident memory (CPU; the CUDA allocator's
peak on a GPU) after explaining, less the same peak after loading the model and one forward. In the same process
the plain forward of the clip is timed, so each row's ratio is measured side by side. Perturbation explainers
state their forward count (occlusion's boxes, RISE's masks). Prints the table and writes
benchmarks/results/explainers.json.

    python benchmarks/explainers.py [--models demo r3d_18] [--repeats 3] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import time

import torch
from _common import print_table, save

FRAMES = 8


def build(name: str, size: int):
    torch.manual_seed(0)
    classes = [f"c{i}" for i in range(8)]
    if name == "demo":
        from videoxai.models.families.demo.models import VideoCoOp

        return VideoCoOp(classes).eval(), 64
    from videoxai.models.families.torchvision_video import TorchvisionVideo

    cls = next(c for c in TorchvisionVideo.__subclasses__() if c.arch_name == name)
    return cls(classes, num_frames=FRAMES, size=size).eval(), size


def _peak_mb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(model_name: str, method: str, size: int, repeats: int, device: str, threads: int, out) -> None:
    """In a child process: forward and explanation times of one clip, and the explanation's extra peak memory."""
    torch.set_num_threads(threads)
    from videoxai.explain.methods import make_explainer

    model, side = build(model_name, size)
    model = model.to(device)
    video = torch.randn(1, FRAMES, 3, side, side, generator=torch.Generator().manual_seed(1)).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    forward = []
    with torch.no_grad():
        model(video)
        for _ in range(repeats):
            sync()
            start = time.perf_counter()
            model(video)
            sync()
            forward.append(time.perf_counter() - start)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    base = _peak_mb(device)
    try:
        explainer = make_explainer(method, model, {"target-class": "predicted"})
    except ValueError as e:  # e.g. a rollout on a model without attention
        out.put({"model": model_name, "explainer": method, "skipped": str(e).split(";")[0]})
        return
    explain = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        explainer(video, None, "predicted")
        sync()
        explain.append(time.perf_counter() - start)
    f, e = statistics.median(forward), statistics.median(explain)
    forwards = explainer.forwards(FRAMES, side, side) if hasattr(explainer, "forwards") else None
    out.put(
        {
            "model": model_name,
            "explainer": method,
            "forward_ms": 1000 * f,
            "explain_ms": 1000 * e,
            "x_forward": e / f,
            "masked_forwards": forwards,
            "extra_peak_mb": max(0.0, _peak_mb(device) - base),
        }
    )


def main() -> None:
    from videoxai.explain.methods import ALL_METHODS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["demo", "r3d_18"])
    ap.add_argument("--explainers", nargs="+", default=sorted(ALL_METHODS))
    ap.add_argument("--size", type=int, default=112, help="frame side of the torchvision models")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    rows = []
    for model_name in args.models:
        for method in args.explainers:
            q = ctx.Queue()
            p = ctx.Process(
                target=measure, args=(model_name, method, args.size, args.repeats, args.device, args.threads, q)
            )
            p.start()
            row = q.get()
            p.join()
            rows.append(row)
            print(row, flush=True)
    done = [r for r in rows if "skipped" not in r]
    print()
    print_table(
        done, ["model", "explainer", "forward_ms", "explain_ms", "x_forward", "masked_forwards", "extra_peak_mb"]
    )
    for r in rows:
        if "skipped" in r:
            print(f"skipped: {r['model']} / {r['explainer']}: {r['skipped']}")
    save("explainers", {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
