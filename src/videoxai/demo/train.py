"""Train a tiny demo model on the embedded demo dataset, on the CPU, reproducibly.

The train split is decoded once (through the data package's DataLoader, in
workers) into one uint8 tensor (3000 clips x 8 x 64 x 64 x 3 ≈ 300 MB) and
batches are normalised on the fly. AdamW with linear warm-up then a cosine
decay over ``steps`` (1000 by default). With ``max_seconds=None`` the run is
a pure function of the seed, the data and the thread count: one thread (the
default) reproduces the shipped demo checkpoints bit for bit on the same
CPU kernels (float reductions, and so the weights, depend on the thread
count and on the SIMD kernels PyTorch picks). A wall-clock budget
``max_seconds`` trades that away: when the step rate says it would run out
first, the schedule follows the clock, so the anneal always completes in
time (the report says which bound was active). ``steps=None`` schedules by
time alone.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from videoxai.data.spec import InputSpec
from videoxai.io import write_json
from videoxai.models.base import VideoClassifier
from videoxai.models.checkpoints.weights import save_checkpoint
from videoxai.models.families.registry import build_model

log = logging.getLogger(__name__)

REPORT_NAME = "train_report.json"


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (the defaults reach the demo target on 2 CPU cores)."""

    seed: int = 0
    max_seconds: float | None = None  # None: by steps only (reproducible)
    steps: int | None = 1000
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup: float = 0.05  # fraction of the schedule
    threads: int = 1  # the weights depend on it: one thread trained the shipped checkpoints
    num_workers: int = 2
    eval_batch_size: int = 64


