"""The demo generator: deterministic, lossless on disk, masks aligned, reversals exact, atomic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videoxai.data.decode import count_frames, read_frames
from videoxai.data.masks import load_mask
from videoxai.demo import dataset as demo
from videoxai.demo.dataset import DEMO_CLASSES, make_clip, write_demo_dataset
from videoxai.io import read_json

T, S = 16, 64


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "ds"
    write_demo_dataset(root, n_train=16, n_test=8, seed=3, frames=T, size=S)
    return root


def test_make_clip_shapes_and_types() -> None:
    for c in range(len(DEMO_CLASSES)):
        frames, mask = make_clip(c, np.random.default_rng(c), T, S)
        assert frames.shape == (T, S, S, 3) and frames.dtype == np.uint8
        assert mask.shape == (T, S, S) and mask.dtype == bool


def test_same_seed_same_clip_different_seed_differs() -> None:
    a = make_clip(2, np.random.default_rng(11), T, S)
    b = make_clip(2, np.random.default_rng(11), T, S)
    c = make_clip(2, np.random.default_rng(12), T, S)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(("forward", "backward"), [(0, 1), (2, 3), (4, 5)])
def test_reverse_classes_are_exact_time_reversals(forward: int, backward: int) -> None:
    for seed in range(3):
        f_frames, f_mask = make_clip(forward, np.random.default_rng(seed), T, S)
        b_frames, b_mask = make_clip(backward, np.random.default_rng(seed), T, S)
        assert np.array_equal(f_frames[::-1], b_frames)
        assert np.array_equal(f_mask[::-1], b_mask)


def _centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return np.array([xs.mean(), ys.mean()])


@pytest.mark.parametrize("seed", range(4))
def test_masks_follow_the_action(seed: int) -> None:
    rng = lambda: np.random.default_rng(seed)  # noqa: E731
    sampled = list(range(1, T, 2))  # the 8 segment centres of 16 frames

    _, right = make_clip(0, rng(), T, S)
    xs = [_centroid(right[t])[0] for t in sampled]
    steps = np.diff(xs)
    assert np.all(steps > 0.5) and np.all(steps < 2.5), steps  # 1-2 px per sampled frame

    _, down = make_clip(2, rng(), T, S)
    ys = [_centroid(down[t])[1] for t in sampled]
    assert np.all(np.diff(ys) > 0.5)

    _, grow = make_clip(4, rng(), T, S)
    assert grow[-1].sum() > 1.5 * grow[0].sum()

    _, rot = make_clip(6, rng(), T, S)
    areas = rot.sum((1, 2))
    assert areas.max() < 1.25 * areas.min()  # same object ...
    assert (rot[0] ^ rot[-1]).sum() > 0.2 * areas.mean()  # ... turned

    _, blink = make_clip(7, rng(), T, S)
    on = blink[sampled].any((1, 2))
    assert on.any() and not on.all()


@pytest.mark.parametrize("class_index", range(len(DEMO_CLASSES)))
def test_object_pixels_differ_from_background(class_index: int) -> None:
    frames, mask = make_clip(class_index, np.random.default_rng(class_index + 100), T, S)
    t = int(np.argmax(mask.sum((1, 2))))
    inside = frames[t][mask[t]].astype(float).mean(0)
    ring = np.zeros_like(mask[t])
    ys, xs = np.nonzero(mask[t])
    ring[max(ys.min() - 6, 0) : ys.max() + 7, max(xs.min() - 6, 0) : xs.max() + 7] = True
    ring &= ~mask[t]
    outside = frames[t][ring].astype(float).mean(0)
    assert np.abs(inside - outside).mean() > 25


def test_dataset_layout_and_done_marker(demo_root: Path) -> None:
    assert demo.is_complete(demo_root)
    done = read_json(demo_root / "DONE.json")
    assert done["counts"] == {"train": 16, "test": 8}
    assert (demo_root / "classInd.txt").read_text().splitlines()[0] == "1 MoveRight"
    train = (demo_root / "trainlist01.txt").read_text().splitlines()
    test = (demo_root / "testlist01.txt").read_text().splitlines()
    assert len(train) == 16 and len(test) == 8
    assert train[0] == "MoveRight/v_MoveRight_g08_c01.avi 1"
    assert all(len(line.split()) == 1 for line in test)
    for line in train:
        group = int(line.split("_g")[1][:2])
        assert 8 <= group <= 25
    for line in test:
        assert 1 <= int(line.split("_g")[1][:2]) <= 7
    assert not [p for p in demo_root.parent.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_files_decode_losslessly_with_aligned_masks(demo_root: Path) -> None:
    rel = (demo_root / "testlist01.txt").read_text().splitlines()[0]
    path = demo_root / rel
    assert count_frames(path) == T
    frames = read_frames(path, range(T))
    mask = load_mask(path)
    assert frames.shape == (T, S, S, 3) and mask.shape == (T, S, S)
    # regenerate the same clip from its per-clip seed: files hold exactly the generated frames
    expected_frames, expected_mask = make_clip(0, demo._clip_seed(3, "test", 0, 1, 1), T, S)
    assert np.array_equal(frames, expected_frames)
    assert np.array_equal(mask, expected_mask)


def test_same_seed_gives_identical_files(demo_root: Path, tmp_path: Path) -> None:
    other = tmp_path / "again"
    write_demo_dataset(other, n_train=16, n_test=8, seed=3, frames=T, size=S)
    for rel in (demo_root / "testlist01.txt").read_text().splitlines()[:3]:
        assert np.array_equal(read_frames(demo_root / rel, range(T)), read_frames(other / rel, range(T)))
        assert np.array_equal(load_mask(demo_root / rel), load_mask(other / rel))
    assert (demo_root / "trainlist01.txt").read_text() == (other / "trainlist01.txt").read_text()


def test_mp4_container_is_lossless_too(tmp_path: Path) -> None:
    root = tmp_path / "mp4"
    write_demo_dataset(root, n_train=8, n_test=8, seed=1, frames=T, size=S, container="mp4")
    rel = (root / "testlist01.txt").read_text().splitlines()[2]
    assert rel.endswith(".mp4")
    class_index = DEMO_CLASSES.index(rel.split("/")[0])
    expected, _ = make_clip(class_index, demo._clip_seed(1, "test", class_index, 1, 1), T, S)
    assert np.array_equal(read_frames(root / rel, range(T)), expected)


def test_rerun_is_idempotent_and_refuses_other_parameters(demo_root: Path) -> None:
    stamp = (demo_root / "DONE.json").stat().st_mtime_ns
    again = write_demo_dataset(demo_root, n_train=16, n_test=8, seed=3, frames=T, size=S)
    assert again["counts"] == {"train": 16, "test": 8}
    assert (demo_root / "DONE.json").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_demo_dataset(demo_root, n_train=16, n_test=8, seed=4, frames=T, size=S)


def test_killed_run_leaves_nothing_that_looks_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = demo.write_lossless
    calls = {"n": 0}

    def failing_write(path, frames, fps=25):  # fault injection: the 5th clip dies mid-run
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        real_write(path, frames, fps=fps)

    monkeypatch.setattr(demo, "write_lossless", failing_write)
    root = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        write_demo_dataset(root, n_train=8, n_test=8)
    assert not root.exists()
    assert list(tmp_path.iterdir()) == []


def test_refuses_foreign_nonempty_folder(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "precious.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not a finished demo dataset"):
        write_demo_dataset(tmp_path / "ds", n_train=8, n_test=8)
    assert (tmp_path / "ds" / "precious.txt").exists()


def test_load_mask_without_mask_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="only demo clips have masks"):
        load_mask(tmp_path / "x.avi")


def test_parallel_build_writes_the_same_files(demo_root: Path, tmp_path: Path) -> None:
    """Clips generated by 2 processes are the serial build's, byte for byte (the .mat headers carry a time)."""
    import hashlib

    import scipy.io

    other = tmp_path / "parallel"
    write_demo_dataset(other, n_train=16, n_test=8, seed=3, frames=T, size=S, workers=2)
    files = sorted(p.relative_to(demo_root) for p in demo_root.rglob("*") if p.is_file() and p.name != "DONE.json")
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file() and p.name != "DONE.json")
    for rel in files:
        if rel.suffix == ".mat":
            a, b = scipy.io.loadmat(demo_root / rel), scipy.io.loadmat(other / rel)
            assert np.array_equal(a["part_mask"], b["part_mask"]), rel
        else:
            digest = [hashlib.sha256((r / rel).read_bytes()).hexdigest() for r in (demo_root, other)]
            assert digest[0] == digest[1], rel
    assert read_json(demo_root / "DONE.json")["params"] == read_json(other / "DONE.json")["params"]
