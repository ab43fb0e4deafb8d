"""The models against the machine: matmul rate, FLOPs per clip, forward time and the achieved fraction, side by side.

In one run, for each precision (``--precisions``) and, for a low one, each
way of running it (``--modes``: ``autocast`` from float32 weights, ``cast``
= autocast with the linear/conv weights cast once as extraction runs it,
``low`` = the whole model in the low dtype, ``compile`` = ``cast`` through
torch.compile as ``compile: true`` runs it, float32 too; each row also gives its logits'
largest difference from float32's, relative to their largest) and each
batch of ``--batch`` clips per forward: the machine's own dense matmul rate
(``--matmul-size`` square, best of ``--repeats``), measured again next to
each model's timing so that a busy machine slows both sides alike; each
prompt-tuning family's forward FLOPs per clip (one view of ``--frames``
frames, counted by ``torch.utils.flop_counter.FlopCounterMode`` with the
explicit attention kernel so attention's matmuls are counted too; the fused
kernel does the same arithmetic; the class text features, which a job
computes once, are left out as they are from the timing) and its forward
time per clip (median of
``--repeats``, fused attention as extraction runs it); the achieved fraction
= (FLOPs / time) / matmul rate of that precision, and against the best rate
of that precision measured anywhere in the run (``fraction_of_best``: a quiet
machine's rate still moves by a quarter between measurements). Then the extraction job
(the real ``extract_predictions``: decode in workers, forward, Parquet) vs
forward-only on the same clips pre-decoded, for a shipped demo model on
``--clips`` generated demo clips: the ratio of their clips/s. ``--profile N``
adds the top N operators (self CPU time, torch.profiler) of one forward of
the first family in each precision and mode.

The families run on a CLIP of openai/clip-vit-base-patch16's sizes with
random weights (timing and FLOPs do not depend on them). ``--size tiny``
runs a small CLIP to check the script. Writes benchmarks/results/hardware.json
(``--out`` names another). On a GPU machine run ``benchmarks/gpu.sh``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _common import print_table, save
from models import CLASSES, prompt_tuning_model

from videoxai.demo.real_size import VIT_B16_CLIP
from videoxai.models.kernels import use_attention_kernel
from videoxai.setup.device import PRECISIONS, autocast, compiled, pick_device, precision_weights

TINY_CLIP = {
    "text_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2},
    "vision_config": {
        "hidden_size": 96,  # divisible by stt's summary attention heads
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": 64,
        "patch_size": 16,
    },
    "projection_dim": 64,
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_rate(device: torch.device, precision: str, n: int, repeats: int) -> float:
    """FLOP/s of an ``n x n`` matmul in ``precision`` (inputs in that dtype, as autocast hands them), best of ``repeats``."""
    dtype = PRECISIONS[precision]
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def forward_flops(model: torch.nn.Module, clip: torch.Tensor) -> int:
    """FLOPs of one forward as a job runs it (text features cached), attention explicit so every product counts."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), use_attention_kernel("eager"):
        model(clip)  # the text features a job computes once (cached; stt's depend on the clip and still count)
        with counter:
            model(clip)
    return counter.get_total_flops()


MODES = {
    "autocast": "autocast, float32 weights (cast on every forward)",
    "cast": "autocast, linear/conv weights cast once (the workflow's)",
    "low": "whole model in the low dtype, no autocast (other numbers)",
    "compile": "as cast (float32: as is), through torch.compile (inductor, frozen weights): fused kernels",
}


def timed_modes(precision: str, modes: str) -> list[str]:
    """The modes timed for ``precision``: a low one each of ``modes``; float32 as is, and compiled when ``modes``
    asks for ``compile``."""
    if precision != "float32":
        return modes.split(",")
    return ["autocast"] + (["compile"] if "compile" in modes.split(",") else [])


def mode_name(precision: str, mode: str) -> str:
    return "float32" if precision == "float32" and mode == "autocast" else mode


@contextlib.contextmanager
def precision_mode(model: torch.nn.Module, clip: torch.Tensor, precision: str, mode: str):
    """The model and clip to time for ``precision`` run as ``mode`` (float32: as is, whatever the mode)."""
    device = clip.device
    if mode == "compile":  # as extraction runs compile: true
        with precision_weights(model, precision), autocast(device, precision), compiled(model, True, device) as m:
            yield m, clip
    elif precision == "float32" or mode == "autocast":
        with autocast(device, precision):
            yield model, clip
    elif mode == "cast":
        with precision_weights(model, precision), autocast(device, precision):
            yield model, clip
    else:
        dtype = PRECISIONS[precision]
        yield copy.deepcopy(model).to(dtype), clip.to(dtype)


