"""Readers of each dataset's official annotation layout -> :class:`SplitInfo`.

Each reader takes ``(root, split, split_id, **opts)``; ``split`` is
``train``, ``val`` (a deterministic held-out part of the train list) or
``test``. Only annotation files are read and paths checked; nothing is decoded.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

from videoxai.data.splits import (
    VIDEO_EXTENSIONS,
    DatasetError,
    Sample,
    SplitInfo,
    find_annotation,
    hmdb51_source,
    hold_out,
    numbered_lines,
    read_lines,
    relative_id,
    ucf101_group,
    unique_samples,
)

PathLike = str | os.PathLike[str]


def _finish(class_names: list[str], samples: list[Sample], drop_missing: bool) -> SplitInfo:
    samples, repeats = unique_samples(samples)
    missing = [s.sample_id for s in samples if not s.path.is_file()]
    if drop_missing and missing:
        gone = set(missing)
        samples = [s for s in samples if s.sample_id not in gone]
    return SplitInfo(class_names, samples, missing, dropped_missing=drop_missing, duplicates=repeats)


def _check_split_id(name: str, split_id: int, valid: Sequence[int]) -> None:
    if split_id not in valid:
        raise DatasetError(f"{name} has splits {', '.join(map(str, valid))}; got split-id {split_id}")


def _optional_annotation(
    root: Path,
    names: Sequence[str],
    explicit: PathLike | None,
    annotations: PathLike | None,
    extra: Sequence[Path] = (),
) -> Path | None:
    """An annotation file that a split may lack: the ``*_csv`` option if set, else the first of ``names`` found."""
    if explicit is not None:
        return Path(explicit)
    try:
        return find_annotation(root, names, annotations, extra)
    except DatasetError:
        return None


def _class_list(opt: Sequence[str] | PathLike | None) -> list[str] | None:
    """``classes`` option: a list of names or a text file with one name per line."""
    if opt is None:
        return None
    if isinstance(opt, (str, os.PathLike)):
        return read_lines(Path(opt))
    return [str(c) for c in opt]


# --------------------------------------------------------------------------- UCF101


def load_ucf101(
    root: Path,
    split: str,
    split_id: int = 1,
    annotations: PathLike | None = None,
    videos: PathLike | None = None,
    val_fraction: float = 0.1,
    val_seed: int = 0,
    drop_missing: bool = False,
) -> SplitInfo:
    """UCF101: ``classInd.txt``, ``trainlist0N.txt`` (path + label), ``testlist0N.txt`` (path only).

    Test lists carry no label: it comes from the folder. ``val`` is
    group-disjoint: all clips of one ``gNN`` group (same actor, same scene)
    fall on the same side, or the val set would leak near-duplicates of
    training clips. Videos are looked up under ``videos``, else ``root/UCF-101``
    (the official archive), else ``root``.
    """
    _check_split_id("UCF101", split_id, (1, 2, 3))
    extra = [root / "ucfTrainTestlist", root.parent / "ucfTrainTestlist"]
    class_file = find_annotation(root, ["classInd.txt"], annotations, extra)
    index_to_name: dict[int, str] = {}
    for line in read_lines(class_file):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise DatasetError(f"{class_file}: expected '<index> <ClassName>' per line, got {line!r}")
        index_to_name[int(parts[0])] = parts[1]
    if sorted(index_to_name) != list(range(1, len(index_to_name) + 1)):
        raise DatasetError(f"{class_file}: class indices must be 1..K without gaps")
    class_names = [index_to_name[i] for i in range(1, len(index_to_name) + 1)]
    name_to_label = {n: i for i, n in enumerate(class_names)}

    list_file = find_annotation(
        root, [f"{'test' if split == 'test' else 'train'}list{split_id:02d}.txt"], annotations, extra
    )
    video_dir = Path(videos) if videos is not None else (root / "UCF-101" if (root / "UCF-101").is_dir() else root)
    samples: list[Sample] = []
    for number, line in numbered_lines(list_file):
        parts = line.split()
        rel = parts[0].replace("\\", "/")
        folder = rel.split("/")[0]
        if folder not in name_to_label:
            raise DatasetError(f"{list_file}: class folder {folder!r} of {rel!r} is not in {class_file.name}")
        label = name_to_label[folder]
        if len(parts) > 1 and int(parts[1]) - 1 != label:
            raise DatasetError(f"{list_file}: {rel!r} is in folder {folder!r} but labelled {parts[1]}")
        where = f"{list_file.name}:{number}"
        samples.append(Sample(sample_id=rel, path=video_dir / rel, label=label, label_name=folder, source=where))
    if split != "test":
        samples = hold_out(samples, split, val_fraction, val_seed, key=lambda s: ucf101_group(s.sample_id))
    return _finish(class_names, samples, drop_missing)


# --------------------------------------------------------------------------- HMDB51

_HMDB_SUFFIX = "_test_split{}.txt"


def load_hmdb51(
    root: Path,
    split: str,
    split_id: int = 1,
    annotations: PathLike | None = None,
    videos: PathLike | None = None,
    val_fraction: float = 0.1,
    val_seed: int = 0,
    drop_missing: bool = False,
) -> SplitInfo:
    """HMDB51: ``testTrainMulti_7030_splits/{class}_test_split{N}.txt`` with ``name.avi 0|1|2``.

    1 = train, 2 = test, 0 = unused. Classes are the split files' class
    names, sorted. ``val`` holds out whole source films (clips ``..._0``,
    ``..._1`` of one film stay together). Videos: ``{videos or root}/{class}/{name}``.
    """
    _check_split_id("HMDB51", split_id, (1, 2, 3))
    if annotations is not None:
        split_dir = Path(annotations)
    else:
        options = [root / "testTrainMulti_7030_splits", root.parent / "testTrainMulti_7030_splits", root]
        split_dir = next(
            (d for d in options if d.is_dir() and any(d.glob("*" + _HMDB_SUFFIX.format(split_id)))), options[0]
        )
    suffix = _HMDB_SUFFIX.format(split_id)
    files = sorted(split_dir.glob("*" + suffix)) if split_dir.is_dir() else []
    if not files:
        raise DatasetError(
            f"no HMDB51 split files '*{suffix}' in {split_dir} (set 'annotations' to the "
            f"testTrainMulti_7030_splits folder)"
        )
    class_names = sorted(f.name[: -len(suffix)] for f in files)
    video_dir = Path(videos) if videos is not None else root
    wanted = "2" if split == "test" else "1"
    samples: list[Sample] = []
    for label, name in enumerate(class_names):
        split_file = split_dir / f"{name}{suffix}"
        for number, line in numbered_lines(split_file):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in {"0", "1", "2"}:
                raise DatasetError(f"{split_file}: expected '<name>.avi 0|1|2' per line, got {line!r}")
            if parts[1] == wanted:
                rel = f"{name}/{parts[0]}"
                where = f"{split_file.name}:{number}"
                samples.append(Sample(rel, video_dir / rel, label, name, source=where))
    if split != "test":
        samples = hold_out(samples, split, val_fraction, val_seed, key=lambda s: hmdb51_source(s.sample_id))
    return _finish(class_names, samples, drop_missing)


# --------------------------------------------------------------------------- Kinetics-400

_K400_CSV = {
    "train": ["train.csv", "kinetics_400_train.csv", "kinetics400_train.csv"],
    "test": ["validate.csv", "val.csv", "kinetics_400_val.csv", "kinetics400_val.csv", "test.csv"],
}


def _index_videos(folder: Path) -> dict[str, Path]:
    """Every video file under ``folder`` by stem (one walk instead of a stat per listed clip)."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fname in sorted(filenames):
            stem, ext = os.path.splitext(fname)
            if ext.lower() in VIDEO_EXTENSIONS:
                found.setdefault(stem, Path(dirpath) / fname)
    return found


