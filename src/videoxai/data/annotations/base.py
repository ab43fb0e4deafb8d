"""What every annotation reader returns: per clip, frame number -> boxes or mask, and why a clip cannot be scored.

Frame numbers are 1-based, as in the annotation files (UCF101-24's tube rows,
J-HMDB's ``puppet_mask.mat`` third axis): frame ``n`` is the ``n - 1``-th
decoded frame. Coordinates are pixels of the annotation's own resolution
(``resolution``, ``(H, W)``), which may differ from the decoded video's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Protocol

import numpy as np

__all__ = ["AnnotationError", "AnnotationSet", "ClipAnnotation", "VideoIndex", "video_id"]


class AnnotationError(ValueError):
    """An annotation file (or folder) cannot be used at all; the message names it and the fix."""


@dataclass
class ClipAnnotation:
    """The annotation of one video.

    ``boxes`` maps a frame number to ``(k, 4)`` float boxes ``x1, y1, x2, y2``
    (one row per annotated person; frames outside every tube are absent);
    ``masks`` is bool ``(T, H, W)``, frame number ``n`` at ``masks[n - 1]``.
    Exactly one of them is set. ``nframes`` is the clip length the annotation
    declares; ``resolution`` the ``(H, W)`` its coordinates refer to (None:
    the decoded video's). ``problem`` says why the clip cannot be scored (a
    malformed entry: the clip is skipped with that reason, the others are
    scored).
    """

    video_id: str
    source: str
    nframes: int | None = None
    resolution: tuple[int, int] | None = None
    boxes: dict[int, np.ndarray] | None = None
    masks: np.ndarray | None = None
    labels: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def kind(self) -> str:
        return "masks" if self.masks is not None else "boxes"

    def annotated_frames(self) -> list[int]:
        """1-based numbers of the frames that show the action (a box, or a non-empty mask)."""
        if self.masks is not None:
            return [int(i) + 1 for i in np.flatnonzero(self.masks.reshape(len(self.masks), -1).any(axis=1))]
        return sorted(n for n, b in (self.boxes or {}).items() if len(b))


class AnnotationSet(Protocol):
    """A dataset's annotations: :meth:`find` a clip's video id (``Class/v_X_g01_c01``), :meth:`get` its annotation."""

    source: str

    def video_ids(self) -> Iterable[str]: ...

    def find(self, sample_id: str) -> str | None: ...

    def get(self, video: str) -> ClipAnnotation | None: ...


def video_id(sample_id: str | os.PathLike[str]) -> str:
    """A clip's video id as annotation files write it: its path relative to the video folder, without extension."""
    p = PurePosixPath(str(sample_id).replace("\\", "/"))
    return str(p.with_suffix("")) if p.suffix else str(p)


class VideoIndex:
    """Finds a clip's annotation id: the same relative path without extension, else the same file stem if unique.

    UCF101-24 and J-HMDB name videos ``Class/v_Class_g01_c01`` and
    ``class/name``, as UCF101's and HMDB51's lists do; the stem match covers
    annotation files whose class folders are spelled differently.
    """

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = set(ids)
        self.by_stem: dict[str, list[str]] = {}
        for i in sorted(self.ids):
            self.by_stem.setdefault(PurePosixPath(i).name, []).append(i)

    def match(self, sample_id: str) -> str | None:
        vid = video_id(sample_id)
        if vid in self.ids:
            return vid
        hits = self.by_stem.get(PurePosixPath(vid).name, [])
        return hits[0] if len(hits) == 1 else None
