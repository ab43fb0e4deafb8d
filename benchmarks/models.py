"""Models: parameters and CPU forward time per clip of every adapter, side by side.

The three shipped demo checkpoints; prompt-tuning's six families (prompt-tuning's
models, :mod:`videoxai.models.families.prompt_tuning`) on a ViT-B/16-shaped CLIP backbone as
prompt-tuning trains them (random weights: timing only; one view of 8 frames,
where prompt-tuning evaluates 4 x 3 views); torchvision's
six video classifiers (random weights, their Kinetics input spec). Each
model runs one clip (batch 1) at its own input spec: ``--repeats`` timed
forwards after one warm-up, median reported, plus the ratio to the fastest.
The CLIP families run twice: with their text features cached across
inference batches (the default) and recomputed on every forward.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _common import print_table, save

from videoxai.demo.bundled import BUNDLED_KEYS, bundled_checkpoints_root
from videoxai.demo.real_size import RUNS, VIT_B16_CLIP
from videoxai.models.checkpoints.weights import load_checkpoint
from videoxai.models.families.registry import build_model

# openai/clip-vit-base-patch16's shapes, the backbone of every prompt-tuning run; RUNS: the architecture keys of
# prompt-tuning's published run configs (one place for the project: videoxai.demo.real_size)
VIT_B16 = VIT_B16_CLIP


def prompt_tuning_model(method: str, clip_config: dict, classes: list[str], frames: int = 8, **overrides):
    """Prompt-tuning's ``method`` on a random CLIP of ``clip_config``'s sizes, through the registry's clip path."""
    run = {**RUNS[method], "prompt-optimisation-method": method, **overrides}
    run["num-frames-temporal"] = frames
    if "num-frames" in run:
        run["num-frames"] = frames
    model = {"backbone": "clip", "clip_config": clip_config, "run_config": run}
    return build_model(method, {"class_names": classes, "model": model})


CLASSES = [f"class {i}" for i in range(101)]
TORCHVISION = ("r3d_18", "r2plus1d_18", "mc3_18", "s3d", "mvit_v2_s", "swin3d_t")


def builders(include_clip: bool):
    root = bundled_checkpoints_root()
    for key in BUNDLED_KEYS:
        yield key, lambda key=key: load_checkpoint(root / key)
    if include_clip:
        for method in RUNS:
            yield (
                f"{method} (prompt-tuning, ViT-B/16 CLIP, 8 frames)",
                lambda m=method: prompt_tuning_model(m, VIT_B16, CLASSES),
            )
    for arch in TORCHVISION:
        yield arch, lambda arch=arch: build_model(arch, {"class_names": [f"k{i}" for i in range(400)], "model": {}})


class _Recompute:
    """Stands in for the text-feature cache: recomputes every forward (prompt-tuning's behaviour), for the side-by-side."""

    def get(self, owner, compute):
        return compute()


def time_forward(model: torch.nn.Module, repeats: int) -> tuple[float, tuple[int, ...]]:
    spec = model.input_spec
    clip = torch.randn(1, spec.num_frames, 3, spec.size, spec.size)
    times = []
    with torch.inference_mode():
        model(clip)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            model(clip)
            times.append(time.perf_counter() - start)
    return statistics.median(times), tuple(clip.shape[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-clip", action="store_true", help="skip the prompt-tuning families on a ViT-B/16-sized CLIP")
    ap.add_argument("--only", help="run only the models whose name contains this (results go to models_only.json)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, build in builders(not args.no_clip):
        if args.only and args.only not in name:
            continue
        torch.manual_seed(0)
        model = build().eval()
        seconds, shape = time_forward(model, args.repeats)
        params = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        rows.append(
            {
                "model": name,
                "params": params,
                "trainable": trainable,
                "input": "x".join(map(str, shape)),
                "s_per_clip": seconds,
            }
        )
        print(f"{name}: {seconds:.3f} s/clip", flush=True)
        if hasattr(model, "_text_cache"):
            model._text_cache = _Recompute()
            again, _ = time_forward(model, args.repeats)
            rows.append(
                {
                    "model": f"{name}, text recomputed",
                    "params": params,
                    "trainable": trainable,
                    "input": rows[-1]["input"],
                    "s_per_clip": again,
                }
            )
            print(f"{name}, text features recomputed each forward: {again:.3f} s/clip", flush=True)
        del model
    fastest = min(r["s_per_clip"] for r in rows)
    for r in rows:
        r["x_fastest"] = r["s_per_clip"] / fastest
    print_table(rows, ["model", "params", "trainable", "input", "s_per_clip", "x_fastest"])
    save(
        "models_only" if args.only else "models",
        {"only": args.only, "threads": args.threads, "repeats": args.repeats, "rows": rows},
    )


if __name__ == "__main__":
    main()