def _read_kinetics_csv(path: Path) -> list[dict[str, str]]:
    """The rows, each with its line number under ``"_line"``."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        needed = {"label", "youtube_id", "time_start", "time_end"}
        if reader.fieldnames is None or not needed <= set(reader.fieldnames):
            raise DatasetError(
                f"{path}: expected a header with columns {sorted(needed)} (and 'split'), got {reader.fieldnames}"
            )
        return [{**row, "_line": str(reader.line_num)} for row in reader]


def load_kinetics400(
    root: Path,
    split: str,
    split_id: int = 1,
    annotations: PathLike | None = None,
    videos: PathLike | None = None,
    train_csv: PathLike | None = None,
    test_csv: PathLike | None = None,
    classes: Sequence[str] | PathLike | None = None,
    val_fraction: float = 0.05,
    val_seed: int = 0,
    drop_missing: bool = True,
) -> SplitInfo:
    """Kinetics-400: official CSVs ``label,youtube_id,time_start,time_end,split``.

    Files are ``{youtube_id}_{start:06d}_{end:06d}.mp4`` (or ``{youtube_id}.mp4``)
    anywhere under ``videos`` (default ``root``): in class folders or flat.
    ``test`` reads ``validate.csv`` (Kinetics' labelled held-out set);
    ``val`` holds out whole YouTube videos from the train CSV. Clips
    missing on disk (YouTube removals) are dropped and counted in
    ``SplitInfo.missing``, not fatal. Classes: the sorted labels of the train
    CSV (else of the test CSV), or ``classes``.
    """
    _check_split_id("Kinetics-400", split_id, (1,))
    extra = [root / "annotations", root.parent / "annotations"]
    train_file = _optional_annotation(root, _K400_CSV["train"], train_csv, annotations, extra)
    test_file = _optional_annotation(root, _K400_CSV["test"], test_csv, annotations, extra)
    list_file = test_file if split == "test" else train_file
    if list_file is None or not list_file.is_file():
        names = _K400_CSV["test" if split == "test" else "train"]
        raise DatasetError(
            f"Kinetics-400 {split} CSV not found ({' or '.join(names)} in {annotations or root}); "
            f"set 'annotations', or '{'test' if split == 'test' else 'train'}_csv'"
        )
    rows = _read_kinetics_csv(list_file)
    class_names = _class_list(classes)
    if class_names is None:
        label_source = train_file if train_file is not None and train_file.is_file() else list_file
        label_rows = rows if label_source == list_file else _read_kinetics_csv(label_source)
        class_names = sorted({r["label"] for r in label_rows})
    name_to_label = {n: i for i, n in enumerate(class_names)}
    video_dir = Path(videos) if videos is not None else root
    index = _index_videos(video_dir)
    samples: list[Sample] = []
    youtube_id: dict[str, str] = {}
    for row in rows:
        if row["label"] not in name_to_label:
            raise DatasetError(f"{list_file}: label {row['label']!r} is not among the {len(class_names)} classes")
        stem = f"{row['youtube_id']}_{int(float(row['time_start'])):06d}_{int(float(row['time_end'])):06d}"
        path = index.get(stem) or index.get(row["youtube_id"])
        if path is None:  # keep a stable id for the report; the path does not exist
            path = video_dir / row["label"] / f"{stem}.mp4"
        where = f"{list_file.name}:{row['_line']}"
        sample = Sample(relative_id(path, video_dir), path, name_to_label[row["label"]], row["label"], source=where)
        youtube_id[sample.sample_id] = row["youtube_id"]
        samples.append(sample)
    if split != "test":
        samples = hold_out(samples, split, val_fraction, val_seed, key=lambda s: youtube_id[s.sample_id])
    return _finish(class_names, samples, drop_missing)


# --------------------------------------------------------------------------- generic folder

_SPLIT_DIRS = {"train": ("train", "training"), "val": ("val", "validation", "valid"), "test": ("test", "testing")}


def _split_dir(root: Path, split: str) -> Path | None:
    return next((root / d for d in _SPLIT_DIRS[split] if (root / d).is_dir()), None)


def _class_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _videos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())


def load_folder(
    root: Path,
    split: str,
    split_id: int = 1,
    classes: Sequence[str] | PathLike | None = None,
    val_fraction: float = 0.1,
    val_seed: int = 0,
    drop_missing: bool = False,
) -> SplitInfo:
    """One sub-folder per class: ``root/{train,val,test}/{class}/*.mp4``, or ``root/{class}/*`` without split folders.

    Without split folders the whole tree is the ``test`` split (evaluate a
    model on a folder of clips) and ``train``/``val`` are a deterministic
    per-clip partition of it. A missing ``val`` folder is held out of
    ``train``. Classes are the sorted union of class folders, or ``classes``.
    """
    dirs = {s: _split_dir(root, s) for s in ("train", "val", "test")}
    has_splits = any(dirs.values())
    class_names = _class_list(classes)
    if class_names is None:
        folders = [d for d in dirs.values() if d is not None] if has_splits else [root]
        class_names = sorted({c for d in folders for c in _class_folders(d)})
    if not class_names:
        raise DatasetError(
            f"{root}: no class sub-folders found (expected root/<class>/<clip> or root/<split>/<class>/<clip>)"
        )
    if has_splits:
        source, carve = dirs[split], False
        if source is None and split == "val" and dirs["train"] is not None:
            source, carve = dirs["train"], True
        elif split == "train" and dirs["val"] is None:
            carve = True
        if source is None:
            raise DatasetError(f"{root}: no '{_SPLIT_DIRS[split][0]}' folder for split {split!r}")
    else:
        source, carve = root, split != "test"
    samples = []
    for label, name in enumerate(class_names):
        for path in _videos_in(source / name) if (source / name).is_dir() else []:
            samples.append(Sample(relative_id(path, root), path, label, name))
    if carve:
        samples = hold_out(samples, split, val_fraction, val_seed, key=lambda s: s.sample_id)
    return _finish(class_names, samples, drop_missing)


# --------------------------------------------------------------------------- generic csv


def _read_path_label_csv(path: Path) -> list[tuple[str, str, int]]:
    """``(path, label, line number)`` per row."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        rows = [(reader.line_num, r) for r in reader if r and any(c.strip() for c in r)]
    if rows and [c.strip().lower() for c in rows[0][1][:2]] == ["path", "label"]:
        rows = rows[1:]
    out = []
    for number, row in rows:
        if len(row) < 2:
            raise DatasetError(f"{path} line {number}: expected 'path,label', got {row}")
        out.append((row[0].strip(), row[1].strip(), number))
    return out


def load_csv(
    root: Path,
    split: str,
    split_id: int = 1,
    annotations: PathLike | None = None,
    train_csv: PathLike | None = None,
    val_csv: PathLike | None = None,
    test_csv: PathLike | None = None,
    classes: Sequence[str] | PathLike | None = None,
    val_fraction: float = 0.1,
    val_seed: int = 0,
    drop_missing: bool = False,
) -> SplitInfo:
    """``path,label`` lists (header optional): ``{train,val,test}.csv`` or the ``*_csv`` options.

    Paths are relative to ``root`` (or absolute). Labels are class names, or
    integer indices into ``classes``. Classes: ``classes``, else the sorted
    names found across the split files. No val file: a per-clip held-out part of train.
    """
    explicit = {"train": train_csv, "val": val_csv, "test": test_csv}
    files = {s: _optional_annotation(root, [f"{s}.csv"], explicit[s], annotations) for s in explicit}
    source, carve = files[split], False
    if split == "val" and source is None:
        source, carve = files["train"], True
    elif split == "train" and files["val"] is None:
        carve = True
    if source is None or not source.is_file():
        raise DatasetError(f"no {split}.csv in {annotations or root} (set '{split}_csv' or 'annotations')")
    rows = {s: _read_path_label_csv(f) for s, f in files.items() if f is not None and f.is_file()}
    class_names = _class_list(classes)
    all_labels = {label for file_rows in rows.values() for _, label, _ in file_rows}
    if class_names is None:
        named = {lbl for lbl in all_labels if not lbl.isdigit()}
        class_names = sorted(named) if named else [str(i) for i in range(max(map(int, all_labels), default=-1) + 1)]
    name_to_label = {n: i for i, n in enumerate(class_names)}
    samples = []
    for rel, label, number in rows["train" if carve else split]:
        if label in name_to_label:  # a class name first, then an integer index
            index = name_to_label[label]
        elif label.isdigit():
            index = int(label)
            if index >= len(class_names):
                raise DatasetError(f"{source}: label {index} out of range for {len(class_names)} classes")
        else:
            raise DatasetError(f"{source}: label {label!r} is not a known class (see 'classes')")
        path = Path(rel) if os.path.isabs(rel) else root / rel
        where = f"{source.name}:{number}"
        samples.append(Sample(relative_id(path, root), path, index, class_names[index], source=where))
    if carve:
        samples = hold_out(samples, split, val_fraction, val_seed, key=lambda s: s.sample_id)
    return _finish(class_names, samples, drop_missing)


FORMATS = {
    "ucf101": load_ucf101,
    "hmdb51": load_hmdb51,
    "kinetics400": load_kinetics400,
    "folder": load_folder,
    "csv": load_csv,
}
