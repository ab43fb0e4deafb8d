"""The prompt-tuning repository's own frames, for its models: sampling, views, transforms and test-time augmentations.

Prompt-tuning's models were trained and evaluated on frames made in a particular
way, and their numbers hold only for those frames. This module makes them
from a video file and prompt-tuning's run/dataset config values, carried by an
:class:`~videoxai.data.spec.InputSpec` with ``pipeline="prompt-tuning"``:

1. **sampling**: ``linspace(0, N-1, num_frames x temporal_views)`` (float32,
   truncated) over the clip's frame count ``N`` (the container header's, as
   prompt-tuning's torchcodec decoder in approximate mode reports it), split
   into consecutive chunks, one per temporal view
   (:func:`videoxai.data.sampling.linspace_indices`);
2. **views and resizing**, two paths, as prompt-tuning's ``get_transform``:

   - one spatial view: the shorter side resized to ``size`` with torchvision's
     rule (long side ``int(size * long / short)``), bilinear, antialiased,
     in float32 and rounded back to uint8; a centre crop; then ``dtype``;
   - three spatial views: the uint8 frames cast to ``dtype`` first, resized
     in ``dtype`` (long side ``round(long * size / short)``, bilinear, no
     antialiasing), three crops along the longer side (start, centre, end),
     views ordered temporal-major (view ``t * 3 + s``);

3. **normalisation** ``(x / 255 - mean) / std``, each step rounded to
   ``dtype`` (bfloat16 in prompt-tuning);
4. **augmentation** (optional), after normalisation, on the whole
   ``(V, T, C, H, W)`` clip: the deterministic members of prompt-tuning's
   augmentation dictionary (:class:`PromptTuningAugmentation`).

The result is prompt-tuning's input tensor ``(V*S, T, C, size, size)``,
exactly (``tests/unit/test_prompt_tuning_frames.py`` compares it with tensors the
prompt-tuning's code made). Unlike prompt-tuning, a clip with fewer frames than needed is
padded by repeating frames (``padded=True``), never skipped, and the input
file is only ever read: prompt-tuning's loader deletes such a clip.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from videoxai.data.decode import DecodeError, count_frames, read_frames, resolve_decoder
from videoxai.data.sampling import linspace_indices
from videoxai.data.spec import InputSpec

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
RESIZE_PROTOCOLS: tuple[str, ...] = ("preserve-aspect-ratio", "interpolate-smallest-side", "interpolate-longest-side")
_PIXEL_BUDGET = 2**25  # float elements per resize call: bounds memory on 4K clips without changing any value


# --------------------------------------------------------------------------- decoding


@dataclass
class PromptTuningClip:
    """Frames decoded for prompt-tuning's sampling: ``frames`` uint8 ``(V*T, C, H, W)``; ``indices`` per temporal view."""

    frames: torch.Tensor
    indices: list[list[int]]
    padded: bool
    total: int
    backend: str


def _torchcodec_clip(path: Path, num_frames: int, num_views: int) -> PromptTuningClip:
    """Prompt-tuning's own decoder call: torchcodec, approximate seek mode, frame count from the header."""
    from torchcodec.decoders import VideoDecoder

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            decoder = VideoDecoder(str(path), seek_mode="approximate", dimension_order="NCHW", num_ffmpeg_threads=1)
        total = int(decoder.metadata.num_frames or 0)
        if total < 1:
            raise DecodeError(path, "zero frames in the container header")
        views, padded = linspace_indices(total, num_frames, num_views)
        flat = [i for view in views for i in view]
        frames = decoder.get_frames_at(flat).data
    except DecodeError:
        raise
    except (RuntimeError, ValueError, IndexError, OSError, MemoryError) as exc:
        reason = " ".join(str(exc).split())[:100] or type(exc).__name__
        raise DecodeError(path, f"cannot decode: {reason}") from exc
    return PromptTuningClip(frames=frames, indices=views, padded=padded, total=total, backend="torchcodec")


