"""How often the calibration errors' 95% intervals contain the true value, on simulated data where it is known.

    python benchmarks/interval_coverage.py                  # 500 data sets per cell, 500 resamples each (~10 min)
    python benchmarks/interval_coverage.py --reps 100 --resamples 200   # quick look

A scenario draws top-label confidences ``c`` (``0.1 + 0.9 Beta(2.5, 1)``, like a
10-class model's) and outcomes ``y ~ Bernoulli(f(c))``, where ``f`` is the true
accuracy at confidence ``c``: ``f(c) = c`` is a calibrated model. The true binned
errors are the estimators on a 4-million-sample draw with ``y`` replaced by
``f(c)`` (no outcome noise). The class-wise scenarios draw 4-class probabilities
from a Dirichlet and labels from ``q ∝ p^(1/t)`` (``t = 1``: calibrated). Each
interval is the one ``metrics.json`` reports (:func:`videoxai.calibration.report.error_interval`:
Kumar et al.'s debiased bootstrap interval, from 0 where the test of perfect
calibration does not reject), beside the percentile interval the workflow used before.
Prints a table and writes ``benchmarks/results/interval_coverage.json``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videoxai.calibration.binned import Adaptive, Classwise, EqualWidth, bin_sums
from videoxai.calibration.binning import bin_edges, bin_index
from videoxai.calibration.bootstrap import resample_counts
from videoxai.calibration.intervals import chi2_sf, percentile_interval
from videoxai.calibration.report import error_interval

RESULTS = Path(__file__).resolve().parent / "results" / "interval_coverage.json"
N_BINS = 15
TOP_LABEL = ("ece", "rms_ce", "mce", "adaptive_ece")


@dataclass(frozen=True)
class Scenario:
    name: str
    accuracy: Callable[[np.ndarray], np.ndarray] | None = None  # top-label: true accuracy at confidence c
    sharpness: float | None = None  # class-wise: labels from q ∝ p^(1 / sharpness)


SCENARIOS = (
    Scenario("calibrated", accuracy=lambda c: c),
    Scenario("under-confident by 0.02", accuracy=lambda c: np.clip(c + 0.02, 0.0, 1.0)),
    Scenario("over-confident by 0.03", accuracy=lambda c: np.clip(c - 0.03, 0.0, 1.0)),
    Scenario("over-confident, c^1.6", accuracy=lambda c: c**1.6),
    Scenario("class-wise calibrated", sharpness=1.0),
    Scenario("class-wise over-confident (t = 1.5)", sharpness=1.5),
)


def confidences(n: int, rng: np.random.Generator) -> np.ndarray:
    return 0.1 + 0.9 * rng.beta(2.5, 1.0, n)


def class_probs(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.dirichlet(np.full(4, 0.7), n)


def true_label_probs(p: np.ndarray, sharpness: float) -> np.ndarray:
    q = p ** (1.0 / sharpness)
    return q / q.sum(axis=1, keepdims=True)


def true_values(s: Scenario, m: int = 4_000_000, seed: int = 99) -> dict[str, float]:
    """The population binned errors: the estimators with the outcome replaced by its probability."""
    rng = np.random.default_rng(seed)
    if s.accuracy is not None:
        c = confidences(m, rng)
        ew = EqualWidth(c, s.accuracy(c), N_BINS).errors()
        return {
            "ece": float(ew["ece"]),
            "rms_ce": float(ew["rms_ce"]),
            "mce": float(ew["mce"]),
            "adaptive_ece": float(Adaptive(c, s.accuracy(c), N_BINS).error()),
        }
    p = class_probs(m, rng)
    q = true_label_probs(p, s.sharpness)
    edges = bin_edges(N_BINS)
    total = 0.0
    for k in range(p.shape[1]):
        bins = bin_index(p[:, k], edges)
        total += np.abs(bin_sums(bins, p[:, k] - q[:, k], N_BINS)).sum() / m
    return {"classwise_ece": float(total / p.shape[1])}


def one_data_set(s: Scenario, n: int, resamples: int, rng: np.random.Generator, seed: int) -> dict[str, tuple]:
    """{metric: (plug-in, reported estimate, interval, percentile interval)} of one simulated data set."""
    counts = next(resample_counts(n, resamples, seed, batch=resamples))
    if s.accuracy is not None:
        c = confidences(n, rng)
        y = rng.uniform(size=n) < s.accuracy(c)
        ew, ad = EqualWidth(c, y, N_BINS), Adaptive(c, y, N_BINS)
        point = {k: float(v) for k, v in ew.errors().items()}
        samples = dict(ew.errors(counts))
        point["adaptive_ece"], point["adaptive_ece_debiased"] = float(ad.error()), float(ad.debiased())
        samples["adaptive_ece"], samples["adaptive_ece_debiased"] = ad.error(counts), ad.debiased(counts)
        p_values = {"ece": chi2_sf(*ew.test()), "adaptive_ece": chi2_sf(*ad.test())}
        names = {m: p_values["adaptive_ece" if m == "adaptive_ece" else "ece"] for m in TOP_LABEL}
    else:
        p = class_probs(n, rng)
        q = true_label_probs(p, s.sharpness)
        y = (q.cumsum(axis=1) > rng.uniform(size=(n, 1))).argmax(axis=1)
        cw = Classwise(p, y, N_BINS)
        point = {"classwise_ece": float(cw.error()), "classwise_ece_debiased": float(cw.debiased())}
        samples = {"classwise_ece": cw.error(counts), "classwise_ece_debiased": cw.debiased(counts)}
        names = {"classwise_ece": chi2_sf(*cw.test())}
    out = {}
    for metric, p_value in names.items():
        estimate, interval = error_interval(metric, point, samples, p_value)
        out[metric] = (point[metric], estimate, interval, percentile_interval(samples[metric]))
    return out


def coverage(s: Scenario, n: int, reps: int, resamples: int, seed: int = 0) -> dict[str, dict[str, float]]:
    """Per metric: how often each interval holds the true value, and how often it holds its own estimate."""
    truth = true_values(s)
    rng = np.random.default_rng(seed)
    tally: dict[str, dict[str, float]] = {}
    for r in range(reps):
        for metric, (plugin, estimate, interval, pct) in one_data_set(s, n, resamples, rng, seed + r).items():
            t = tally.setdefault(metric, dict.fromkeys(("covers", "percentile_covers", "holds_estimate"), 0.0))
            t["covers"] += interval[0] <= truth[metric] <= interval[1]
            t["percentile_covers"] += pct[0] <= truth[metric] <= pct[1]
            t["holds_estimate"] += interval[0] <= estimate <= interval[1]
            t["percentile_holds_plugin"] = t.get("percentile_holds_plugin", 0.0) + (pct[0] <= plugin <= pct[1])
    return {m: {"true": truth[m], **{k: v / reps for k, v in t.items()}} for m, t in sorted(tally.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=500, help="simulated data sets per cell")
    parser.add_argument("--resamples", type=int, default=500, help="bootstrap resamples per data set")
    parser.add_argument("--n", type=int, nargs="+", default=[100, 400, 2000], help="samples per data set")
    args = parser.parse_args()
    from videoxai.io import write_json

    rows = []
    start = time.perf_counter()
    print(f"{'scenario':38s} {'n':>5s} {'metric':13s} {'true':>7s} {'ours':>5s} {'pct':>5s} {'holds est.':>10s}")
    for s in SCENARIOS:
        for n in args.n:
            for metric, c in coverage(s, n, args.reps, args.resamples).items():
                rows.append({"scenario": s.name, "n": n, "metric": metric, **c})
                print(
                    f"{s.name:38s} {n:5d} {metric:13s} {c['true']:7.4f} {c['covers']:5.2f} "
                    f"{c['percentile_covers']:5.2f} {c['holds_estimate']:10.2f}",
                    flush=True,
                )
    write_json(
        RESULTS,
        {
            "benchmark": "coverage of the calibration errors' 95% intervals on simulated data (nominal 0.95)",
            "command": "python benchmarks/interval_coverage.py",
            "reps": args.reps,
            "resamples": args.resamples,
            "n_bins": N_BINS,
            "seconds": round(time.perf_counter() - start, 1),
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
