"""Calibration metrics at scale: our ECE + adaptive ECE + class-wise ECE against torchmetrics' ECE alone.

    python benchmarks/calibration.py                       # 1,000,000 samples x 400 classes (~5 GB RAM)
    python benchmarks/calibration.py --n 100000 --k 100    # quick look

Both sides start from the same float32 probability matrix (the softmax is shared
preprocessing and done before timing; ``--from-logits`` times it on both sides
as well). torchmetrics runs ``multiclass_calibration_error`` as users call it
(``validate_args=True``) and without its input validation; ours computes all three
metrics. Each is timed ``--repeats`` times, alternating, and the minimum is kept
(the machine is shared; the minimum is the least disturbed run). Same thread
count on both sides (``--threads``, default 1). Goal: ours / torchmetrics <= 1.
Prints a table and writes ``benchmarks/results/calibration.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torchmetrics.functional.classification import multiclass_calibration_error

import videoxai
from videoxai.calibration.binned import Adaptive, Classwise, EqualWidth
from videoxai.calibration.metrics import top_label
from videoxai.io import write_json

RESULTS = Path(__file__).resolve().parent / "results" / "calibration.json"


def make_data(n: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 logits of a plausible, over-confident classifier: ~60% top-1, many confident rows."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, k, (n,), generator=g)
    logits = torch.randn(n, k, generator=g) * 2.0
    right = torch.rand(n, generator=g) < 0.6
    logits[right, labels[right]] += 6.0
    return logits, labels


def ours(probs: torch.Tensor, labels: torch.Tensor, n_bins: int) -> dict[str, float]:
    """ECE (+ RMS-CE, MCE: same bins), adaptive ECE and class-wise ECE from one probability matrix."""
    conf, correct = top_label(probs, labels)
    out = {k: float(v) for k, v in EqualWidth(conf, correct, n_bins).errors().items()}
    out["adaptive_ece"] = float(Adaptive(conf, correct, n_bins).error())
    out["classwise_ece"] = float(Classwise(probs, labels, n_bins).error())
    return out


def best_of(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--k", type=int, default=400)
    ap.add_argument("--bins", type=int, default=15)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--from-logits", action="store_true", help="also time softmax inside both sides")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    logits, labels = make_data(args.n, args.k, args.seed)
    probs = torch.softmax(logits, dim=1)
    if not args.from_logits:
        del logits
    print(
        f"{args.n:,} samples x {args.k} classes, {args.bins} bins, float32, {args.threads} thread(s), "
        f"best of {args.repeats}"
    )

    cases = {
        "torchmetrics ECE": lambda: float(multiclass_calibration_error(probs, labels, args.k, args.bins, "l1")),
        "torchmetrics ECE (validate_args=False)": lambda: float(
            multiclass_calibration_error(probs, labels, args.k, args.bins, "l1", validate_args=False)
        ),
        "ours ECE+RMS+MCE+adaptive+classwise": lambda: ours(probs, labels, args.bins),
    }
    if args.from_logits:
        cases["torchmetrics ECE from logits"] = lambda: float(
            multiclass_calibration_error(logits, labels, args.k, args.bins, "l1")
        )
        cases["ours all from logits"] = lambda: ours(torch.softmax(logits, dim=1), labels, args.bins)
    timings: dict[str, list[float]] = {name: [] for name in cases}
    values: dict[str, object] = {}
    for _ in range(args.repeats):  # alternate, so a busy moment hits every case alike
        for name, fn in cases.items():
            t, values[name] = best_of(fn, 1)
            timings[name].append(t)
    best = {name: min(ts) for name, ts in timings.items()}

    ref = best["torchmetrics ECE"]
    mine = values["ours ECE+RMS+MCE+adaptive+classwise"]
    diff = abs(mine["ece"] - values["torchmetrics ECE"])
    print(f"\n{'case':44s} {'seconds':>8s} {'vs torchmetrics':>16s}")
    for name, t in best.items():
        print(f"{name:44s} {t:8.3f} {t / ref:15.2f}x")
    print(f"\nECE ours {mine['ece']:.9f}  torchmetrics {values['torchmetrics ECE']:.9f}  |diff| {diff:.2e}")
    print(f"adaptive ECE {mine['adaptive_ece']:.6f}  class-wise ECE {mine['classwise_ece']:.8f}")
    ratio = best["ours ECE+RMS+MCE+adaptive+classwise"] / ref
    print(f"ratio ours (all three) / torchmetrics (ECE only) = {ratio:.2f}  (goal <= 1)")

    write_json(
        args.out,
        {
            "benchmark": "ECE + adaptive ECE + class-wise ECE (ours) vs torchmetrics multiclass_calibration_error (l1), "
            "same float32 probabilities, best of repeats",
            "command": "python benchmarks/calibration.py" + (" --from-logits" if args.from_logits else ""),
            "n": args.n,
            "k": args.k,
            "n_bins": args.bins,
            "threads": args.threads,
            "repeats": args.repeats,
            "seconds_best": best,
            "seconds_all": timings,
            "ratio_ours_all_over_torchmetrics_ece": ratio,
            "goal": "ratio <= 1",
            "ece_ours": mine["ece"],
            "ece_torchmetrics": values["torchmetrics ECE"],
            "ece_abs_diff": diff,
            "ours": mine,
            "machine": {
                "platform": platform.platform(),
                "cpu_count": os.cpu_count(),
                "torch": torch.__version__,
                "load_average_1min": os.getloadavg()[0],
                "python": platform.python_version(),
                "videoxai": videoxai.__version__,
            },
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
