"""Can prompt-tuning's families learn the demo's time-reversed classes? Train them on the demo and look.

The demo's ``MoveLeft``, ``MoveUp`` and ``Shrink`` are exact time reversals
of ``MoveRight``, ``MoveDown`` and ``Grow``, so a model that ignores frame
order is capped at 5/8 = 62.5 %. This script (1) measures, on the demo's
test clips, how far each family's logits move when a clip's frames are
reversed, and (2) trains each family as prompt-tuning does (CLIP frozen, only
the context learner trained) on the demo for ``--steps`` steps and reports
test accuracy, overall and on the reversal pairs.

The backbone is a small random CLIP (64 px, patch 8, width 64, 2 layers):
no pretrained CLIP is available offline, so the absolute accuracies say
little about a real CLIP; the order (in)sensitivity is architectural and
does not depend on the weights.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from _common import print_table, save
from models import origin_model

from videoxai.demo.dataset import DEMO_CLASSES, write_demo_dataset
from videoxai.demo.train import TrainConfig, evaluate, fit, load_clips, normalise_batch
from videoxai.models.base import InputSpec
from videoxai.models.families.prompt_tuning import CLIP_MEAN, CLIP_STD

SMALL_CLIP = {
    "vision_config": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "patch_size": 8,
        "image_size": 64,
    },
    "text_config": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "max_position_embeddings": 77,
    },
    "projection_dim": 64,
}
PAIRS = [("MoveRight", "MoveLeft"), ("MoveDown", "MoveUp"), ("Grow", "Shrink")]
FAMILIES = {  # prompt-tuning's published options; 4 summary heads fit the width of 64
    "video_coop": {"temporal-pooling": "attention"},
    "dual_coop": {"temporal-pooling": "attention"},
    "stt": {"num-heads-summary-attention": 4},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", type=Path, help="demo dataset folder (made there if missing; default: a temp folder)")
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-test", type=int, default=400)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--frozen", action="store_true", help="freeze the CLIP, as prompt-tuning trains (default: train it)"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    root = args.root or Path(tempfile.mkdtemp(prefix="videoxai-demo-")) / "demo"
    write_demo_dataset(root, n_train=args.n_train, n_test=args.n_test, seed=0)
    spec = InputSpec(num_frames=8, size=64, mean=CLIP_MEAN, std=CLIP_STD)
    train_x, train_y, names = load_clips(root, "train", spec)
    test_x, test_y, _ = load_clips(root, "test", spec)
    pair_classes = torch.tensor([names.index(c) for pair in PAIRS for c in pair])
    in_pairs = torch.isin(test_y, pair_classes)
    rows = []
    for family, options in FAMILIES.items():
        method = family.split()[0]
        torch.manual_seed(0)
        model = origin_model(method, SMALL_CLIP, names, 8, **options)
        model.clip.requires_grad_(not args.frozen)
        with torch.inference_mode():
            clips = normalise_batch(test_x[:64], model.input_spec)
            reversal = (model(clips) - model(clips.flip(1))).abs().max().item()
        start = time.perf_counter()
        history = fit(
            model, train_x, train_y, TrainConfig(steps=args.steps, lr=args.lr, threads=args.threads), progress=False
        )
        test = evaluate(model, test_x, test_y, names)
        pairs = evaluate(model, test_x[in_pairs], test_y[in_pairs], names)
        rest = evaluate(model, test_x[~in_pairs], test_y[~in_pairs], names)
        rows.append(
            {
                "family": family,
                "reversal_max_logit_diff": reversal,
                "test_acc": test["accuracy"],
                "reversal_pairs_acc": pairs["accuracy"],
                "other_classes_acc": rest["accuracy"],
                "final_loss": history["final_loss"],
                "train_s": round(time.perf_counter() - start, 1),
                "clip": "frozen" if args.frozen else "trained",
            }
        )
        print(rows[-1], flush=True)
    print_table(
        rows,
        [
            "family",
            "reversal_max_logit_diff",
            "test_acc",
            "reversal_pairs_acc",
            "other_classes_acc",
            "final_loss",
            "train_s",
        ],
    )
    print(
        f"{args.steps} steps, batch 16, lr {args.lr}; demo {args.n_train} train / {args.n_test} test clips, "
        f"classes {DEMO_CLASSES}; chance 1/8, order-blind ceiling 5/8"
    )
    save(
        "prompt_tuning_demo_frozen" if args.frozen else "prompt_tuning_demo",
        {"args": {k: str(v) for k, v in vars(args).items()}, "rows": rows},
    )


if __name__ == "__main__":
    main()
