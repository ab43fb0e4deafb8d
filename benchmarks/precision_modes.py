"""Autocast vs weights cast once vs a whole-bfloat16 model, interleaved: the fairest timing on a shared machine.

``hardware.py`` times each mode once after the other, so on a machine shared
with other jobs a quiet or busy minute lands on one mode. Here the modes of
``hardware.py`` (``autocast``, ``cast``, ``low``) run in turn, ``--rounds``
times, on the same ViT-B/16-sized family (random weights, ``--batch`` clips
of 8 frames), and each mode's best and median seconds per clip are kept, as
the matmul rate is a best of several (a bfloat16 2048² matmul, measured in
every round; the fraction = FLOPs per clip / best seconds / best rate). Writes
benchmarks/results/precision_modes_b{batch}.json.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import time

import torch
from _common import print_table, save
from hardware import TINY_CLIP, forward_flops, matmul_rate, precision_mode
from models import CLASSES, prompt_tuning_model

from videoxai.demo.real_size import VIT_B16_CLIP


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", default="video_coop")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="autocast,cast,low")
    ap.add_argument("--size", choices=("base", "tiny"), default="base", help="tiny: check the script")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = VIT_B16_CLIP if args.size == "base" else TINY_CLIP
    model = prompt_tuning_model(args.family, config, CLASSES, frames=8).eval()
    clip = torch.randn(args.batch, 8, 3, model.input_spec.size, model.input_spec.size)
    modes = args.modes.split(",")
    flops = forward_flops(model, clip[:1])  # per clip (a batch's FLOPs are B times one clip's)
    rates: list[float] = []
    times: dict[str, list[float]] = {m: [] for m in modes}
    with contextlib.ExitStack() as stack:
        # one copy per mode, each with its own text-feature cache, held in its mode for the whole run
        runs = {m: stack.enter_context(precision_mode(copy.deepcopy(model), clip, "bfloat16", m)) for m in modes}
        for r in range(args.rounds + 1):  # round 0: warm-up (and each mode's text features, once as in a job)
            rates.append(matmul_rate(clip.device, "bfloat16", 2048, 2))
            for mode in modes:
                m, x = runs[mode]
                low_model = mode == "low"  # the modes' autocasts stay entered: the whole-bfloat16 model turns it off
                with torch.inference_mode(), torch.autocast(clip.device.type, torch.bfloat16, enabled=not low_model):
                    t = time.perf_counter()
                    m(x)
                    seconds = (time.perf_counter() - t) / args.batch
                if r:
                    times[mode].append(seconds)
                    print(f"round {r} {mode}: {seconds:.2f} s/clip", flush=True)
    rate = max(rates)
    rows = [
        {
            "family": args.family,
            "batch": args.batch,
            "mode": m,
            "best_s": min(t),
            "median_s": statistics.median(t),
            "gflop_per_clip": flops / 1e9,
            "matmul_gflops": rate / 1e9,
            "fraction_best": flops / min(t) / rate,
        }
        for m, t in times.items()
    ]
    print_table(
        rows, ["family", "batch", "mode", "best_s", "median_s", "gflop_per_clip", "matmul_gflops", "fraction_best"]
    )
    save(
        f"precision_modes_b{args.batch}" + ("" if args.size == "base" else "_tiny"),
        {"args": vars(args), "rows": rows, "times": times},
    )


if __name__ == "__main__":
    main()
