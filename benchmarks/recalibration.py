"""Fitting time of each recalibration method on N x K val predictions, and its ratio to temperature scaling's.

Synthetic overconfident logits (tests/unit/test_calibration_zoo.py's kind), fitted one method after another in one
run. Writes ``benchmarks/results/recalibration.json``.

    python benchmarks/recalibration.py [--n 10000] [--k 101]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import print_table, save

from videoxai.calibration import zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--k", type=int, default=101)
    parser.add_argument("--methods", nargs="+", default=list(zoo.METHODS))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = rng.integers(0, args.k, args.n)
    z = rng.normal(0, 1, (args.n, args.k))
    z[np.arange(args.n), y] += 2.5
    z *= 3
    seconds = {}
    for method in ["temperature", *(m for m in args.methods if m != "temperature")]:
        start = time.perf_counter()
        zoo.fit(method, z, y)
        seconds[method] = time.perf_counter() - start
    rows = [
        {"method": m, "seconds": round(s, 2), "vs temperature": round(s / seconds["temperature"], 1)}
        for m, s in seconds.items()
    ]
    print(f"fitting on {args.n} x {args.k} val predictions")
    print_table(rows, ["method", "seconds", "vs temperature"])
    save("recalibration", {"n": args.n, "k": args.k, "seconds": seconds})


if __name__ == "__main__":
    main()