def decode_prompt_tuning_clip(
    path: str | os.PathLike[str], num_frames: int, num_views: int = 1, decoder: str = "auto"
) -> PromptTuningClip:
    """Decode the ``num_views x num_frames`` frames prompt-tuning samples from ``path`` (read only, never modified).

    With torchcodec (prompt-tuning's decoder, chosen by ``auto`` where it works)
    the frame count and seeking are prompt-tuning's (approximate mode: the
    header's count, frames found by timestamp). Other backends, and ``auto``
    when torchcodec fails on a file, count and index frames exactly; the
    two agree on well-formed files. Raises :class:`DecodeError`.
    """
    p = Path(path)
    if not p.is_file():
        raise DecodeError(p, "file not found" if not p.exists() else "not a regular file")
    backend = resolve_decoder(decoder)
    if backend == "torchcodec":
        try:
            return _torchcodec_clip(p, num_frames, num_views)
        except DecodeError:
            if decoder != "auto":
                raise
            backend = "pyav"
    total = count_frames(p, decoder=backend)
    views, padded = linspace_indices(total, num_frames, num_views)
    frames = read_frames(p, [i for view in views for i in view], decoder=backend)
    return PromptTuningClip(
        frames=torch.from_numpy(frames).permute(0, 3, 1, 2), indices=views, padded=padded, total=total, backend=backend
    )


# --------------------------------------------------------------------------- augmentations


@dataclass(frozen=True)
class PromptTuningAugmentation:
    """One setting of prompt-tuning's augmentation dictionary, limited to what is deterministic.

    Prompt-tuning applies, in this order and after normalisation: horizontal
    flip, vertical flip, colour jitter, Gaussian blur, salt-and-pepper
    noise, cutout (``src/configs/datasets/augmentations-dict.json`` holds
    their no-op defaults). A flip with ``p`` 0 or 1, a blur with a fixed
    sigma, and the other three switched off are deterministic and
    reproduced exactly; random settings are refused (they cannot match the
    prompt-tuning's random draws).
    """

    name: str = "none"
    horizontal_flip: bool = False
    vertical_flip: bool = False
    blur_kernel: int = 1
    blur_sigma: float = 1.0

    def __post_init__(self) -> None:
        if self.blur_kernel < 1 or self.blur_kernel % 2 == 0:
            raise ValueError(f"gaussian-blur kernel-size must be a positive odd number, got {self.blur_kernel}")
        if self.blur_sigma <= 0:
            raise ValueError(f"gaussian-blur sigma must be positive, got {self.blur_sigma}")

    @property
    def is_identity(self) -> bool:
        return not (self.horizontal_flip or self.vertical_flip or self.blur_kernel > 1)

    @classmethod
    def from_config(cls, augmentation: Mapping[str, Any] | None, name: str | None = None) -> PromptTuningAugmentation:
        """From prompt-tuning's ``augmentation-dict`` (keys as in its JSON; missing keys are off)."""
        aug = dict(augmentation or {})
        known = {
            "random-horizontal-flip",
            "random-vertical-flip",
            "color-jitter",
            "gaussian-blur",
            "salt-and-pepper-noise",
            "cutout",
        }
        unknown = sorted(set(aug) - known)
        if unknown:
            raise ValueError(f"unknown augmentation(s) {unknown}; prompt-tuning's are {sorted(known)}")

        def flip(key: str) -> bool:
            p = float((aug.get(key) or {}).get("p", 0.0))
            if p not in (0.0, 1.0):
                raise ValueError(f"{key} p={p} is random; only p=0 or p=1 can be reproduced")
            return p == 1.0

        jitter = aug.get("color-jitter") or {}
        if any(float(v) != 0.0 for v in jitter.values()):
            raise ValueError(f"color-jitter {jitter} is random; only all-zero (off) can be reproduced")
        noise = float((aug.get("salt-and-pepper-noise") or {}).get("probability", 0.0))
        if noise > 0:
            raise ValueError(f"salt-and-pepper-noise probability={noise} is random; only 0 (off) can be reproduced")
        cutout = float((aug.get("cutout") or {}).get("p", 0.0))
        if cutout > 0:
            raise ValueError(f"cutout p={cutout} is random; only p=0 (off) can be reproduced")
        blur = aug.get("gaussian-blur") or {}
        kernel = int(blur.get("kernel-size", 1))
        sigma = blur.get("sigma", 1.0)
        low, high = (float(sigma[0]), float(sigma[-1])) if isinstance(sigma, (list, tuple)) else (sigma, sigma)
        if kernel > 1 and low != high:
            raise ValueError(f"gaussian-blur sigma {list(sigma)} is drawn at random; give one value (e.g. [1, 1])")
        result = cls(
            horizontal_flip=flip("random-horizontal-flip"),
            vertical_flip=flip("random-vertical-flip"),
            blur_kernel=kernel,
            blur_sigma=float(low),
        )
        return replace(result, name=name or result.describe())

    def describe(self) -> str:
        parts = (["hflip"] if self.horizontal_flip else []) + (["vflip"] if self.vertical_flip else [])
        if self.blur_kernel > 1:
            parts.append(f"gaussian-blur-k{self.blur_kernel}-s{self.blur_sigma:g}")
        return "+".join(parts) or "none"

    def __call__(self, video: torch.Tensor) -> torch.Tensor:
        """Apply to a normalised ``(..., C, H, W)`` clip, in its own dtype (one decision for the whole clip)."""
        if self.horizontal_flip:
            video = video.flip(-1)
        if self.vertical_flip:
            video = video.flip(-2)
        if self.blur_kernel > 1:
            video = gaussian_blur(video, self.blur_kernel, self.blur_sigma)
        return video

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gaussian_blur(video: torch.Tensor, kernel_size: int, sigma: float) -> torch.Tensor:
    """torchvision's tensor Gaussian blur, computed in ``video``'s dtype: kernel, reflect padding, depthwise conv."""
    dtype = video.dtype
    half = (kernel_size - 1) * 0.5
    x = torch.linspace(-half, half, steps=kernel_size, dtype=dtype, device=video.device)
    pdf = torch.exp(-0.5 * (x / sigma).pow(2))
    k1 = pdf / pdf.sum()
    k2 = torch.mm(k1[:, None], k1[None, :])
    lead, (c, h, w) = video.shape[:-3], video.shape[-3:]
    flat = video.reshape(-1, c, h, w)
    pad = kernel_size // 2
    flat = F.pad(flat, [pad, pad, pad, pad], mode="reflect")
    out = F.conv2d(flat, k2.expand(c, 1, kernel_size, kernel_size), groups=c)
    return out.reshape(*lead, c, h, w)


