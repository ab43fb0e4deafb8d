"""GPU: extraction throughput and the cost of capturing attention, on prompt-tuning's models at ViT-B/16 size.

Prompt-tuning's three families (:mod:`videoxai.models.families.prompt_tuning`, prompt-tuning's
models) built from a ``CLIPConfig`` of openai/clip-vit-base-patch16's sizes
with random weights (timing does not depend on them), AMP (bf16) on CUDA.
Prints clips/s of the fast path (fused attention, what extraction runs;
``--views`` views of ``--frames`` frames per clip, prompt-tuning evaluates 12)
and of ``forward_with_attention`` + rollout on one view (what the explain
stage runs), and their ratio. It first checks, in float32, that the fast
path and the attention path give the same logits. ``--smoke`` runs a tiny
configuration on the CPU to check the script.
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import print_table, save

TINY = {
    "vision_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "patch_size": 16,
        "image_size": 64,
    },
    "text_config": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 77,
    },
    "projection_dim": 32,
}


def timed(fn, batches: int, device: torch.device) -> float:
    fn()  # warm-up (kernels, autotuning)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(batches):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true", help="tiny config on the CPU")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--views", type=int, default=1, help="views per clip in extraction (prompt-tuning: 4 x 3 = 12)")
    args = ap.parse_args()

    from models import VIT_B16, prompt_tuning_model  # benchmarks/models.py: the same prompt-tuning run configs

    from videoxai.explain.methods import make_explainer
    from videoxai.setup.device import autocast

    device = torch.device("cpu" if args.smoke else "cuda")
    clip_config = TINY if args.smoke else VIT_B16
    size = clip_config["vision_config"]["image_size"]
    classes = [f"class {i}" for i in range(101)]
    rows = []
    for method in ("video_coop", "dual_coop", "stt"):
        torch.manual_seed(0)
        small = {"num-heads-summary-attention": 2} if args.smoke else {}  # the tiny width takes 2 heads
        model = prompt_tuning_model(method, clip_config, classes, args.frames, **small).to(device).eval()
        video = torch.randn(args.batch_size, args.views, args.frames, 3, size, size, device=device)
        one_view = video[:, 0]
        with torch.no_grad():  # float32: the explain path computes what the fast path computes
            fast_logits = model(one_view[:2])
            slow_logits, _ = model.forward_with_attention(one_view[:2])
        max_diff = (fast_logits - slow_logits).abs().max().item()

        def extract(model=model, video=video):
            with torch.inference_mode(), autocast(device, "bfloat16"):
                model(video)

        explainer = make_explainer("attention-rollout", model, {})

        def explain(explainer=explainer, one_view=one_view):
            with autocast(device, "bfloat16"):
                explainer.explain(one_view, None, "predicted")

        n = args.batch_size * args.batches
        fast = n / timed(extract, args.batches, device)
        slow = n / timed(explain, args.batches, device)
        peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")
        rows.append(
            {
                "model": method,
                "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
                "extract_clips_per_s": fast,
                "extract_frames_per_s": fast * args.views * args.frames,
                "explain_clips_per_s": slow,
                "explain_cost_x": fast * args.views / slow,
                "fast_vs_attention_max_diff": max_diff,
                "peak_GiB": peak,
            }
        )
        del model, explainer
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
    print_table(
        rows,
        [
            "model",
            "params_M",
            "extract_clips_per_s",
            "extract_frames_per_s",
            "explain_clips_per_s",
            "explain_cost_x",
            "fast_vs_attention_max_diff",
            "peak_GiB",
        ],
    )
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu (smoke)"
    print(
        f"device: {name}; {args.views} view(s) x {args.frames} frames of {size}px, batch {args.batch_size}; "
        f"explain_cost_x: extraction time per view vs explanation time per view"
    )
    save("gpu" if not args.smoke else "gpu_smoke", {"device": name, "args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
