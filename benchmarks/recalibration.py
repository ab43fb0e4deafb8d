"""Fitting time of each recalibration method on N x K val predictions, and its ratio to temperature scaling's.

Synthetic overconfident logits (tests/unit/test_calibration_zoo.py's kind), fitted one method after another in one
run, with the BLAS threads of the workflow's ``recalibrate`` job (``threads: 1``; Snakemake sets
``OPENBLAS_NUM_THREADS`` and the like to a job's threads). ``--cv`` also times the cross-validated strength search
(``recalibration-strength: cv``: one fit per grid value and fold, then the final fit) of vector, matrix and Dirichlet
scaling. Writes ``benchmarks/results/recalibration.json``.

    python benchmarks/recalibration.py [--n 10000] [--k 101] [--threads 1] [--cv]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import print_table, save
from threadpoolctl import threadpool_limits

from videoxai.calibration import zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--k", type=int, default=101)
    parser.add_argument("--methods", nargs="+", default=list(zoo.METHODS))
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (the recalibrate rule's threads: 1)")
    parser.add_argument("--cv", action="store_true", help="also time the cross-validated strength search")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = rng.integers(0, args.k, args.n)
    z = rng.normal(0, 1, (args.n, args.k))
    z[np.arange(args.n), y] += 2.5
    z *= 3
    seconds = {}
    with threadpool_limits(args.threads):
        for method in ["temperature", *(m for m in args.methods if m != "temperature")]:
            start = time.perf_counter()
            zoo.fit(method, z, y)
            seconds[method] = time.perf_counter() - start
        for method in [m for m in zoo.REGULARISED if m in args.methods] if args.cv else []:
            start = time.perf_counter()
            strength, _ = zoo.choose_strength(method, z, y)
            zoo.fit(method, z, y, lam=strength, mu=strength)
            seconds[f"{method} (cv)"] = time.perf_counter() - start
    rows = [
        {"method": m, "seconds": round(s, 2), "vs temperature": round(s / seconds["temperature"], 1)}
        for m, s in seconds.items()
    ]
    print(f"fitting on {args.n} x {args.k} val predictions, {args.threads} BLAS thread(s)")
    print_table(rows, ["method", "seconds", "vs temperature"])
    save("recalibration", {"n": args.n, "k": args.k, "threads": args.threads, "seconds": seconds})


if __name__ == "__main__":
    main()