def forward_seconds(
    model: torch.nn.Module, clip: torch.Tensor, precision: str, mode: str, repeats: int
) -> tuple[float, torch.Tensor]:
    """Median seconds of one forward in ``precision`` run as ``mode`` (fused attention, text features cached as in
    extraction) and its logits."""
    device = clip.device
    times = []
    with precision_mode(model, clip, precision, mode) as (m, x), torch.inference_mode():
        logits = m(x).float()  # warm-up (and the text features, once per job)
        for _ in range(repeats):
            sync(device)
            t = time.perf_counter()
            m(x)
            sync(device)
            times.append(time.perf_counter() - t)
    return statistics.median(times), logits


def model_rows(args: argparse.Namespace, device: torch.device) -> list[dict]:
    clip_config = VIT_B16_CLIP if args.size == "base" else TINY_CLIP
    rows = []
    for method in args.families.split(","):
        torch.manual_seed(0)
        model = prompt_tuning_model(method, clip_config, CLASSES, frames=args.frames).eval().to(device)
        size = model.input_spec.size
        for batch in (int(b) for b in str(args.batch).split(",")):
            clip = torch.randn(batch, args.frames, 3, size, size, device=device, generator=None)
            flops = forward_flops(model, clip) / batch
            reference = None
            for precision in args.precisions.split(","):
                for mode in timed_modes(precision, args.modes):
                    rate = matmul_rate(device, precision, args.matmul_size, args.repeats)
                    seconds, logits = forward_seconds(model, clip, precision, mode, args.repeats)
                    seconds /= batch
                    reference = logits if reference is None else reference
                    achieved = flops / seconds
                    diff = (logits - reference).abs().max().item() / reference.abs().max().item()
                    rows.append(
                        {
                            "family": method,
                            "batch": batch,
                            "precision": precision,
                            "mode": mode_name(precision, mode),
                            "gflop_per_clip": flops / 1e9,
                            "s_per_clip": seconds,
                            "gflops": achieved / 1e9,
                            "matmul_gflops": rate / 1e9,
                            "fraction": achieved / rate,
                            "logit_diff_rel": diff,
                        }
                    )
                    print(
                        f"{method} x{batch} {precision} {rows[-1]['mode']}: {flops / 1e9:.1f} GFLOP/clip, "
                        f"{seconds:.3f} s/clip, {achieved / 1e9:.1f} GFLOP/s = {achieved / rate:.2f} of the "
                        f"{rate / 1e9:.0f} GFLOP/s matmul; logits {diff:.2e} of float32's largest from it",
                        flush=True,
                    )
        del model
    return rows


def with_best_rate(rows: list[dict]) -> list[dict]:
    """Each row's fraction also against the best matmul rate of its precision in the run (the machine's ceiling)."""
    best = {}
    for row in rows:
        best[row["precision"]] = max(best.get(row["precision"], 0.0), row["matmul_gflops"])
    return [{**row, "fraction_of_best": row["gflops"] / best[row["precision"]]} for row in rows]


def profile_rows(args: argparse.Namespace, device: torch.device) -> list[dict]:
    """The top operators (self CPU time) of one forward of the first family per precision and mode."""
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(0)
    method = args.families.split(",")[0]
    clip_config = VIT_B16_CLIP if args.size == "base" else TINY_CLIP
    model = prompt_tuning_model(method, clip_config, CLASSES, frames=args.frames).eval().to(device)
    size = model.input_spec.size
    clip = torch.randn(1, args.frames, 3, size, size, device=device)
    rows = []
    for precision in args.precisions.split(","):
        for mode in timed_modes(precision, args.modes):
            with precision_mode(model, clip, precision, mode) as (m, x), torch.inference_mode():
                m(x)  # warm-up, text features
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    m(x)
            events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
            total = sum(e.self_cpu_time_total for e in events)
            for e in events[: args.profile]:
                rows.append(
                    {
                        "family": method,
                        "precision": precision,
                        "mode": mode_name(precision, mode),
                        "op": e.key,
                        "calls": e.count,
                        "self_s": e.self_cpu_time_total / 1e6,
                        "share": e.self_cpu_time_total / total,
                    }
                )
                print(rows[-1], flush=True)
    return rows


