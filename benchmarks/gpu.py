"""GPU: extraction throughput and the cost of capturing attention, on a ViT-B/16-sized CLIP video model.

Random weights (timing does not depend on them), AMP (bf16) on CUDA. Prints
clips/s of the fast path (fused attention, what extraction runs) and of
``forward_with_attention`` + rollout (what the explain stage runs), and their
ratio. ``--smoke`` runs a tiny configuration on the CPU to check the script.
"""

from __future__ import annotations

import argparse
import time

import torch

from _common import print_table, save

VIT_B16 = {
    "vision_config": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                      "num_attention_heads": 12, "patch_size": 16, "image_size": 224},
    "text_config": {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
                    "num_attention_heads": 8, "max_position_embeddings": 77},
    "projection_dim": 512,
}
TINY = {
    "vision_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                      "num_attention_heads": 2, "patch_size": 16, "image_size": 64},
    "text_config": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                    "num_attention_heads": 2, "max_position_embeddings": 77},
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
    args = ap.parse_args()

    from videoxai.explain.methods import make_explainer
    from videoxai.extract.device import autocast
    from videoxai.models.clip_video import ClipPromptVideo

    device = torch.device("cpu" if args.smoke else "cuda")
    clip_config = TINY if args.smoke else VIT_B16
    size = clip_config["vision_config"]["image_size"]
    classes = [f"class {i}" for i in range(101)]
    rows = []
    for method in ("video_coop", "dual_coop", "stt"):
        model = ClipPromptVideo(method, classes, {"clip_config": clip_config, "num_frames": args.frames}).to(device).eval()
        video = torch.randn(args.batch_size, args.frames, 3, size, size, device=device)

        def extract():
            with torch.inference_mode(), autocast(device):
                model(video)

        explainer = make_explainer("attention-rollout", model, {})

        def explain():
            with autocast(device):
                explainer.explain(video, None, "predicted")

        n = args.batch_size * args.batches
        fast = n / timed(extract, args.batches, device)
        slow = n / timed(explain, args.batches, device)
        rows.append({"model": method, "extract_clips_per_s": fast, "explain_clips_per_s": slow,
                     "explain_cost_x": fast / slow})
    print_table(rows, ["model", "extract_clips_per_s", "explain_clips_per_s", "explain_cost_x"])
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu (smoke)"
    print(f"device: {name}; {args.frames} frames of {size}px, batch {args.batch_size}")
    save("gpu" if not args.smoke else "gpu_smoke", {"device": name, "args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