PROMPT_TUNING_TTA_SET: tuple[PromptTuningAugmentation, ...] = (
    PromptTuningAugmentation(name="none"),
    PromptTuningAugmentation.from_config({"random-horizontal-flip": {"p": 1.0}}, name="random-horizontal-flip"),
    PromptTuningAugmentation.from_config({"gaussian-blur": {"kernel-size": 5, "sigma": [1, 1]}}, name="gaussian-blur"),
)
"""The deterministic settings of prompt-tuning's ``run_multiple_augmentation_evaluations.py``, and the clean input.

The prompt-tuning runs each as its own evaluation (plus colour jitter, salt-and-pepper
noise and cutout, which are random); ``use-augmentation`` on a prompt-tuning model
averages the logits over these three views (see :class:`PromptTuningTTA`)."""


@dataclass(frozen=True)
class PromptTuningTTA:
    """Test-time augmentation for prompt-tuning models: a leading axis, one entry per augmentation."""

    augmentations: tuple[PromptTuningAugmentation, ...] = PROMPT_TUNING_TTA_SET

    def __post_init__(self) -> None:
        if not self.augmentations:
            raise ValueError("PromptTuningTTA needs at least one augmentation")

    @property
    def num_views(self) -> int:
        return len(self.augmentations)

    def to_dict(self) -> dict[str, Any]:
        return {"prompt-tuning": [a.name for a in self.augmentations], "views": self.num_views}


# --------------------------------------------------------------------------- transforms


def _dtype(spec: InputSpec) -> torch.dtype:
    return DTYPES[spec.dtype]


