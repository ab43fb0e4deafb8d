"""Real spatial annotations of video datasets, read without torch and without running code.

A dataset entry names its annotations under ``ground-truth``::

    ground-truth: {format: ucf101-24, file: UCF101v2-GT.pkl}   # or pyannot.pkl, or J-HMDB's JHMDB-GT.pkl
    ground-truth: {format: jhmdb, root: JHMDB/puppet_mask}       # puppet_mask/<class>/<video>/puppet_mask.mat

Relative paths are looked up under the dataset's ``root`` first, then from the working directory.

:func:`load_ground_truth` returns an :class:`~videoxai.data.annotations.base.AnnotationSet`:
``find(sample_id)`` gives the annotated video's id, ``get(id)`` a
:class:`~videoxai.data.annotations.base.ClipAnnotation` (1-based frame number
-> boxes or mask). :mod:`videoxai.data.annotations.frames` maps one onto the
frames a model saw. Modules: ``safe_pickle`` (the restricted unpickler),
``ucf101_24`` (tubes pickles), ``jhmdb`` (puppet masks), ``frames``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videoxai.data.annotations.base import (
    AnnotationError,
    AnnotationSet,
    ClipAnnotation,
    VideoIndex,
    video_id,
)

__all__ = [
    "GROUND_TRUTH_FORMATS",
    "AnnotationError",
    "AnnotationSet",
    "ClipAnnotation",
    "VideoIndex",
    "annotation_inputs",
    "load_ground_truth",
    "resolve_path",
    "video_id",
]

# format -> the key naming where its annotations are
GROUND_TRUTH_FORMATS: dict[str, str] = {"ucf101-24": "file", "jhmdb": "root"}


def _check(spec: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(spec, Mapping):
        raise AnnotationError(f"ground-truth must be a mapping like {{format: ucf101-24, file: ...}}, got {spec!r}")
    fmt = str(spec.get("format", ""))
    if fmt not in GROUND_TRUTH_FORMATS:
        raise AnnotationError(f"ground-truth format must be one of {sorted(GROUND_TRUTH_FORMATS)}, got {fmt!r}")
    key = GROUND_TRUTH_FORMATS[fmt]
    if not spec.get(key):
        raise AnnotationError(f"ground-truth format {fmt} needs '{key}:' (where its annotations are)")
    return fmt, key


def resolve_path(spec: Mapping[str, Any], dataset_root: str | os.PathLike[str] | None = None) -> Path:
    """Where ``spec``'s file or folder is: absolute as given; relative under the dataset's root when it is there,
    else from the working directory (as the dataset's own ``root``)."""
    _, key = _check(spec)
    path = Path(spec[key])
    if path.is_absolute() or dataset_root is None:
        return path
    under = Path(dataset_root) / path
    return under if under.exists() or not path.exists() else path


def annotation_inputs(spec: Mapping[str, Any] | None, dataset_root: str | os.PathLike[str] | None = None) -> list[str]:
    """The files a job that reads ``spec`` depends on: the pickle of ``ucf101-24``; nothing for a folder."""
    if not spec:
        return []
    _, key = _check(spec)
    return [str(resolve_path(spec, dataset_root))] if key == "file" else []


def load_ground_truth(spec: Mapping[str, Any], dataset_root: str | os.PathLike[str] | None = None) -> AnnotationSet:
    """The annotations a dataset entry's ``ground-truth`` names (relative paths: see :func:`resolve_path`)."""
    fmt, _ = _check(spec)
    path = resolve_path(spec, dataset_root)
    if fmt == "ucf101-24":
        from videoxai.data.annotations.ucf101_24 import read_tubes

        return read_tubes(path)
    from videoxai.data.annotations.jhmdb import PuppetMasks

    return PuppetMasks(path)
