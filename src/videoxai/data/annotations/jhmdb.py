"""J-HMDB puppet masks: ``puppet_mask/<class>/<video>/puppet_mask.mat``, key ``part_mask``, ``(H, W, T)``.

J-HMDB annotates 21 HMDB51 classes with a per-frame person mask (the puppet's
silhouette) for every frame of each clip: ``part_mask[:, :, n - 1]`` is frame
``n``, non-zero on the person. The files are MATLAB 5 files, read with
:func:`scipy.io.loadmat` (plain arrays, no code). ``root`` is the
``puppet_mask`` folder or the J-HMDB folder that holds it. Video ids are
``<class>/<video>``, as HMDB51's sample ids without extension.

:func:`write_puppet_mask` writes the same format (the embedded demo stores its
object masks this way too, so real and demo annotations share one code path).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from videoxai.data.annotations.base import AnnotationError, ClipAnnotation, VideoIndex
from videoxai.io import atomic_path

__all__ = ["MASK_FILE", "MASK_KEY", "PuppetMasks", "read_puppet_mask", "write_puppet_mask"]

MASK_FILE = "puppet_mask.mat"
MASK_KEY = "part_mask"


def read_puppet_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """bool ``(T, H, W)`` from a ``puppet_mask.mat``; a clear error names the file when it is not one."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    path = Path(path)
    try:
        data = loadmat(str(path), variable_names=[MASK_KEY])
    except (
        MatReadError,
        ValueError,
        TypeError,
        OSError,
        NotImplementedError,
        IndexError,
        KeyError,
        EOFError,
        zlib.error,
    ) as exc:
        raise AnnotationError(f"{path}: not a readable MATLAB file ({type(exc).__name__}: {exc})") from exc
    if MASK_KEY not in data:
        raise AnnotationError(f"{path}: has no '{MASK_KEY}' variable (a J-HMDB puppet_mask.mat has one)")
    mask = np.asarray(data[MASK_KEY])
    if mask.ndim == 2:
        mask = mask[:, :, None]
    if mask.ndim != 3 or mask.shape[2] < 1 or 0 in mask.shape:
        raise AnnotationError(f"{path}: '{MASK_KEY}' has shape {mask.shape}, not (height, width, frames)")
    return np.ascontiguousarray(np.moveaxis(mask != 0, 2, 0))


def write_puppet_mask(path: str | os.PathLike[str], mask: np.ndarray) -> None:
    """Write bool ``(T, H, W)`` as J-HMDB does: ``part_mask`` uint8 ``(H, W, T)``, compressed; atomically."""
    from scipy.io import savemat

    m = np.asarray(mask, dtype=bool)
    if m.ndim != 3:
        raise ValueError(f"expected a (T, H, W) mask, got shape {m.shape}")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        savemat(fh, {MASK_KEY: np.moveaxis(m, 0, 2).astype(np.uint8)}, do_compression=True)


class PuppetMasks:
    """The puppet masks under ``root``, one file per clip, read when a clip asks (:meth:`get`)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        root = Path(root)
        if (root / "puppet_mask").is_dir():
            root = root / "puppet_mask"
        if not root.is_dir():
            raise AnnotationError(
                f"J-HMDB annotations folder {root} does not exist: point `ground-truth: root:` at J-HMDB's "
                "puppet_mask folder (puppet_mask/<class>/<video>/puppet_mask.mat); a demo dataset written before "
                "its format 2 has none: rebuild it (snakemake --forcerun demo_dataset)"
            )
        self.root = root
        self.source = str(root)
        ids = [str(p.parent.relative_to(root).as_posix()) for p in root.glob(f"*/*/{MASK_FILE}")]
        if not ids:
            raise AnnotationError(f"{root} holds no <class>/<video>/{MASK_FILE}: is it J-HMDB's puppet_mask folder?")
        self.index = VideoIndex(ids)

    def video_ids(self) -> Iterable[str]:
        return sorted(self.index.ids)

    def find(self, sample_id: str) -> str | None:
        return self.index.match(sample_id)

    def get(self, video: str) -> ClipAnnotation | None:
        if video not in self.index.ids:
            return None
        path = self.root / video / MASK_FILE
        ann = ClipAnnotation(video_id=video, source=str(path))
        try:
            masks = read_puppet_mask(path)
        except AnnotationError as exc:
            ann.problem = str(exc)
            return ann
        ann.masks, ann.nframes, ann.resolution = masks, int(masks.shape[0]), (int(masks.shape[1]), int(masks.shape[2]))
        if not masks.any():
            ann.problem = f"{path}: the mask is empty on every frame"
        return ann