def load_clips(
    dataset_root: str | os.PathLike[str],
    split: str,
    spec: InputSpec,
    num_workers: int = 2,
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Decode a split once: uint8 frames ``(N, T, S, S, 3)``, labels ``(N,)``, class names."""
    from videoxai.data.datasets import (
        load_split,  # the data package is only needed when training
    )
    from videoxai.data.loader import make_loader

    class_names, samples = load_split("ucf101", dataset_root, split)
    frames, labels = [], []
    loader = make_loader(samples, spec, batch_size=64, num_workers=num_workers, return_frames=True)
    for batch in loader:
        bad = [samples[i].sample_id for i, s in zip(batch["index"].tolist(), batch["status"]) if s != "ok"]
        if bad:
            raise RuntimeError(f"demo clips failed to decode: {bad[:5]} (errors: {batch['error'][:2]})")
        frames.append(batch["frames"])
        labels.append(batch["label"])
    return torch.cat(frames), torch.cat(labels), class_names


def normalise_batch(frames: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """uint8 ``(B, T, H, W, 3)`` → float ``(B, T, 3, H, W)`` standardised like the data loader does."""
    x = frames.permute(0, 1, 4, 2, 3).float().div_(255.0)
    mean = torch.tensor(spec.mean).view(3, 1, 1)
    std = torch.tensor(spec.std).view(3, 1, 1)
    return x.sub_(mean).div_(std)


def lr_at(progress: float, base: float, warmup: float) -> float:
    """Linear warm-up over the first ``warmup`` fraction, then cosine decay to 0 at ``progress`` 1."""
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup:
        return base * progress / warmup
    return base * 0.5 * (1.0 + math.cos(math.pi * (progress - warmup) / (1.0 - warmup)))


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    # no decay on biases, norms, embeddings and learned prompt context (decay would pull them to 0)
    decay, keep = [], []
    for name, p in model.named_parameters():
        is_matrix = p.ndim >= 2 and not any(s in name for s in ("embedding", "context", "pos_", "cls_token"))
        (decay if is_matrix else keep).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": keep, "weight_decay": 0.0},
    ]


def fit(
    model: VideoClassifier,
    frames: torch.Tensor,
    labels: torch.Tensor,
    cfg: TrainConfig,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``model`` in place on in-memory uint8 clips; return steps, seconds and the loss curve."""
    if cfg.steps is None and cfg.max_seconds is None:
        raise ValueError("give a step count, a time budget (max_seconds), or both")
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr)
    spec = model.input_spec
    model.train()
    n = len(labels)
    order, pos = torch.randperm(n, generator=gen), 0
    step, losses = 0, []
    start = time.perf_counter()
    total = cfg.steps if cfg.steps is not None else None
    budget = cfg.max_seconds if cfg.max_seconds is not None else math.inf
    bar = tqdm(
        total=total or int(budget),
        unit="step" if total else "s",
        disable=not progress,
        desc=f"train {model.method}",
        mininterval=2.0,
    )
    stopped_early = False
    by_clock = total is None
    while True:
        # schedule progress: by steps (deterministic), unless the step rate says the time budget will
        # run out first; from then on by the clock, so a slow machine still ends fully annealed in time
        by_time = (time.perf_counter() - start) / budget
        if not by_clock and step >= 20 and by_time * total / step > 1.0:
            by_clock = True
        frac = max(by_time, step / total) if by_clock and total else (by_time if by_clock else step / total)
        if frac >= 1.0 or by_time >= 1.0 or (total is not None and step >= total):
            stopped_early = total is not None and step < total
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(frac, cfg.lr, cfg.warmup)
        if pos + cfg.batch_size > n:
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos : pos + cfg.batch_size]
        pos += cfg.batch_size
        loss = F.cross_entropy(model(normalise_batch(frames[idx], spec)), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        losses.append(round(loss.item(), 4))
        if total:
            bar.update(1)
        if step % 20 == 0:
            if not total:  # the bar counts seconds of the time budget
                bar.n = min(int(time.perf_counter() - start), bar.total)
            bar.set_postfix(step=step, loss=f"{sum(losses[-20:]) / 20:.3f}")
    bar.close()
    seconds = time.perf_counter() - start
    model.eval()
    return {
        "steps": step,
        "seconds": round(seconds, 2),
        "steps_per_s": round(step / max(seconds, 1e-9), 3),
        "stopped_early": stopped_early,  # True: the time budget, not the step count, ended training
        "schedule": "clock" if by_clock else "steps",
        "final_loss": round(sum(losses[-50:]) / max(len(losses[-50:]), 1), 4),
        "loss_curve": losses[:: max(1, len(losses) // 200)],
    }


@torch.inference_mode()
def evaluate(
    model: VideoClassifier,
    frames: torch.Tensor,
    labels: torch.Tensor,
    class_names: Sequence[str],
    batch_size: int = 64,
) -> dict[str, Any]:
    """Overall and per-class accuracy of ``model`` on in-memory clips."""
    model.eval()
    preds = torch.cat(
        [
            model(normalise_batch(frames[i : i + batch_size], model.input_spec)).argmax(-1)
            for i in range(0, len(labels), batch_size)
        ]
    )
    correct = preds == labels
    per_class = {
        name: round(correct[labels == k].float().mean().item(), 4) if (labels == k).any() else None
        for k, name in enumerate(class_names)
    }
    return {
        "accuracy": round(correct.float().mean().item(), 4),
        "per_class": per_class,
        "n": len(labels),
    }


def cpu_kernels() -> dict[str, object]:
    """What selects PyTorch's CPU kernels beyond ``get_cpu_capability()``: vendor, AMX and AVX-512 BF16 support."""
    vendor = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("vendor_id"):
                vendor = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "vendor": vendor,
        "amx": bool(torch.cpu._is_amx_tile_supported()),
        "avx512_bf16": bool(torch.cpu._is_avx512_bf16_supported()),
    }


def train_demo(
    dataset_root: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    method: str = "video_coop",
    seed: int = 0,
    max_seconds: float | None = None,
    steps: int | None = 1000,
    model_config: dict | None = None,
    progress: bool = True,
    **train_options: Any,
) -> dict[str, Any]:
    """Train a demo model of ``method`` on the demo train split; save it to ``out_dir``; return the report.

    ``out_dir`` receives ``model.safetensors`` + ``config.json`` (each written
    atomically, weights last) and ``train_report.json`` (per-class test
    accuracy, wall time, steps). ``train_options`` override
    :class:`TrainConfig` fields (``batch_size``, ``lr``, ``threads``, ...).
    """
    cfg = TrainConfig(seed=seed, max_seconds=max_seconds, steps=steps, **train_options)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    wall = time.perf_counter()
    from videoxai.data.datasets import load_split

    class_names, _ = load_split("ucf101", dataset_root, "train")
    config = {"class_names": list(class_names), **(model_config or {})}
    model = build_model(method, config)
    spec = model.input_spec
    t0 = time.perf_counter()
    train_x, train_y, _ = load_clips(dataset_root, "train", spec, cfg.num_workers)
    test_x, test_y, test_names = load_clips(dataset_root, "test", spec, cfg.num_workers)
    decode_seconds = time.perf_counter() - t0
    if test_names != class_names:
        raise RuntimeError(f"train and test class lists differ in {dataset_root}")
    history = fit(model, train_x, train_y, cfg, progress=progress)
    t0 = time.perf_counter()
    test = evaluate(model, test_x, test_y, class_names, cfg.eval_batch_size)
    train_eval = evaluate(model, train_x[:400], train_y[:400], class_names, cfg.eval_batch_size)
    report = {
        "method": method,
        "dataset_root": str(dataset_root),
        "class_names": class_names,
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_clips": len(train_y),
        "test_clips": len(test_y),
        "test_accuracy": test["accuracy"],
        "test_per_class": test["per_class"],
        "train_accuracy_first_400": train_eval["accuracy"],
        "decode_seconds": round(decode_seconds, 2),
        "eval_seconds": round(time.perf_counter() - t0, 2),
        "train": {**history, "config": asdict(cfg)},
        "torch_threads": torch.get_num_threads(),
        # what bit-exact reproduction depends on besides the seed and the data
        "torch_version": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        # oneDNN picks other convolution and matmul kernels on AMX / AVX-512-BF16 CPUs and per vendor, at the same
        # capability level: training on an AMD EPYC (AVX512, no AMX) diverged from the shipped Intel run's weights
        "cpu_kernels": cpu_kernels(),
    }
    out = Path(out_dir)
    save_checkpoint(
        model,
        out,
        extra={"train_report": {k: report[k] for k in ("test_accuracy", "parameters")}},
    )
    report["wall_seconds"] = round(time.perf_counter() - wall, 2)
    write_json(out / REPORT_NAME, report)
    log.info(
        "trained %s: test accuracy %.3f in %d steps (%.0f s)",
        method,
        test["accuracy"],
        history["steps"],
        history["seconds"],
    )
    return report
