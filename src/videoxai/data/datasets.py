"""Sample lists of video datasets in their official on-disk layouts.

``load_split(fmt, root, split)`` returns the class names and one
:class:`Sample` per clip. It only reads annotation files and checks paths;
decoding happens later, in DataLoader workers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPLITS = ("train", "val", "test")


class DatasetError(ValueError):
    """An annotation file is missing or malformed; the message names the file and what to fix."""


@dataclass
class Sample:
    """One clip: ``sample_id`` is its path relative to the dataset root (stable across machines)."""

    sample_id: str
    path: Path
    label: int
    label_name: str


# --------------------------------------------------------------------------- helpers


def _find_annotation(root: Path, name: str, annotations: str | os.PathLike[str] | None) -> Path:
    """Find an annotation file in ``annotations`` (if given), ``root`` or UCF101's ``ucfTrainTestlist``."""
    candidates = [Path(annotations) / name] if annotations is not None else []
    candidates += [root / name, root / "ucfTrainTestlist" / name, root.parent / "ucfTrainTestlist" / name]
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise DatasetError(f"annotation file {name!r} not found; looked in: {looked} (set 'annotations' to its folder)")


def _read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8", errors="strict").splitlines() if line.strip()]


_UCF_GROUP = re.compile(r"_g(\d+)_c\d+", re.IGNORECASE)


def ucf101_group(sample_id: str) -> str:
    """The UCF101 group of a clip (``v_X_g08_c01.avi`` -> ``"X/g08"``): clips of one group share actor and scene."""
    m = _UCF_GROUP.search(Path(sample_id).name)
    if not m:
        raise DatasetError(f"cannot find the group (_gNN_cNN) in UCF101 clip name {sample_id!r}")
    return f"{Path(sample_id).parent.as_posix()}/g{int(m.group(1)):02d}"


def _is_val(key: str, val_fraction: float, seed: int) -> bool:
    """Deterministic, order-free membership: a stable hash of ``key`` decides."""
    import hashlib

    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < val_fraction


def _split_train_val(
    samples: list[Sample], split: str, val_fraction: float, seed: int, key: Callable[[Sample], str]
) -> list[Sample]:
    """Carve a deterministic held-out ``val`` part out of the train list (by ``key``: group or clip)."""
    if split == "test":
        return samples
    if not 0.0 <= val_fraction < 1.0:
        raise DatasetError(f"val_fraction must be in [0, 1), got {val_fraction}")
    keep_val = split == "val"
    return [s for s in samples if _is_val(key(s), val_fraction, seed) == keep_val]


# --------------------------------------------------------------------------- UCF101


def _load_ucf101(
    root: Path,
    split: str,
    split_id: int,
    annotations: str | os.PathLike[str] | None = None,
    val_fraction: float = 0.1,
    val_seed: int = 0,
) -> tuple[list[str], list[Sample]]:
    """UCF101: ``classInd.txt``, ``trainlist0N.txt`` (path + label), ``testlist0N.txt`` (path only).

    ``val`` is a group-disjoint fraction of the train list: all clips of one
    ``gNN`` group (same actor, same scene) go to the same side, or the val
    set would leak near-duplicates of training clips.
    """
    if split_id not in (1, 2, 3):
        raise DatasetError(f"UCF101 has splits 1, 2, 3; got split_id={split_id}")
    class_file = _find_annotation(root, "classInd.txt", annotations)
    index_to_name: dict[int, str] = {}
    for line in _read_lines(class_file):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetError(f"{class_file}: expected '<index> <ClassName>' per line, got {line!r}")
        index_to_name[int(parts[0])] = parts[1]
    if sorted(index_to_name) != list(range(1, len(index_to_name) + 1)):
        raise DatasetError(f"{class_file}: class indices must be 1..K without gaps")
    class_names = [index_to_name[i] for i in range(1, len(index_to_name) + 1)]
    name_to_label = {n: i for i, n in enumerate(class_names)}

    list_name = f"{'test' if split == 'test' else 'train'}list{split_id:02d}.txt"
    list_file = _find_annotation(root, list_name, annotations)
    samples: list[Sample] = []
    for line in _read_lines(list_file):
        parts = line.split()
        rel = parts[0].replace("\\", "/")
        folder = rel.split("/")[0]
        if folder not in name_to_label:
            raise DatasetError(f"{list_file}: class folder {folder!r} of {rel!r} is not in {class_file.name}")
        label = name_to_label[folder]
        if len(parts) > 1:
            listed = int(parts[1]) - 1
            if listed != label:
                raise DatasetError(f"{list_file}: {rel!r} is in folder {folder!r} but labelled {parts[1]}")
        samples.append(Sample(sample_id=rel, path=_video_dir(root) / rel, label=label, label_name=folder))
    samples = _split_train_val(samples, split, val_fraction, val_seed, key=lambda s: ucf101_group(s.sample_id))
    return class_names, samples


def _video_dir(root: Path) -> Path:
    """The official archive unpacks to ``UCF-101/``; the demo keeps videos at the root."""
    nested = root / "UCF-101"
    return nested if nested.is_dir() else root


# --------------------------------------------------------------------------- entry point

_FORMATS: dict[str, Callable[..., tuple[list[str], list[Sample]]]] = {
    "ucf101": _load_ucf101,
}


def load_split(
    fmt: str, root: str | os.PathLike[str], split: str, split_id: int = 1, **opts: Any
) -> tuple[list[str], list[Sample]]:
    """Class names and samples of ``split`` (``train`` | ``val`` | ``test``) of a dataset in format ``fmt``.

    ``opts`` are format specific (e.g. ``annotations`` folder, ``val_fraction``,
    ``val_seed``). Sample ids are paths relative to ``root``.
    """
    if fmt not in _FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}; known: {sorted(_FORMATS)}")
    if split not in SPLITS:
        raise DatasetError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset root {root} does not exist or is not a folder")
    return _FORMATS[fmt](root, split, split_id, **opts)
