"""What every dataset format shares: the Sample record, errors, annotation lookup, held-out val splits, and a
split being a set (each clip once, under one label)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "val", "test")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv")


class DatasetError(ValueError):
    """An annotation file is missing or malformed; the message names the file and what to fix."""


@dataclass
class Sample:
    """One clip: ``sample_id`` is its path relative to the dataset root (stable across machines); ``source`` is
    where the split lists it (``testlist01.txt:12``), for messages."""

    sample_id: str
    path: Path
    label: int
    label_name: str
    source: str = ""


@dataclass
class SplitInfo:
    """A loaded split plus what was noticed on the way (clips listed but missing on disk)."""

    class_names: list[str]
    samples: list[Sample]
    missing: list[str] = field(default_factory=list)
    dropped_missing: bool = False
    duplicates: list[str] = field(default_factory=list)  # entries dropped as repeats: "id (where, where again)"

    def report(self) -> str:
        """One line for the job log."""
        line = f"{len(self.samples)} clips, {len(self.class_names)} classes"
        if self.missing:
            verb = "skipped" if self.dropped_missing else "kept (they will be error rows)"
            line += f"; {len(self.missing)} listed clips missing on disk, {verb}: e.g. {self.missing[:3]}"
        if self.duplicates:
            line += f"; {self.duplicates_line()}"
        return line

    def duplicates_line(self) -> str:
        """One line on the repeated entries that were dropped."""
        return (
            f"{len(self.duplicates)} entries list a clip already listed, each counted once: e.g. {self.duplicates[0]}"
        )


def find_annotation(
    root: Path, names: Iterable[str], annotations: str | os.PathLike[str] | None, extra: Iterable[Path] = ()
) -> Path:
    """The first of ``names`` found in ``annotations`` (if given), ``root`` and the ``extra`` folders."""
    folders = ([Path(annotations)] if annotations is not None else []) + [root, *extra]
    names = list(names)
    candidates = [folder / name for folder in folders for name in names]
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise DatasetError(
        f"annotation file {' or '.join(map(repr, names))} not found; looked in: {looked} "
        f"(set 'annotations' to the folder that holds it)"
    )


def numbered_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, line)`` of the non-empty stripped lines (handles CRLF files, as the official UCF101 lists are)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not UTF-8 text: {exc}") from exc
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_lines(path: Path) -> list[str]:
    """Non-empty stripped lines (handles CRLF files, as the official UCF101 lists are)."""
    return [line for _, line in numbered_lines(path)]


def unique_samples(samples: list[Sample]) -> tuple[list[Sample], list[str]]:
    """A split is a set: each clip once. Repeats of an entry are dropped (and returned, to be reported); a clip
    listed under two labels is an error naming both places, since either label would change the numbers."""
    first: dict[str, Sample] = {}
    kept: list[Sample] = []
    repeats: list[str] = []
    for s in samples:
        seen = first.get(s.sample_id)
        if seen is None:
            first[s.sample_id] = s
            kept.append(s)
        elif seen.label != s.label:
            raise DatasetError(
                f"clip {s.sample_id!r} is listed under two labels, {seen.label_name!r} ({seen.source or 'first'}) "
                f"and {s.label_name!r} ({s.source or 'later'}): a clip has one label; remove the wrong line"
            )
        else:
            repeats.append(f"{s.sample_id} ({seen.source or 'first'}, again at {s.source or 'a later entry'})")
    return kept, repeats


def stable_fraction(key: str, seed: int) -> float:
    """A number in [0, 1) fixed by ``key`` and ``seed`` alone: independent of list order and platform."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def hold_out(
    samples: list[Sample], split: str, val_fraction: float, seed: int, key: Callable[[Sample], str]
) -> list[Sample]:
    """From a train list, ``train`` keeps the samples not held out and ``val`` the held-out ones.

    Membership is decided per ``key`` (a UCF101 group, an HMDB51 source
    video, a YouTube id, or the clip itself), so related clips never
    straddle the two sides.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise DatasetError(f"val_fraction must be in [0, 1), got {val_fraction}")
    want_val = split == "val"
    chosen = [s for s in samples if (stable_fraction(key(s), seed) < val_fraction) == want_val]
    if want_val and not chosen and samples and val_fraction > 0:
        raise DatasetError(f"val_fraction={val_fraction} holds out no clip of {len(samples)}: raise it")
    return chosen


_UCF_GROUP = re.compile(r"_g(\d+)_c\d+", re.IGNORECASE)


def ucf101_group(sample_id: str) -> str:
    """The UCF101 group of a clip (``X/v_X_g08_c01.avi`` -> ``"X/g08"``): clips of one group share actor and scene."""
    m = _UCF_GROUP.search(Path(sample_id).name)
    if not m:
        raise DatasetError(f"cannot find the group (_gNN_cNN) in UCF101 clip name {sample_id!r}")
    return f"{Path(sample_id).parent.as_posix()}/g{int(m.group(1)):02d}"


_HMDB_CLIP = re.compile(r"_\d+$")


def hmdb51_source(sample_id: str) -> str:
    """The source film of an HMDB51 clip: the name without its trailing clip number (``..._goo_1.avi``)."""
    return _HMDB_CLIP.sub("", Path(sample_id).with_suffix("").as_posix())


def relative_id(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (absolute when outside ``root``)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
