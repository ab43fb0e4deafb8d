"""How far a temperature fitted on a small val split strays: the spread of T against the number of misclassified clips.

    python benchmarks/temperature_spread.py            # 200 val splits per row (~2 min)

Val splits are drawn from a model whose logits are twice what its labels follow
(the best T is 2): logits ``s * N(0, 1)`` per class, labels from ``softmax(logits / 2)``.
Each row fits T on 200 such splits and prints the median number of misclassified
clips and the 5-95% range of T relative to its median. It is what
``temperature.MIN_VAL_CLIPS`` and ``MIN_VAL_ERRORS`` rest on (docs/calibration.md).
Writes ``benchmarks/results/temperature_spread.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from videoxai.calibration.temperature import fit_temperature
from videoxai.io import write_json

RESULTS = Path(__file__).resolve().parent / "results" / "temperature_spread.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    print(
        f"{'classes':>7s} {'scale':>5s} {'clips':>5s} {'errors':>6s} {'T 5%':>6s} {'T 50%':>6s} {'T 95%':>6s} {'+-':>5s}"
    )
    for k, scale in ((10, 3.0), (10, 20.0), (101, 6.0)):
        for n in (25, 50, 100, 200, 400, 1000):
            temps, errors = [], []
            for _ in range(args.splits):
                z = rng.normal(size=(n, k)) * scale
                p = np.exp(z / 2.0 - (z / 2.0).max(axis=1, keepdims=True))
                p /= p.sum(axis=1, keepdims=True)
                y = (p.cumsum(axis=1) > rng.uniform(size=(n, 1))).argmax(axis=1)
                fit = fit_temperature(z, y)
                temps.append(fit.temperature)
                errors.append(fit.errors)
            lo, mid, hi = np.quantile(temps, [0.05, 0.5, 0.95])
            row = {
                "classes": k,
                "scale": scale,
                "clips": n,
                "median_errors": float(np.median(errors)),
                "t_5": float(lo),
                "t_50": float(mid),
                "t_95": float(hi),
                "half_range": float((hi - lo) / 2 / mid),
            }
            rows.append(row)
            print(
                f"{k:7d} {scale:5.0f} {n:5d} {row['median_errors']:6.0f} {lo:6.2f} {mid:6.2f} {hi:6.2f} "
                f"{100 * row['half_range']:4.0f}%",
                flush=True,
            )
    write_json(
        RESULTS, {"benchmark": "spread of a fitted temperature (best T = 2)", "splits": args.splits, "rows": rows}
    )


if __name__ == "__main__":
    main()
