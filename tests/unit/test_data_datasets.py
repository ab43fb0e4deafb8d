"""UCF101 lists: labels from classInd / folders, group-disjoint val."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoxai.data.datasets import DatasetError, load_split, ucf101_group
from videoxai.demo.dataset import DEMO_CLASSES, write_demo_dataset


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ucf") / "ds"
    write_demo_dataset(root, n_train=144, n_test=16, seed=0, frames=8, size=32)
    return root


def test_demo_parses_as_ucf101(demo_root: Path) -> None:
    names, train = load_split("ucf101", demo_root, "train", val_fraction=0.0)
    assert names == DEMO_CLASSES
    assert len(train) == 144
    first = train[0]
    assert first.sample_id == "MoveRight/v_MoveRight_g08_c01.avi"
    assert first.path == demo_root / first.sample_id and first.path.exists()
    assert (first.label, first.label_name) == (0, "MoveRight")
    for s in train:
        assert names[s.label] == s.label_name == s.sample_id.split("/")[0]


def test_test_list_labels_come_from_folders(demo_root: Path) -> None:
    names, test = load_split("ucf101", demo_root, "test")
    assert len(test) == 16
    assert {s.label for s in test} == set(range(len(names)))
    assert all(names[s.label] == s.sample_id.split("/")[0] for s in test)


def test_val_is_group_disjoint_deterministic_and_partitions_train(demo_root: Path) -> None:
    _, train = load_split("ucf101", demo_root, "train", val_fraction=0.25)
    _, val = load_split("ucf101", demo_root, "val", val_fraction=0.25)
    _, val_again = load_split("ucf101", demo_root, "val", val_fraction=0.25)
    _, full = load_split("ucf101", demo_root, "train", val_fraction=0.0)
    assert [s.sample_id for s in val] == [s.sample_id for s in val_again]
    assert sorted(s.sample_id for s in train + val) == sorted(s.sample_id for s in full)
    assert val and train
    train_groups = {ucf101_group(s.sample_id) for s in train}
    val_groups = {ucf101_group(s.sample_id) for s in val}
    assert not train_groups & val_groups
    assert 0.1 < len(val) / len(full) < 0.45


def test_group_of_a_clip() -> None:
    assert ucf101_group("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi") == "ApplyEyeMakeup/g08"
    with pytest.raises(DatasetError, match="group"):
        ucf101_group("X/clip.avi")


def test_official_layout_with_nested_folders(tmp_path: Path) -> None:
    lists = tmp_path / "ucfTrainTestlist"
    videos = tmp_path / "UCF-101" / "ApplyEyeMakeup"
    lists.mkdir()
    videos.mkdir(parents=True)
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\r\n2 Archery\r\n")
    (lists / "trainlist02.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n")
    (lists / "testlist02.txt").write_text("Archery/v_Archery_g01_c01.avi\r\n")
    names, train = load_split("ucf101", tmp_path, "train", split_id=2, val_fraction=0.0)
    assert names == ["ApplyEyeMakeup", "Archery"]
    assert train[0].path == tmp_path / "UCF-101" / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g08_c01.avi"
    _, test = load_split("ucf101", tmp_path, "test", split_id=2)
    assert test[0].label == 1


def test_clear_errors(tmp_path: Path, demo_root: Path) -> None:
    with pytest.raises(DatasetError, match="classInd.txt"):
        load_split("ucf101", tmp_path, "train")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        load_split("nope", demo_root, "train")
    with pytest.raises(DatasetError, match="split must be"):
        load_split("ucf101", demo_root, "dev")
    with pytest.raises(DatasetError, match="splits 1, 2, 3"):
        load_split("ucf101", demo_root, "train", split_id=4)
    (tmp_path / "classInd.txt").write_text("1 A\n2 B\n")
    (tmp_path / "trainlist01.txt").write_text("A/v_A_g01_c01.avi 2\n")
    with pytest.raises(DatasetError, match="labelled 2"):
        load_split("ucf101", tmp_path, "train")
