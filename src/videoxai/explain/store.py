"""The heatmaps file contract between the explain and render stages.

``heatmaps.safetensors`` holds ``heatmaps`` (N, T, h, w) float16 in [0, 1],
``temporal_importance`` (N, T) float32 and ``frames`` (N, T, H, W, 3) uint8 (the
exact frames the model saw, so rendering never re-decodes). Its safetensors
metadata holds ``clips``: a JSON list with one dict per clip (sample_id,
class_index, class_name, sample_index, target, target_name, pred, pred_name,
confidence, label, ...) and ``params``: the method and its parameters.

``undefined_frames`` (N, T) uint8, 1 where a frame's map is undefined (0 / 0 in prompt-tuning's per-frame
normalisation; :mod:`videoxai.explain.undefined`): such a frame is stored as zeros (heatmap and importance), so a
reader that ignores the flags still reads finite values in [0, 1]. The tensor is optional: a file without it has
every frame defined.

Reading and writing use numpy only, so the jobs that draw or summarise the maps never import torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from videoxai.checks import check_safetensors, reading, safetensors_header
from videoxai.explain.undefined import flags_or_none
from videoxai.io import atomic_path
from videoxai.rebuild import BrokenFileError

# The contract's tensors: name -> (safetensors dtype, rank), and its metadata keys (each JSON).
TENSORS = {"heatmaps": ("F16", 4), "temporal_importance": ("F32", 2), "frames": ("U8", 5)}
METADATA = ("clips", "params")
# Tensors a file may lack (written before they existed): name -> (safetensors dtype, rank).
OPTIONAL_TENSORS = {"undefined_frames": ("U8", 2)}


def check_heatmaps(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A heatmaps file's contract: content record, the tensors above, one clip count, metadata; returns the
    safetensors header. A broken file names itself and the command that rebuilds it."""
    header = check_safetensors(path, TENSORS, METADATA)
    present = {k: v for k, v in OPTIONAL_TENSORS.items() if k in header}
    if present:
        check_safetensors(path, present)
    counts = {header[k]["shape"][0] for k in (*TENSORS, *present)}
    clips = json.loads(header["__metadata__"]["clips"])
    if len(counts) != 1 or (isinstance(clips, list) and counts != {len(clips)}):
        raise BrokenFileError(path, f"tensors and clip list disagree on the number of clips ({counts}, {len(clips)})")
    return header


def safe_open(path: str | os.PathLike[str], framework: str = "np") -> Any:
    """``safetensors.safe_open`` of a heatmaps file, checked first (a broken file names itself)."""
    from safetensors import safe_open as open_safetensors

    check_heatmaps(path)
    with reading(path):
        return open_safetensors(str(path), framework=framework)


@dataclass
class HeatmapSet:
    heatmaps: np.ndarray  # (N, T, h, w) float16 in [0, 1]
    temporal_importance: np.ndarray  # (N, T) float32
    frames: np.ndarray  # (N, T, H, W, 3) uint8
    clips: list[dict[str, Any]]
    params: dict[str, Any]
    undefined: np.ndarray | None = None  # (N, T) bool: frames whose map is undefined (None: every frame defined)

    def undefined_flags(self) -> np.ndarray:
        """``(N, T)`` bool, all False where the file has no flags."""
        return flags_or_none(self.undefined, len(self.clips), int(self.temporal_importance.shape[-1]))

    def __len__(self) -> int:
        return len(self.clips)


def save_heatmaps(path: str | os.PathLike[str], hs: HeatmapSet) -> None:
    n = len(hs.clips)
    if not (hs.heatmaps.shape[0] == hs.temporal_importance.shape[0] == hs.frames.shape[0] == n):
        raise ValueError("heatmaps, temporal_importance, frames and clips must have the same length")
    h = np.asarray(hs.heatmaps, dtype=np.float32)
    if n and (np.nanmin(h) < 0 or np.nanmax(h) > 1 or not np.isfinite(h).all()):
        raise ValueError(
            "heatmaps must be finite and in [0, 1] (an undefined frame is stored as zeros, flagged in `undefined`)"
        )
    t = int(hs.temporal_importance.shape[1]) if hs.temporal_importance.ndim == 2 else 0
    undefined = flags_or_none(hs.undefined, n, t)
    if n and np.abs(h[undefined]).max(initial=0.0) > 0:
        raise ValueError("a frame flagged undefined must be stored as zeros")
    tensors = {
        "heatmaps": np.ascontiguousarray(hs.heatmaps, dtype=np.float16),
        "temporal_importance": np.ascontiguousarray(hs.temporal_importance, dtype=np.float32),
        "frames": np.ascontiguousarray(hs.frames, dtype=np.uint8),
        "undefined_frames": np.ascontiguousarray(undefined, dtype=np.uint8),
    }
    meta = {"clips": json.dumps(hs.clips, sort_keys=True), "params": json.dumps(hs.params, sort_keys=True)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_heatmaps(path: str | os.PathLike[str], index: int | None = None) -> HeatmapSet:
    """Load all clips, or only clip ``index`` (slicing lazily: a render job reads one clip)."""
    with safe_open(str(path), framework="np") as f:
        meta = f.metadata()
        clips = json.loads(meta["clips"])
        params = json.loads(meta["params"])
        if index is None:
            get = f.get_tensor
        else:
            clips = [clips[index]]
            get = lambda k: f.get_slice(k)[index : index + 1]  # noqa: E731
        undefined = get("undefined_frames").astype(bool) if "undefined_frames" in f.keys() else None
        return HeatmapSet(get("heatmaps"), get("temporal_importance"), get("frames"), clips, params, undefined)


def header_clip_list(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The clip list from the file's header alone (its tensors' byte ranges checked, nothing hashed or decoded):
    what planning reads to name the figures render writes from it."""
    return json.loads(safetensors_header(path)["__metadata__"]["clips"])


def load_clip_list(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    with safe_open(str(path), framework="np") as f:
        return json.loads(f.metadata()["clips"])


def load_maps(path: str | os.PathLike[str]) -> HeatmapSet:
    """Everything but the frames (``frames`` is empty): what statistics need, without reading the clips' pixels."""
    with safe_open(str(path), framework="np") as f:
        meta = f.metadata()
        return HeatmapSet(
            f.get_tensor("heatmaps").astype(np.float32),
            f.get_tensor("temporal_importance").astype(np.float64),
            np.zeros((0,), np.uint8),
            json.loads(meta["clips"]),
            json.loads(meta["params"]),
            f.get_tensor("undefined_frames").astype(bool) if "undefined_frames" in f.keys() else None,
        )
