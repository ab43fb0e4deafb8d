"""Test-time augmentation: one forward per augmentation vs all of a batch's augmentations in one forward.

Extraction with ``use-augmentation`` feeds the model A augmented copies of
each clip (prompt-tuning's clean, flip and blur for prompt-tuning models).
It used to run one forward of B clips per augmentation; it now runs one
forward of B x A clips where the model's logits do not depend on its batch
(:func:`videoxai.data.transforms.average_tta_logits`, ``together``). This
times both ways side by side, interleaved (median of ``--repeats``), on the
same pre-decoded batches of generated demo clips through the real loader and
its TTA (the demo models' standard pipeline: 3 crops and their flips, A = 6),
for the shipped demo models at several clips per batch; then prompt-tuning's
``video_coop`` and ``stt`` on a small random CLIP (A = 3, prompt-tuning's
clean, flip and blur; random clips), and optionally (``--base``)
``video_coop`` on a CLIP of ViT-B/16's sizes. It also prints the largest
logit difference of the two ways. Prompt-tuning's stt keeps one forward per
augmentation (its logits depend on its batch): its ratio is ~1 by design.
Writes benchmarks/results/tta_batching.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from _common import print_table, save
from hardware import TINY_CLIP
from models import CLASSES, prompt_tuning_model

from videoxai.data.datasets import load_split
from videoxai.data.loader import make_loader
from videoxai.data.transforms import average_tta_logits
from videoxai.demo.bundled import BUNDLED_KEYS, bundled_checkpoints_root
from videoxai.demo.dataset import write_demo_dataset
from videoxai.demo.real_size import VIT_B16_CLIP
from videoxai.extract.run import tta_for
from videoxai.models.checkpoints.resolve import load_resolved, resolve_model


def timed(model: torch.nn.Module, batches: list[torch.Tensor], together: bool) -> tuple[float, torch.Tensor]:
    t = time.perf_counter()
    with torch.inference_mode():
        out = torch.cat([average_tta_logits(model, video, together) for video in batches])
    return time.perf_counter() - t, out


def compare(name: str, model: torch.nn.Module, batches: list[torch.Tensor], repeats: int) -> dict:
    """Both ways, interleaved so that a busy machine slows both alike."""
    together = getattr(model, "batch_independent", True)
    each_t, both_t = [], []
    timed(model, batches[:1], together)  # warm-up
    for _ in range(repeats):
        s, each = timed(model, batches, False)
        each_t.append(s)
        s, both = timed(model, batches, together)
        both_t.append(s)
    clips = sum(len(b) for b in batches)
    row = {
        "model": name,
        "clips_per_batch": len(batches[0]),
        "augmentations": batches[0].shape[1],
        "clips": clips,
        "one_forward_per_aug_s": statistics.median(each_t),
        "together_s": statistics.median(both_t),
        "speedup": statistics.median(each_t) / statistics.median(both_t),
        "max_abs_logit_diff": (each - both).abs().max().item(),
        "together": together,
    }
    print(
        f"{name} B={row['clips_per_batch']} A={row['augmentations']}: {row['one_forward_per_aug_s']:.3f} s -> "
        f"{row['together_s']:.3f} s, x{row['speedup']:.2f}, max |diff| {row['max_abs_logit_diff']:.2g}",
        flush=True,
    )
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=32, help="generated demo test clips (default 32)")
    p.add_argument("--batches", default="1,4,16", help="clips per batch to compare (default 1,4,16)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--base", action="store_true", help="also video_coop on a ViT-B/16-sized CLIP (slow on CPU)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        write_demo_dataset(root, n_train=8, n_test=args.clips, seed=0)
        _, samples = load_split("ucf101", root, "test")
        for key in BUNDLED_KEYS:
            model = load_resolved(resolve_model(key, bundled_checkpoints_root())).eval()
            for b in (int(x) for x in args.batches.split(",")):
                loader = make_loader(samples, model.input_spec, b, num_workers=0, tta=tta_for(model.input_spec))
                batches = [batch["video"] for batch in loader]
                rows.append(compare(key, model, batches, args.repeats))
        for method in ("video_coop", "stt"):
            torch.manual_seed(0)
            model = prompt_tuning_model(method, TINY_CLIP, CLASSES).eval()
            size = model.input_spec.size
            for b in (int(x) for x in args.batches.split(",")):
                batches = [torch.randn(b, 3, 1, 8, 3, size, size) for _ in range(max(1, args.clips // b))]
                rows.append(compare(f"{method}, prompt-tuning, small CLIP", model, batches, args.repeats))
        if args.base:
            torch.manual_seed(0)
            model = prompt_tuning_model("video_coop", VIT_B16_CLIP, CLASSES).eval()
            size = model.input_spec.size
            for b in (1, 2):
                batches = [torch.randn(b, 3, 1, 8, 3, size, size)]
                rows.append(compare("video_coop, ViT-B/16 CLIP", model, batches, max(1, args.repeats // 2)))
    cols = ["model", "clips_per_batch", "augmentations", "one_forward_per_aug_s", "together_s", "speedup"]
    print()
    print_table(rows, [*cols, "max_abs_logit_diff"])
    save("tta_batching", {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
