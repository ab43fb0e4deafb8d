"""What the ``precision`` option does to the numbers: logits, agreement, accuracy and ECE against float32's.

The real extract stage (``extract_predictions`` with the split variant's
``precision``) runs each shipped demo model on ``--clips`` generated demo
test clips in every precision of ``--precisions``, side by side in one run;
the table gives, per model and precision, the largest logit difference from
float32 (absolute, and relative to float32's largest logit), the share of
clips whose predicted class changes, accuracy and ECE (15 equal-width bins,
:func:`videoxai.calibration.metrics.calibration_error`) and their differences
from float32's, and the job's wall time relative to float32's. Then the same
logit difference for prompt-tuning's families on a ViT-B/16-sized CLIP
(random weights and random clips: the size of the rounding, not a
calibration), run as extraction runs it (autocast, linear weights cast once,
the class text features computed in that precision too). Writes benchmarks/results/precision.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import print_table, save
from models import CLASSES, prompt_tuning_model

from videoxai.calibration.metrics import calibration_error
from videoxai.demo.bundled import BUNDLED_KEYS, bundled_checkpoints_root
from videoxai.demo.dataset import write_demo_dataset
from videoxai.demo.real_size import VIT_B16_CLIP
from videoxai.extract.predictions import load_predictions
from videoxai.extract.run import extract_predictions
from videoxai.io import write_json
from videoxai.keys import SplitVariant
from videoxai.models.checkpoints.resolve import resolve_model
from videoxai.setup.device import autocast, precision_weights


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def demo_rows(args: argparse.Namespace, tmp: Path) -> list[dict]:
    root = tmp / "demo"
    write_demo_dataset(root, n_train=8, n_test=args.clips, seed=args.seed)
    dataset = {"name": "demo", "format": "ucf101", "root": str(root), "split-id": 1}
    rows = []
    for key in BUNDLED_KEYS:
        write_json(tmp / "resolved.json", resolve_model(key, bundled_checkpoints_root()))
        ref: dict = {}
        for precision in args.precisions.split(","):
            options = SplitVariant("test", precision=precision).options()
            out = tmp / f"{key.replace('/', '-')}-{precision}.parquet"
            t = time.perf_counter()
            extract_predictions(tmp / "resolved.json", dataset, out, options=options, num_workers=args.workers)
            seconds = time.perf_counter() - t
            preds = load_predictions(out)
            logits, labels = preds.logits.astype(np.float64), np.asarray(preds.labels)
            probs = softmax(logits)
            pred = probs.argmax(1)
            correct = pred == labels
            ece = calibration_error(probs.max(1), correct)
            if not ref:
                ref = {"logits": logits, "pred": pred, "ece": ece, "acc": correct.mean(), "seconds": seconds}
            diff = np.abs(logits - ref["logits"]).max()
            rows.append(
                {
                    "model": key,
                    "precision": precision,
                    "max_logit_diff": diff,
                    "relative": diff / np.abs(ref["logits"]).max(),
                    "pred_changed": float((pred != ref["pred"]).mean()),
                    "accuracy": float(correct.mean()),
                    "d_accuracy": float(correct.mean() - ref["acc"]),
                    "ece": ece,
                    "d_ece": ece - ref["ece"],
                    "time_vs_float32": seconds / ref["seconds"],
                }
            )
            print(rows[-1], flush=True)
    return rows


def vit_rows(args: argparse.Namespace) -> list[dict]:
    rows = []
    device = torch.device("cpu")
    for method in args.vit_families.split(","):
        torch.manual_seed(0)
        model = prompt_tuning_model(method, VIT_B16_CLIP, CLASSES).eval()
        clip = torch.randn(args.vit_clips, 8, 3, 224, 224)
        with torch.inference_mode():
            ref = model(clip).double()
            for precision in args.precisions.split(",")[1:]:
                with precision_weights(model, precision), autocast(device, precision):
                    got = model(clip).double()  # as extraction runs it (text features in that precision too)
                diff = (got - ref).abs().max().item()
                rows.append(
                    {
                        "family": f"{method} (ViT-B/16, random)",
                        "precision": precision,
                        "max_logit_diff": diff,
                        "relative": diff / ref.abs().max().item(),
                        "pred_changed": (got.argmax(1) != ref.argmax(1)).double().mean().item(),
                    }
                )
                print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=400, help="demo test clips (the demo's default n-test)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precisions", default="float32,bfloat16,float16", help="the first is the reference")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vit-families", default="video_coop,stt", help="'' skips the ViT-B/16-sized comparison")
    ap.add_argument("--vit-clips", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        rows = demo_rows(args, Path(tmp))
    print()
    cols = ["model", "precision", "max_logit_diff", "relative", "pred_changed", "accuracy", "d_accuracy", "ece"]
    print_table(rows, [*cols, "d_ece", "time_vs_float32"])
    vit = vit_rows(args) if args.vit_families else []
    if vit:
        print()
        print_table(vit, ["family", "precision", "max_logit_diff", "relative", "pred_changed"])
    save("precision", {"args": vars(args), "demo": rows, "vit_b16": vit})


if __name__ == "__main__":
    main()
