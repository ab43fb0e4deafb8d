"""The models against the machine: matmul rate, FLOPs per clip, forward time and the achieved fraction, side by side.

In one run, for each precision (``--precisions``, autocast as the workflow's
``precision`` option runs it): the machine's own dense matmul rate
(``--matmul-size`` square, best of ``--repeats``), measured again next to
each model's timing so that a busy machine slows both sides alike; each
prompt-tuning family's forward FLOPs per clip (one view of ``--frames``
frames, counted by ``torch.utils.flop_counter.FlopCounterMode`` with the
explicit attention kernel so attention's matmuls are counted too; the fused
kernel does the same arithmetic; the class text features, which a job
computes once, are left out as they are from the timing) and its forward
time per clip (median of
``--repeats``, fused attention as extraction runs it); the achieved fraction
= (FLOPs / time) / matmul rate of that precision. Then the extraction job
(the real ``extract_predictions``: decode in workers, forward, Parquet) vs
forward-only on the same clips pre-decoded, for a shipped demo model on
``--clips`` generated demo clips: the ratio of their clips/s.

The families run on a CLIP of openai/clip-vit-base-patch16's sizes with
random weights (timing and FLOPs do not depend on them). ``--size tiny``
runs a small CLIP to check the script. Writes benchmarks/results/hardware.json
(``--out`` names another). On a GPU machine run ``benchmarks/gpu.sh``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _common import print_table, save
from models import CLASSES, prompt_tuning_model

from videoxai.demo.real_size import VIT_B16_CLIP
from videoxai.models.kernels import use_attention_kernel
from videoxai.setup.device import PRECISIONS, autocast, pick_device

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


def forward_seconds(model: torch.nn.Module, clip: torch.Tensor, precision: str, repeats: int) -> float:
    """Median seconds of one forward in ``precision`` (fused attention, text features cached as in extraction)."""
    device = clip.device
    times = []
    with torch.inference_mode(), autocast(device, precision):
        model(clip)  # warm-up (and the text features, once per job)
        for _ in range(repeats):
            sync(device)
            t = time.perf_counter()
            model(clip)
            sync(device)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def model_rows(args: argparse.Namespace, device: torch.device) -> list[dict]:
    clip_config = VIT_B16_CLIP if args.size == "base" else TINY_CLIP
    rows = []
    for method in args.families.split(","):
        torch.manual_seed(0)
        model = prompt_tuning_model(method, clip_config, CLASSES, frames=args.frames).eval().to(device)
        size = model.input_spec.size
        clip = torch.randn(args.batch, args.frames, 3, size, size, device=device)
        flops = forward_flops(model, clip) / args.batch
        for precision in args.precisions.split(","):
            rate = matmul_rate(device, precision, args.matmul_size, args.repeats)
            seconds = forward_seconds(model, clip, precision, args.repeats) / args.batch
            achieved = flops / seconds
            rows.append(
                {
                    "family": method,
                    "precision": precision,
                    "gflop_per_clip": flops / 1e9,
                    "s_per_clip": seconds,
                    "gflops": achieved / 1e9,
                    "matmul_gflops": rate / 1e9,
                    "fraction": achieved / rate,
                }
            )
            print(
                f"{method} {precision}: {flops / 1e9:.1f} GFLOP/clip, {seconds:.3f} s/clip, {achieved / 1e9:.1f} "
                f"GFLOP/s = {achieved / rate:.2f} of the {rate / 1e9:.0f} GFLOP/s matmul",
                flush=True,
            )
        del model
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
            with torch.inference_mode(), autocast(device, precision):
                for video in batches:
                    model(video.to(device)).float().cpu()
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
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precisions", default="float32,bfloat16")
    ap.add_argument("--families", default="video_coop,dual_coop,stt")
    ap.add_argument("--size", choices=("base", "tiny"), default="base")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--batch", type=int, default=1, help="clips per forward")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--matmul-size", type=int, default=2048)
    ap.add_argument("--clips", type=int, default=40, help="demo clips of the extraction comparison (0: skip it)")
    ap.add_argument("--extract-model", default="video_coop/demo/tiny")
    ap.add_argument("--extract-batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="hardware")
    args = ap.parse_args()
    device = pick_device(args.device)
    torch.set_num_threads(args.threads)
    for p in args.precisions.split(","):
        autocast(device, p)  # a bad name fails before anything runs
    rows = model_rows(args, device)
    print()
    print_table(rows, ["family", "precision", "gflop_per_clip", "s_per_clip", "gflops", "matmul_gflops", "fraction"])
    extraction = extraction_rows(args, device) if args.clips else []
    if extraction:
        print()
        cols = ["model", "precision", "clips", "job_clips_per_s", "forward_clips_per_s", "job_over_forward"]
        print_table(extraction, cols)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    save(
        args.out,
        {"device": device_name, "args": vars(args), "forward": rows, "extraction": extraction},
    )


if __name__ == "__main__":
    main()
