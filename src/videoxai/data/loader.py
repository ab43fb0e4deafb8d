"""Clips as model input: decode in DataLoader workers, resize, crop, normalise.

A bad clip never raises: its item has ``status='error'``, a short ``error``
and an all-zero video, so extraction writes an error row and goes on.

The model's ``InputSpec.pipeline`` chooses the frames: ``standard``
(segment centres, antialiased resize, centre crop; TTA by :class:`TTA`) or
``prompt-tuning`` (the prompt-tuning repository's own sampling, views and bfloat16
transforms, :mod:`videoxai.data.prompt_tuning_frames`; TTA by :class:`PromptTuningTTA`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import torch
from torch.utils.data import DataLoader, Dataset

from videoxai.data import corruptions, reencode
from videoxai.data.decode import DecodeError, decode_clip, decoder_for_job, resolve_decoder
from videoxai.data.prompt_tuning_frames import (
    PromptTuningClip,
    PromptTuningTTA,
    decode_prompt_tuning_clip,
    display_frames,
    prompt_tuning_views,
)
from videoxai.data.sampling import linspace_indices
from videoxai.data.spec import InputSpec
from videoxai.data.splits import Sample
from videoxai.data.transforms import (
    TTA,
    crop,
    normalise,
    resize_crop,
    resize_short,
    tta_views,
)

__all__ = ["ClipDataset", "collate_clips", "make_loader", "normalise", "resize_crop"]


class ClipDataset(Dataset):
    """Decodes ``spec.num_frames`` frames per view of each sample, ready for the model.

    Items are dicts: ``video`` float32, ``(T, 3, S, S)``, or ``(V, T, 3, S, S)``
    with ``num_views`` V > 1 temporal views (default ``spec.num_views``), with
    a leading TTA axis ``A`` when ``tta`` is set (``(A, T, ...)`` or
    ``(A, V, T, ...)``); optionally ``frames`` uint8 of the same leading
    shape ``(..., T, S, S, 3)``; ``index``, ``label``, ``frame_indices``
    (``(T,)`` or ``(V, T)``), ``padded`` (clip shorter than the frames it
    needs, frames repeated), ``status`` ('ok' | 'error'), ``error`` (short
    reason).

    With ``spec.pipeline == "prompt-tuning"`` the view axis holds prompt-tuning's
    ``V x spec.spatial_views`` views (temporal-major), the values are the
    prompt-tuning's ``spec.dtype`` tensor exactly (handed over as float32), ``frames``
    are those values mapped back to uint8, and ``frame_indices`` are the
    decoded frames per temporal view. ``tta`` must then be an
    :class:`PromptTuningTTA`.

    ``corruption`` ``(name, severity)`` corrupts every clip while it is decoded
    (:mod:`videoxai.data.corruptions`; a video corruption decodes a temporary
    re-encoded copy, :mod:`videoxai.data.reencode`, except motion blur and
    frame-rate reduction, made from the sampled frames' sources), with random draws seeded
    by ``corruption_seed`` and the clip's id: the same clip is corrupted alike
    in every run. A clip the corruption cannot handle becomes an error item.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        spec: InputSpec,
        return_frames: bool = False,
        decoder: str = "auto",
        num_views: int | None = None,
        tta: TTA | PromptTuningTTA | None = None,
        corruption: tuple[str, int] | None = None,
        corruption_seed: int = 0,
    ) -> None:
        self.samples = list(samples)
        if corruption is not None:
            corruptions.get(corruption[0])  # an unknown name fails here, in the main process
            corruptions.check_severity(corruption[1])
        self.corruption = corruption
        self.corruption_seed = int(corruption_seed)
        self.spec = spec
        self.return_frames = return_frames
        self.decoder = decoder_for_job(decoder, len(self.samples))
        resolve_decoder(self.decoder)  # fail now, in the main process, if the backend cannot run here
        self.num_views = int(num_views if num_views is not None else spec.num_views)
        if self.num_views < 1:
            raise ValueError(f"num_views must be >= 1, got {self.num_views}")
        self.prompt_tuning = spec.pipeline == "prompt-tuning"
        if tta is not None and isinstance(tta, PromptTuningTTA) != self.prompt_tuning:
            want = "PromptTuningTTA" if self.prompt_tuning else "TTA"
            raise ValueError(f"a {spec.pipeline!r} pipeline model takes {want} test-time augmentation, got {tta!r}")
        self.tta = tta
        # every view the model averages over: temporal x (prompt-tuning only) spatial
        self.views = self.num_views * (spec.spatial_views if self.prompt_tuning else 1)

    def __len__(self) -> int:
        return len(self.samples)

    def _lead(self) -> tuple[int, ...]:
        return ((self.tta.num_views,) if self.tta else ()) + ((self.views,) if self.views > 1 else ())

    def _prompt_tuning(self, path: Path, sample_id: str) -> tuple[torch.Tensor, torch.Tensor, list[list[int]], bool]:
        """Prompt-tuning's tensor (float32 holding ``spec.dtype`` values), display frames, indices, padded."""
        spec = dataclasses.replace(self.spec, num_views=self.num_views)
        if self._retimed():
            frames, views, padded, total = reencode.retimed_frames(
                path,
                *self.corruption,
                lambda n: linspace_indices(n, spec.num_frames, spec.num_views),
                decoder=self.decoder,
            )
            raw = torch.from_numpy(frames.reshape(-1, *frames.shape[-3:])).permute(0, 3, 1, 2)
            clip = PromptTuningClip(raw, views, padded, total, resolve_decoder(self.decoder))
        else:
            clip = decode_prompt_tuning_clip(path, spec.num_frames, spec.num_views, decoder=self.decoder)
        raw = clip.frames
        if self._frame_corruption():
            raw = torch.from_numpy(self._corrupt(raw.permute(0, 2, 3, 1).numpy(), sample_id)).permute(0, 3, 1, 2)
        video = prompt_tuning_views(raw, spec)  # (V*S, T, C, S, S)
        if self.tta is not None:
            video = torch.stack([aug(video) for aug in self.tta.augmentations])
        video = video.float()
        if self.views == 1:
            video = video.select(-5, 0)
        frames = display_frames(video, spec) if self.return_frames else video.new_empty(0, dtype=torch.uint8)
        return video, frames, clip.indices, clip.padded

    def _frame_corruption(self) -> bool:
        return self.corruption is not None and corruptions.get(self.corruption[0]).kind == "frame"

    def _retimed(self) -> bool:
        """A video corruption made from the sampled frames' sources while decoding (no corrupted copy)."""
        return self.corruption is not None and self.corruption[0] in reencode.RETIMED

    def _rng(self, sample_id: str):
        assert self.corruption is not None
        return corruptions.clip_rng(self.corruption_seed, sample_id, *self.corruption)

    def _corrupt(self, frames, sample_id: str):
        """The decoded frames (..., H, W, 3) under the frame corruption, drawn from the clip's generator."""
        assert self.corruption is not None
        return corruptions.corrupt_frames(frames, *self.corruption, self._rng(sample_id))

    def _decode(self, path: Path, sample_id: str):
        """(video or None, frames, indices, padded) of one clip, corrupted by a frame corruption if one is set."""
        t = self.spec.num_frames
        if self.prompt_tuning:
            return self._prompt_tuning(path, sample_id)
        if self._retimed():
            clip = reencode.decode_retimed_clip(path, *self.corruption, t, self.num_views, self.decoder)
        else:
            clip = decode_clip(path, t, num_views=self.num_views, decoder=self.decoder)
        raw = self._corrupt(clip.frames, sample_id) if self._frame_corruption() else clip.frames
        return None, self._prepare(torch.from_numpy(raw)), clip.indices, clip.padded

    def _prepare(self, frames: torch.Tensor) -> torch.Tensor:
        """(V, T, H, W, 3) decoded -> uint8 (*lead, T, S, S, 3)."""
        s = self.spec.size
        if self.tta is not None:
            out = tta_views(frames, s, self.tta)  # (A, V, T, S, S, 3)
            return out if self.num_views > 1 else out[:, 0]
        out = crop(resize_short(frames, s), s, "centre")
        return out if self.num_views > 1 else out[0]

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.samples[index]
        t, s = self.spec.num_frames, self.spec.size
        item: dict[str, Any] = {"index": index, "label": sample.label}
        blank_indices = [[-1] * t for _ in range(self.num_views)]
        video = None
        try:
            if self.corruption is not None and not self._frame_corruption() and not self._retimed():
                rng = self._rng(sample.sample_id)
                with reencode.corrupted_copy(sample.path, *self.corruption, rng) as copy:
                    video, frames, indices, padded = self._decode(copy, sample.sample_id)
            else:
                video, frames, indices, padded = self._decode(sample.path, sample.sample_id)
            item.update(padded=padded, status="ok", error="")
        except DecodeError as exc:
            frames, indices = None, blank_indices
            item.update(padded=False, status="error", error=exc.reason)
        except (MemoryError, ValueError, OSError, RuntimeError, av.FFmpegError) as exc:  # what a broken file provokes
            frames, indices = None, blank_indices
            item.update(padded=False, status="error", error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:100]}")
        if frames is None:
            frames = torch.zeros((*self._lead(), t, s, s, 3), dtype=torch.uint8)
            item["video"] = torch.zeros((*self._lead(), t, 3, s, s))
        else:
            item["video"] = video if video is not None else normalise(frames, self.spec)
        item["frame_indices"] = indices if self.num_views > 1 else indices[0]
        if self.return_frames:
            item["frames"] = frames
        return item


def collate_clips(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors (``video`` (B, ...), ``frames``, ``label``, ``index``, ``frame_indices``, ``padded``); keep strings as lists."""
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
    decoder: str = "auto",
    num_views: int | None = None,
    tta: TTA | PromptTuningTTA | None = None,
    corruption: tuple[str, int] | None = None,
    corruption_seed: int = 0,
) -> DataLoader:
    """An in-order DataLoader over ``samples``: workers decode (and corrupt) while the model computes."""
    workers = max(0, int(num_workers))
    dataset = ClipDataset(
        samples,
        spec,
        return_frames=return_frames,
        decoder=decoder,
        num_views=num_views,
        tta=tta,
        corruption=corruption,
        corruption_seed=corruption_seed,
    )
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate_clips,
        worker_init_fn=_worker_init if workers > 0 else None,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4 if workers > 0 else None,
        persistent_workers=False,  # one pass per job: workers end with it
    )