def extraction_rows(args: argparse.Namespace, device: torch.device) -> list[dict]:
    """The real extract job vs forward-only on the same clips, pre-decoded (same model, batch size, precision)."""
    from videoxai.data.datasets import load_split
    from videoxai.data.loader import make_loader
    from videoxai.demo.bundled import bundled_checkpoints_root
    from videoxai.demo.dataset import write_demo_dataset
    from videoxai.extract.run import extract_predictions
    from videoxai.io import write_json
    from videoxai.models.checkpoints.resolve import load_resolved, resolve_model

    rows = []
    threads = torch.get_num_threads()
    torch.set_num_threads(args.extract_threads or threads)  # both sides alike
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        write_demo_dataset(root, n_train=8, n_test=args.clips, seed=0)
        dataset = {"name": "demo", "format": "ucf101", "root": str(root), "split-id": 1}
        resolved = resolve_model(args.extract_model, bundled_checkpoints_root())
        write_json(Path(tmp) / "resolved.json", resolved)
        model = load_resolved(resolved).eval().to(device)
        _, samples = load_split("ucf101", root, "test")
        batches = [
            b["video"] for b in make_loader(samples, model.input_spec, args.extract_batch, num_workers=0)
        ]  # decoded once, outside the timing
        for precision in args.precisions.split(","):
            options = {"split": "test", "use-augmentation": False, "use-handcrafted-prompts": False}
            options["num-temporal-views"] = None
            if precision != "float32":
                options["precision"] = precision
            t = time.perf_counter()
            extract_predictions(
                Path(tmp) / "resolved.json",
                dataset,
                Path(tmp) / f"{precision}.parquet",
                options=options,
                batch_size=args.extract_batch,
                num_workers=args.workers,
                device=str(device),
            )
            job = time.perf_counter() - t
            t = time.perf_counter()
            with precision_mode(model, batches[0], precision, "cast") as (m, _), torch.inference_mode():
                for video in batches:
                    m(video.to(device)).float().cpu()
            sync(device)
            forward = time.perf_counter() - t
            rows.append(
                {
                    "model": args.extract_model,
                    "precision": precision,
                    "clips": len(samples),
                    "job_clips_per_s": len(samples) / job,
                    "forward_clips_per_s": len(samples) / forward,
                    "job_over_forward": forward / job,
                }
            )
            print(
                f"extraction {args.extract_model} {precision}: job {len(samples) / job:.1f} clips/s, forward-only "
                f"{len(samples) / forward:.1f} clips/s, job / forward-only = {forward / job:.2f}",
                flush=True,
            )
    torch.set_num_threads(threads)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precisions", default="float32,bfloat16")
    ap.add_argument("--families", default="video_coop,dual_coop,stt")
    ap.add_argument("--size", choices=("base", "tiny"), default="base")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--batch", default="1", help="clips per forward, comma-separated for several")
    ap.add_argument(
        "--modes",
        default="autocast,cast,low",
        help="how a low precision runs: " + "; ".join(f"{k}: {v}" for k, v in MODES.items()),
    )
    ap.add_argument("--profile", type=int, default=0, help="the top N operators of each mode (0: no profile)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--matmul-size", type=int, default=2048)
    ap.add_argument("--clips", type=int, default=40, help="demo clips of the extraction comparison (0: skip it)")
    ap.add_argument("--extract-model", default="video_coop/demo/tiny")
    ap.add_argument("--extract-batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--extract-threads", type=int, default=0, help="torch threads of the extraction comparison (0: --threads)"
    )
    ap.add_argument("--out", default="hardware")
    args = ap.parse_args()
    device = pick_device(args.device)
    torch.set_num_threads(args.threads)
    for p in args.precisions.split(","):
        autocast(device, p)  # a bad name fails before anything runs
    rows = with_best_rate(model_rows(args, device))
    print()
    cols = ["family", "batch", "precision", "mode", "gflop_per_clip", "s_per_clip", "gflops", "matmul_gflops"]
    print_table(rows, [*cols, "fraction", "fraction_of_best", "logit_diff_rel"])
    profiled = profile_rows(args, device) if args.profile else []
    extraction = extraction_rows(args, device) if args.clips else []
    if extraction:
        print()
        cols = ["model", "precision", "clips", "job_clips_per_s", "forward_clips_per_s", "job_over_forward"]
        print_table(extraction, cols)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    save(
        args.out,
        {"device": device_name, "args": vars(args), "forward": rows, "profile": profiled, "extraction": extraction},
    )


if __name__ == "__main__":
    main()