def remove_black_strips(frames: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` -> the rows between the first and last whose brightest pixel over time is not dark.

    Prompt-tuning's ``remove-black-strips`` option: a row is kept when the mean
    over its width of the per-pixel maximum over frames of the grey value
    (0.2989 R + 0.5870 G + 0.1140 B) exceeds 15.
    """
    grey = 0.2989 * frames[:, 0] + 0.5870 * frames[:, 1] + 0.1140 * frames[:, 2]
    rows = grey.amax(dim=0).mean(dim=1) > 15
    keep = torch.nonzero(rows).flatten()
    if keep.numel() == 0:
        return frames
    return frames[:, :, int(keep[0]) : int(keep[-1]) + 1, :]


def resize_for_protocol(frames: torch.Tensor, protocol: str, size: int) -> torch.Tensor:
    """Prompt-tuning's ``resized-cache-protocol`` resize of uint8 ``(N, C, H, W)`` frames (bilinear, no antialiasing)."""
    if protocol not in RESIZE_PROTOCOLS:
        raise ValueError(f"resize_protocol must be one of {RESIZE_PROTOCOLS}, got {protocol!r}")
    h, w = frames.shape[-2:]
    if protocol == "preserve-aspect-ratio":
        new = (size, int(w * (size / h))) if h < w else (int(h * (size / w)), size)
    elif protocol == "interpolate-smallest-side":
        new = (size, w) if h < w else (h, size)
    else:
        new = (size, w) if h > w else (h, size)
    if new == (h, w):
        return frames
    new = (max(new[0], size), max(new[1], size))
    return _chunked(frames, lambda x: F.interpolate(x, size=new, mode="bilinear", align_corners=False))


def _chunked(frames: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``fn`` over frame chunks: each frame is independent, so values equal one call's."""
    per = max(1, _PIXEL_BUDGET // max(1, frames[0].numel()))
    if frames.shape[0] <= per:
        return fn(frames)
    return torch.cat([fn(frames[i : i + per]) for i in range(0, frames.shape[0], per)])


def _normalise(x: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    mean = torch.tensor(spec.mean, dtype=x.dtype).view(3, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype).view(3, 1, 1)
    return x.sub_(mean).div_(std)


def _one_crop(frames: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """One spatial view: antialiased float32 resize of uint8 (torchvision's size rule), round, centre crop, cast."""
    size, dtype = spec.size, _dtype(spec)
    h, w = frames.shape[-2:]
    short, long = min(h, w), max(h, w)
    new_long = int(size * long / short)
    nh, nw = (size, new_long) if h <= w else (new_long, size)

    def resize(x: torch.Tensor) -> torch.Tensor:
        if (nh, nw) == (h, w):
            return x
        y = F.interpolate(x.float(), size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)
        return y.round_().to(torch.uint8)

    resized = _chunked(frames, resize)
    top, left = round((nh - size) / 2.0), round((nw - size) / 2.0)
    cropped = resized[..., top : top + size, left : left + size]
    return _normalise(cropped.to(dtype).div_(255), spec)


def _three_crops(frames: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """Three spatial views: cast first, resize in ``dtype`` (no antialiasing), crops at start/centre/end."""
    size, dtype = spec.size, _dtype(spec)
    h, w = frames.shape[-2:]
    scale = size / min(h, w)
    nh, nw = round(h * scale), round(w * scale)

    def resize(x: torch.Tensor) -> torch.Tensor:
        x = x.to(dtype).div_(255)
        if (nh, nw) == (h, w):
            return x
        return F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)

    resized = _chunked(frames, resize)  # (V*T, C, nh, nw)
    along_h = nh > nw
    length = nh if along_h else nw
    starts = [0, (length - size) // 2, length - size][: spec.spatial_views]
    crops = [resized[..., s : s + size, :] if along_h else resized[..., :, s : s + size] for s in starts]
    v, t = spec.num_views, spec.num_frames
    stacked = torch.stack([c.reshape(v, t, 3, size, size) for c in crops], dim=1)  # (V, S, T, C, size, size)
    return _normalise(stacked.reshape(v * len(starts), t, 3, size, size), spec)


def prompt_tuning_views(
    frames: torch.Tensor, spec: InputSpec, augmentation: PromptTuningAugmentation | None = None
) -> torch.Tensor:
    """uint8 ``(V*T, C, H, W)`` decoded frames -> ``(V*S, T, C, size, size)`` in ``spec.dtype``, as prompt-tuning.

    ``spec`` gives ``num_views`` (V, temporal), ``spatial_views`` (S, 1 or
    3), ``num_frames`` (T), ``size``, ``mean``/``std``, ``dtype``,
    ``remove_black_strips`` and ``resize_protocol``.
    """
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"expected uint8 (N, 3, H, W) frames, got {frames.dtype} {tuple(frames.shape)}")
    v, t = spec.num_views, spec.num_frames
    if frames.shape[0] != v * t:
        raise ValueError(f"expected {v} views x {t} frames = {v * t} frames, got {frames.shape[0]}")
    if spec.resize_protocol is not None:  # prompt-tuning's dataset resizes before its transform removes strips
        frames = resize_for_protocol(frames, spec.resize_protocol, spec.size)
    if spec.remove_black_strips:
        frames = remove_black_strips(frames)
    if spec.spatial_views == 1:
        video = _one_crop(frames, spec).reshape(v, t, 3, spec.size, spec.size)
    else:
        video = _three_crops(frames, spec)
    return augmentation(video) if augmentation is not None else video


def display_frames(video: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """Normalised ``(..., C, H, W)`` -> uint8 ``(..., H, W, 3)``: what the model saw, for drawing maps over."""
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(3, 1, 1)
    rgb = (video.float() * std + mean).mul_(255).round_().clamp_(0, 255).to(torch.uint8)
    return rgb.movedim(-3, -1).contiguous()


def prompt_tuning_clip(
    path: str | os.PathLike[str],
    spec: InputSpec,
    augmentation: PromptTuningAugmentation | None = None,
    decoder: str = "auto",
) -> tuple[torch.Tensor, PromptTuningClip]:
    """Prompt-tuning's input tensor for one video: ``(V*S, T, C, size, size)`` in ``spec.dtype``, and the decoded clip.

    For a notebook: ``prompt_tuning_clip(path, model.input_spec)[0]`` is what the
    prompt-tuning's test loader hands its model. The file is only read.
    """
    clip = decode_prompt_tuning_clip(path, spec.num_frames, spec.num_views, decoder=decoder)
    return prompt_tuning_views(clip.frames, spec, augmentation), clip


def prompt_tuning_spec(
    num_frames: int,
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    temporal_views: int = 1,
    spatial_views: int = 1,
    dtype: str = "bfloat16",
    remove_black_strips: bool = False,
    resize_protocol: str | None = None,
) -> InputSpec:
    """A prompt-tuning InputSpec from its config values (``num-frames-temporal``, processor size, mean/std, views, ...)."""
    return InputSpec(
        num_frames=int(num_frames),
        size=int(size),
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        num_views=int(temporal_views),
        pipeline="prompt-tuning",
        spatial_views=int(spatial_views),
        dtype=dtype,
        remove_black_strips=bool(remove_black_strips),
        resize_protocol=resize_protocol,
    )


def prompt_tuning_spec_from_config(
    config: Mapping[str, Any], size: int, mean: Sequence[float], std: Sequence[float]
) -> InputSpec:
    """A prompt-tuning InputSpec from a run's ``config.json`` (its ``num-frames-temporal``, views and ``dataset-config``).

    ``size``/``mean``/``std`` are the CLIP processor's (``shortest_edge``,
    ``image_mean``, ``image_std``). ``space-between-frames`` sampling (an
    alternative in prompt-tuning's configs) is refused with a clear error.
    """
    if config.get("space-between-frames"):
        raise ValueError("space-between-frames sampling is not supported; set num-frames-temporal in the run config")
    frames = config.get("num-frames-temporal")
    if not frames:
        raise ValueError("run config has no num-frames-temporal")
    dataset = config.get("dataset-config") or {}
    return prompt_tuning_spec(
        frames,
        size,
        mean,
        std,
        temporal_views=int(config.get("num-temporal-views", 1) or 1),
        spatial_views=int(config.get("num-spatial-views", 1) or 1),
        remove_black_strips=bool(dataset.get("remove-black-strips", False)),
        resize_protocol=dataset.get("resized-cache-protocol"),
    )
