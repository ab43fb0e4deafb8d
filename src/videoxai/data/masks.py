"""Ground-truth object masks stored beside a clip (``v_X_g01_c01.mask.npz``), as the demo dataset writes them.

The explainers score maps against these masks, and the demo generator writes
them; both sides use this module, so the file name and format have one home.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from videoxai.io import atomic_path


def mask_path(video_path: str | os.PathLike[str]) -> Path:
    """Where the mask of ``video_path`` lives: ``v_X_g01_c01.avi`` -> ``v_X_g01_c01.mask.npz``."""
    return Path(video_path).with_suffix(".mask.npz")


def load_mask(video_path: str | os.PathLike[str]) -> np.ndarray:
    """The ground-truth object mask of a clip: bool (T, H, W), one per stored frame."""
    path = mask_path(video_path)
    if not path.exists():
        raise FileNotFoundError(f"no mask for {video_path}: expected {path} (only demo clips have masks)")
    with np.load(path) as data:
        return data["mask"].astype(bool)


def write_mask(video_path: str | os.PathLike[str], mask: np.ndarray) -> Path:
    """Store ``mask`` (bool (T, H, W)) beside ``video_path``, atomically; returns the mask file."""
    path = mask_path(video_path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, mask=np.asarray(mask, dtype=bool))
    return path
