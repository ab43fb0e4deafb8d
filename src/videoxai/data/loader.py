"""Clips as model input: decode in DataLoader workers, resize, crop, normalise.

A bad clip never raises: its item has ``status='error'``, a short ``error``
and an all-zero video, so extraction writes an error row and goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from videoxai.data.datasets import Sample
from videoxai.data.decode import DecodeError, count_frames, read_frames
from videoxai.data.sampling import segment_centres
from videoxai.models.base import InputSpec


def resize_crop(frames: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (T, H, W, 3) -> uint8 (T, size, size, 3): shorter side to ``size`` (antialiased), centre crop.

    Rounded back to uint8 so the returned frames are exactly what the model
    sees before normalisation (explanations are drawn over them).
    """
    x = torch.as_tensor(frames)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected (T, H, W, 3) frames, got {tuple(x.shape)}")
    h, w = x.shape[1:3]
    if min(h, w) != size:
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        y = x.permute(0, 3, 1, 2).float()
        y = F.interpolate(y, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
        x = y.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
        h, w = nh, nw
    top, left = (h - size) // 2, (w - size) // 2
    return x[:, top : top + size, left : left + size, :].contiguous()


def normalise(frames: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float32 (..., 3, H, W), scaled to [0, 1] then standardised by the spec."""
    x = frames.movedim(-1, -3).float().div_(255.0)
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(3, 1, 1)
    return x.sub_(mean).div_(std)


class ClipDataset(Dataset):
    """Decodes ``spec.num_frames`` segment-centre frames of each sample, ready for the model.

    Items are dicts: ``video`` float32 (T, 3, S, S); optionally ``frames``
    uint8 (T, S, S, 3); ``index``, ``label``, ``frame_indices`` (T,),
    ``padded`` (clip shorter than T), ``status`` ('ok' | 'error'), ``error``.
    """

    def __init__(self, samples: Sequence[Sample], spec: InputSpec, return_frames: bool = False) -> None:
        self.samples = list(samples)
        self.spec = spec
        self.return_frames = return_frames

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.samples[index]
        t, s = self.spec.num_frames, self.spec.size
        item: dict[str, Any] = {"index": index, "label": sample.label}
        try:
            total = count_frames(sample.path)
            indices, padded = segment_centres(total, t)
            frames = resize_crop(read_frames(sample.path, indices), s)
            item.update(frame_indices=indices, padded=padded, status="ok", error="")
        except DecodeError as exc:
            frames = torch.zeros((t, s, s, 3), dtype=torch.uint8)
            item.update(frame_indices=[-1] * t, padded=False, status="error", error=exc.reason)
        except (MemoryError, ValueError, OSError) as exc:  # anything a broken file can still provoke
            frames = torch.zeros((t, s, s, 3), dtype=torch.uint8)
            reason = f"{type(exc).__name__}: {' '.join(str(exc).split())[:100]}"
            item.update(frame_indices=[-1] * t, padded=False, status="error", error=reason)
        item["video"] = normalise(frames, self.spec) if item["status"] == "ok" else torch.zeros((t, 3, s, s))
        if self.return_frames:
            item["frames"] = frames
        return item


def collate_clips(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors (``video`` (B, T, 3, S, S), ``frames``, ``label``, ``index``, ``frame_indices``, ``padded``); keep strings as lists."""
    out: dict[str, Any] = {
        "video": torch.stack([b["video"] for b in batch]),
        "index": torch.tensor([b["index"] for b in batch], dtype=torch.long),
        "label": torch.tensor([b["label"] for b in batch], dtype=torch.long),
        "frame_indices": torch.tensor([b["frame_indices"] for b in batch], dtype=torch.long),
        "padded": torch.tensor([b["padded"] for b in batch], dtype=torch.bool),
        "status": [b["status"] for b in batch],
        "error": [b["error"] for b in batch],
    }
    if "frames" in batch[0]:
        out["frames"] = torch.stack([b["frames"] for b in batch])
    return out


def _worker_init(_: int) -> None:
    # decoding is already one thread per worker; torch ops must not oversubscribe the cores either
    torch.set_num_threads(1)


def make_loader(
    samples: Sequence[Sample],
    spec: InputSpec,
    batch_size: int,
    num_workers: int,
    return_frames: bool = False,
) -> DataLoader:
    """An in-order DataLoader over ``samples``: workers decode while the model computes."""
    workers = max(0, int(num_workers))
    return DataLoader(
        ClipDataset(samples, spec, return_frames=return_frames),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate_clips,
        worker_init_fn=_worker_init if workers > 0 else None,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4 if workers > 0 else None,
        persistent_workers=False,  # one pass per job: workers end with it
    )
