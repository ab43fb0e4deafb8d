"""HMDB51, Kinetics-400, folder and csv layouts, built from generated video files."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from videoxai.data.datasets import DatasetError, hmdb51_source, load_split, load_split_info
from videoxai.data.decode import count_frames
from videoxai.data.encode import write_lossless
from videoxai.demo.dataset import make_clip

_FRAMES = make_clip(0, np.random.default_rng(0), 4, 32)[0]


def _video(path: Path) -> Path:
    write_lossless(path, _FRAMES)
    return path


# --------------------------------------------------------------------------- HMDB51

HMDB = {
    "brush_hair": [
        ("April_09_brush_hair_u_nm_np1_ba_goo_0.avi", 1),
        ("April_09_brush_hair_u_nm_np1_ba_goo_1.avi", 1),
        ("Brushing_Hair_with_Beth_brush_hair_h_nm_np1_le_goo_0.avi", 2),
        ("Aussie_brush_hair_f_nm_np1_fr_med_0.avi", 0),
        ("Blonde_brush_hair_u_cm_np1_ba_goo_0.avi", 1),
        ("Blonde_brush_hair_u_cm_np1_ba_goo_1.avi", 1),
    ],
    "cartwheel": [
        ("Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi", 1),
        ("Bodenturnen_cartwheel_f_cm_np1_le_med_0.avi", 2),
        ("Cartwheel_Fun_cartwheel_f_cm_np1_ri_med_0.avi", 1),
        ("Cartwheel_Fun_cartwheel_f_cm_np1_ri_med_1.avi", 1),
    ],
}


@pytest.fixture(scope="module")
def hmdb_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hmdb")
    splits = root / "testTrainMulti_7030_splits"
    splits.mkdir()
    for cls, rows in HMDB.items():
        for split_id in (1, 2, 3):
            (splits / f"{cls}_test_split{split_id}.txt").write_text("".join(f"{n} {s} \n" for n, s in rows))
        for name, _ in rows:
            (root / cls).mkdir(exist_ok=True)
            _video(root / cls / name)
    return root


def test_hmdb51_train_test_and_unused(hmdb_root: Path) -> None:
    names, train = load_split("hmdb51", hmdb_root, "train", val_fraction=0.0)
    _, test = load_split("hmdb51", hmdb_root, "test", split_id=3)
    assert names == ["brush_hair", "cartwheel"]
    assert len(train) == 7 and len(test) == 2
    assert {s.sample_id for s in test} == {
        "brush_hair/Brushing_Hair_with_Beth_brush_hair_h_nm_np1_le_goo_0.avi",
        "cartwheel/Bodenturnen_cartwheel_f_cm_np1_le_med_0.avi",
    }
    assert all("Aussie" not in s.sample_id for s in train + test)  # 0 = unused
    assert all(s.path.is_file() and names[s.label] == s.label_name for s in train + test)
    assert count_frames(train[0].path) == 4


def test_hmdb51_val_keeps_source_films_together(hmdb_root: Path) -> None:
    _, full = load_split("hmdb51", hmdb_root, "train", val_fraction=0.0)
    _, train = load_split("hmdb51", hmdb_root, "train", val_fraction=0.5, val_seed=1)
    _, val = load_split("hmdb51", hmdb_root, "val", val_fraction=0.5, val_seed=1)
    assert sorted(s.sample_id for s in train + val) == sorted(s.sample_id for s in full)
    assert not {hmdb51_source(s.sample_id) for s in train} & {hmdb51_source(s.sample_id) for s in val}
    assert hmdb51_source("x/April_09_brush_hair_u_nm_np1_ba_goo_1.avi") == "x/April_09_brush_hair_u_nm_np1_ba_goo"


def test_hmdb51_missing_split_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="testTrainMulti_7030_splits"):
        load_split("hmdb51", tmp_path, "train")


# --------------------------------------------------------------------------- Kinetics-400

K400_ROWS = [
    ("abseiling", "aaaaaaaaaaa", 14, 24, "train"),
    ("abseiling", "bbbbbbbbbbb", 0, 10, "train"),
    ("air drumming", "ccccccccccc", 5, 15, "train"),
    ("air drumming", "ddddddddddd", 30, 40, "train"),  # removed from YouTube: not on disk
    ("air drumming", "eeeeeeeeeee", 1, 11, "train"),
]
K400_VAL = [("abseiling", "fffffffffff", 3, 13, "val"), ("air drumming", "ggggggggggg", 0, 10, "val")]


def _k400(root: Path, flat: bool) -> Path:
    ann = root / "annotations"
    ann.mkdir(parents=True)
    header = "label,youtube_id,time_start,time_end,split\n"
    (ann / "train.csv").write_text(header + "".join(f"{a},{b},{c},{d},{e}\n" for a, b, c, d, e in K400_ROWS))
    (ann / "validate.csv").write_text(header + "".join(f'"{a}",{b},{c}.0,{d}.0,{e}\n' for a, b, c, d, e in K400_VAL))
    for label, yid, start, end, split in K400_ROWS + K400_VAL:
        if yid == "ddddddddddd":
            continue
        folder = root / "videos" if flat else root / "videos" / split / label
        folder.mkdir(parents=True, exist_ok=True)
        _video(folder / f"{yid}_{start:06d}_{end:06d}.mp4")
    return root


@pytest.mark.parametrize("flat", [False, True])
def test_kinetics_csv_class_folders_or_flat(tmp_path: Path, flat: bool, caplog: pytest.LogCaptureFixture) -> None:
    root = _k400(tmp_path, flat)
    with caplog.at_level(logging.WARNING):
        info = load_split_info(
            "kinetics400", root, "train", annotations=root / "annotations", videos=root / "videos", val_fraction=0.0
        )
    assert info.class_names == ["abseiling", "air drumming"]
    assert len(info.samples) == 4 and info.missing == ["air drumming/ddddddddddd_000030_000040.mp4"]
    assert "1 listed clips missing on disk, skipped" in info.report()
    assert "missing on disk" in caplog.text
    assert all(s.path.is_file() for s in info.samples)
    names, test = load_split("kinetics", root, "test", annotations=root / "annotations", videos=root / "videos")
    assert [s.label for s in test] == [0, 1] and names == info.class_names


def test_kinetics_val_holds_out_whole_youtube_videos(tmp_path: Path) -> None:
    root = _k400(tmp_path, flat=True)
    opts = {"annotations": root / "annotations", "videos": root / "videos", "val-fraction": 0.5, "val-seed": 2}
    _, train = load_split("kinetics400", root, "train", **opts)
    _, val = load_split("kinetics400", root, "val", **opts)
    assert len(train) + len(val) == 4 and val and train
    assert not {s.sample_id[:11] for s in train} & {s.sample_id[:11] for s in val}


def test_kinetics_without_csv(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="Kinetics-400 train CSV not found"):
        load_split("kinetics400", tmp_path, "train")


# --------------------------------------------------------------------------- folder and csv


def test_folder_with_split_folders(tmp_path: Path) -> None:
    for split, cls, n in [("train", "jump", 3), ("train", "run", 2), ("test", "run", 2), ("test", "swim", 1)]:
        (tmp_path / split / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            _video(tmp_path / split / cls / f"{cls}{i}.mp4")
    (tmp_path / "train" / "jump" / "notes.txt").write_text("not a video")
    names, test = load_split("folder", tmp_path, "test")
    assert names == ["jump", "run", "swim"]
    assert [(s.sample_id, s.label) for s in test] == [
        ("test/run/run0.mp4", 1),
        ("test/run/run1.mp4", 1),
        ("test/swim/swim0.mp4", 2),
    ]
    _, train = load_split("folder", tmp_path, "train", val_fraction=0.4)
    _, val = load_split("folder", tmp_path, "val", val_fraction=0.4)
    assert sorted(s.sample_id for s in train + val) == sorted(
        f"train/{c}/{c}{i}.mp4" for c, n in [("jump", 3), ("run", 2)] for i in range(n)
    )


def test_folder_without_split_folders_is_a_test_pool(tmp_path: Path) -> None:
    for cls in ("a", "b"):
        (tmp_path / cls / "sub").mkdir(parents=True)
        _video(tmp_path / cls / "sub" / "x.avi")
    names, test = load_split("folder", tmp_path, "test")
    assert names == ["a", "b"] and [s.sample_id for s in test] == ["a/sub/x.avi", "b/sub/x.avi"]


def test_csv_with_names_or_indices(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    for i in range(4):
        _video(tmp_path / "clips" / f"c{i}.mp4")
    (tmp_path / "train.csv").write_text("path,label\nclips/c0.mp4,dog\nclips/c1.mp4,cat\nclips/c2.mp4,dog\n")
    (tmp_path / "test.csv").write_text(f"clips/c3.mp4,cat\n{tmp_path / 'clips' / 'c0.mp4'},dog\nclips/nope.mp4,cat\n")
    info = load_split_info("csv", tmp_path, "test")
    assert info.class_names == ["cat", "dog"]
    assert [(s.sample_id, s.label) for s in info.samples] == [
        ("clips/c3.mp4", 0),
        ("clips/c0.mp4", 1),
        ("clips/nope.mp4", 0),
    ]
    assert info.missing == ["clips/nope.mp4"] and not info.dropped_missing  # kept: becomes an error row
    (tmp_path / "num.csv").write_text("clips/c1.mp4,2\n")
    names, rows = load_split("csv", tmp_path, "test", test_csv=tmp_path / "num.csv", classes=["x", "y", "z"])
    assert rows[0].label == 2 and rows[0].label_name == "z" and names == ["x", "y", "z"]
    with pytest.raises(DatasetError, match="out of range"):
        load_split("csv", tmp_path, "test", test_csv=tmp_path / "num.csv", classes=["x"])


def test_unknown_options_are_named(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with pytest.raises(DatasetError, match=r"does not take option\(s\) \['annotation'\]"):
        load_split("folder", tmp_path, "test", annotation="typo")
