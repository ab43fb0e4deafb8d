"""Annotation readers: the restricted unpickler, UCF101-24 tubes (both layouts), J-HMDB puppet masks, and the
mapping of annotated frames onto the frames a model saw."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from videoxai.data.annotations import (
    AnnotationError,
    load_ground_truth,
    resolve_path,
    video_id,
)
from videoxai.data.annotations.base import ClipAnnotation
from videoxai.data.annotations.frames import ClipSkipped, clip_target, view_geometry
from videoxai.data.annotations.jhmdb import (
    PuppetMasks,
    read_puppet_mask,
    write_puppet_mask,
)
from videoxai.data.annotations.safe_pickle import RefusedGlobal, safe_load, safe_loads
from videoxai.data.annotations.ucf101_24 import read_tubes

# --------------------------------------------------------------------------- the restricted unpickler


class _Payload:
    """Unpickling this would create a file: the attack a malicious annotation pickle mounts."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path: Path, protocol: int) -> None:
    target = tmp_path / "pwned"
    path = tmp_path / "UCF101v2-GT.pkl"
    path.write_bytes(pickle.dumps({"labels": ["a"], "gttubes": {"x": _Payload(target)}}, protocol=protocol))
    with pytest.raises(RefusedGlobal, match=r"UCF101v2-GT\.pkl: refused to load the global "):
        safe_load(path)
    assert not target.exists()
    # the same file through the dataset entry: the same refusal
    with pytest.raises(RefusedGlobal):
        load_ground_truth({"format": "ucf101-24", "file": str(path)})
    assert not target.exists()


def test_os_system_and_eval_are_refused() -> None:
    class Shell:
        def __reduce__(self):
            import os

            return (os.system, ("true",))

    class Eval:
        def __reduce__(self):
            return (eval, ("1+1",))

    for obj in (Shell(), Eval()):
        with pytest.raises(RefusedGlobal, match="Nothing in the file was run"):
            safe_loads(pickle.dumps(obj))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_and_numpy_arrays_load_under_every_protocol(protocol: int) -> None:
    obj = {
        "labels": ["Basketball"],
        "tube": np.arange(10, dtype=np.float32).reshape(2, 5),
        "nframes": np.int64(7),
        "resolution": (240, 320),
        "set": {1, 2},
        "bytes": b"\x00\xff",
        "f": np.float64(0.5),
        "obj": np.array([np.zeros(2), np.ones(3)], dtype=object),
    }
    back = safe_loads(pickle.dumps(obj, protocol=protocol))
    assert back["labels"] == ["Basketball"] and back["set"] == {1, 2} and back["bytes"] == b"\x00\xff"
    np.testing.assert_array_equal(back["tube"], obj["tube"])
    assert back["tube"].dtype == np.float32 and int(back["nframes"]) == 7 and back["resolution"] == (240, 320)
    np.testing.assert_array_equal(back["obj"][1], np.ones(3))


def test_a_python2_pickle_with_latin1_strings_loads() -> None:
    # protocol 2 as Python 2 writes it: str is a byte string (SHORT_BINSTRING), module __builtin__
    data = b"\x80\x02}q\x00U\x06labelsq\x01]q\x02U\x03Fooq\x03as."
    assert safe_loads(data) == {"labels": ["Foo"]}


def test_a_file_that_is_not_a_pickle_or_missing_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "pyannot.pkl"
    bad.write_bytes(b"this is not a pickle")
    with pytest.raises(ValueError, match=r"pyannot\.pkl is not a readable annotation pickle"):
        safe_load(bad)
    truncated = tmp_path / "cut.pkl"
    truncated.write_bytes(pickle.dumps({"a": np.zeros(100)})[:40])
    with pytest.raises(ValueError, match="cut.pkl"):
        safe_load(truncated)
    with pytest.raises(FileNotFoundError, match="ground-truth: file:"):
        safe_load(tmp_path / "absent.pkl")


# --------------------------------------------------------------------------- UCF101-24 tubes


def _act_file(tmp_path: Path, tubes: dict, nframes: dict, resolution: dict | None = None) -> Path:
    data = {
        "labels": ["Basketball", "Biking"],
        "gttubes": tubes,
        "nframes": nframes,
        "resolution": resolution or {v: (240, 320) for v in tubes},
        "train_videos": [[]],
        "test_videos": [sorted(tubes)],
    }
    path = tmp_path / "UCF101v2-GT.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    return path


def _tube(frames: range, box: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([[f, *box] for f in frames], dtype=np.float32)


def test_act_layout_boxes_per_frame_and_video_matching(tmp_path: Path) -> None:
    vid = "Basketball/v_Basketball_g01_c01"
    two = "Biking/v_Biking_g02_c03"
    path = _act_file(
        tmp_path,
        {
            vid: {0: [_tube(range(3, 6), (10, 20, 50, 80))]},
            two: {1: [_tube(range(1, 3), (0, 0, 5, 5)), _tube(range(2, 4), (1, 1, 2, 2))]},
        },
        {vid: 10, two: 4},
    )
    gt = load_ground_truth({"format": "ucf101-24", "file": str(path)})
    assert gt.find("Basketball/v_Basketball_g01_c01.avi") == vid
    assert gt.find("basketball_renamed/v_Basketball_g01_c01.avi") == vid  # stem match: class folder spelt otherwise
    assert gt.find("Basketball/v_Basketball_g09_c01.avi") is None  # a video the file does not list
    ann = gt.get(vid)
    assert ann.problem is None and ann.nframes == 10 and ann.resolution == (240, 320) and ann.labels == ["Basketball"]
    assert sorted(ann.boxes) == [3, 4, 5] and ann.annotated_frames() == [3, 4, 5]
    np.testing.assert_array_equal(ann.boxes[4], [[10, 20, 50, 80]])
    both = gt.get(two)
    assert both.boxes[2].shape == (2, 4)  # two people on frame 2: both boxes kept


def test_pyannot_layout_is_read_with_its_0_based_frames_and_xywh_boxes(tmp_path: Path) -> None:
    vid = "Basketball/v_Basketball_g01_c01"
    data = {
        vid: {
            "label": 0,
            "numf": 8,
            "annotations": [{"label": 0, "sf": 2, "ef": 5, "boxes": np.array([[10, 20, 30, 40]] * 3)}],
        }
    }
    path = tmp_path / "pyannot.pkl"
    path.write_bytes(pickle.dumps(data))
    ann = read_tubes(path).get(vid)
    assert ann.problem is None and ann.nframes == 8 and ann.resolution is None
    assert sorted(ann.boxes) == [3, 4, 5]  # 0-based frames 2..4 are frame numbers 3..5
    np.testing.assert_array_equal(ann.boxes[3], [[10, 20, 40, 60]])  # x, y, w, h -> x1, y1, x2, y2


def test_malformed_entries_become_the_clip_s_problem_not_the_file_s(tmp_path: Path) -> None:
    ok, beyond, empty, noframes = (f"Biking/v_Biking_g0{i}_c01" for i in range(1, 5))
    path = _act_file(
        tmp_path,
        {
            ok: {1: [_tube(range(1, 4), (0, 0, 5, 5))]},
            beyond: {1: [_tube(range(5, 12), (0, 0, 5, 5))]},  # frame 11 of a 10-frame clip
            empty: {1: [np.zeros((0, 5), np.float32)]},
            noframes: {1: []},
        },
        {ok: 10, beyond: 10, empty: 10, noframes: 10},
    )
    gt = read_tubes(path)
    assert gt.get(ok).problem is None
    assert "tube frame 11 is outside the clip's frames 1..10" in gt.get(beyond).problem
    assert "empty" in gt.get(empty).problem
    assert "no tube" in gt.get(noframes).problem
    for vid in (beyond, empty, noframes):
        with pytest.raises(ClipSkipped):
            clip_target(gt.get(vid), [0, 1], (240, 320), view_geometry((240, 320), {"size": 224}))


def test_a_file_of_another_layout_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"videos": [1, 2]}))
    with pytest.raises(AnnotationError, match=r"other\.pkl: not a UCF101-24 tubes file"):
        read_tubes(path)
    path.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(AnnotationError, match="holds a list"):
        read_tubes(path)
    path.write_bytes(pickle.dumps({"gttubes": [1]}))
    with pytest.raises(AnnotationError, match="'gttubes' is a list"):
        read_tubes(path)


def test_ground_truth_entries_are_checked() -> None:
    with pytest.raises(AnnotationError, match="format must be one of"):
        load_ground_truth({"format": "ava", "file": "x"})
    with pytest.raises(AnnotationError, match="needs 'root:'"):
        load_ground_truth({"format": "jhmdb", "file": "x"})


def test_relative_paths_are_looked_up_under_the_dataset_root_first(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "gt.pkl").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert resolve_path({"format": "ucf101-24", "file": "gt.pkl"}, "data") == Path("data/gt.pkl")
    (tmp_path / "top.pkl").write_bytes(b"")
    assert resolve_path({"format": "ucf101-24", "file": "top.pkl"}, "data") == Path("top.pkl")
    assert video_id("Class\\v_X_g01_c01.avi") == "Class/v_X_g01_c01"


# --------------------------------------------------------------------------- J-HMDB puppet masks


def test_puppet_masks_round_trip_and_lookup(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    mask = rng.random((5, 24, 32)) > 0.7
    root = tmp_path / "JHMDB"
    write_puppet_mask(
        root / "puppet_mask" / "brush_hair" / "April_09_brush_hair_u_nm_np1_ba_goo_0" / "puppet_mask.mat", mask
    )
    from scipy.io import loadmat

    raw = loadmat(str(next(root.rglob("puppet_mask.mat"))))["part_mask"]
    assert raw.shape == (24, 32, 5)  # J-HMDB's (H, W, T)
    np.testing.assert_array_equal(read_puppet_mask(next(root.rglob("puppet_mask.mat"))), mask)
    gt = load_ground_truth({"format": "jhmdb", "root": str(root)})  # the J-HMDB folder or its puppet_mask folder
    vid = gt.find("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi")
    ann = gt.get(vid)
    assert ann.kind == "masks" and ann.nframes == 5 and ann.resolution == (24, 32) and ann.problem is None
    assert gt.find("brush_hair/other_clip.avi") is None


def test_broken_puppet_masks(tmp_path: Path) -> None:
    from scipy.io import savemat

    root = tmp_path / "puppet_mask"
    (root / "a" / "nokey").mkdir(parents=True)
    savemat(str(root / "a" / "nokey" / "puppet_mask.mat"), {"other": np.zeros((2, 2))})
    (root / "a" / "garbage").mkdir(parents=True)
    (root / "a" / "garbage" / "puppet_mask.mat").write_bytes(b"not a mat file at all")
    (root / "a" / "blank").mkdir(parents=True)
    savemat(str(root / "a" / "blank" / "puppet_mask.mat"), {"part_mask": np.zeros((4, 4, 3), np.uint8)})
    gt = PuppetMasks(root)
    assert "has no 'part_mask'" in gt.get("a/nokey").problem
    assert "not a readable MATLAB file" in gt.get("a/garbage").problem
    assert "empty on every frame" in gt.get("a/blank").problem
    with pytest.raises(AnnotationError, match="does not exist"):
        PuppetMasks(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AnnotationError, match="holds no"):
        PuppetMasks(tmp_path / "empty")


# --------------------------------------------------------------------------- frames the model saw


def test_sampled_indices_map_to_1_based_frames_and_tube_membership() -> None:
    ann = ClipAnnotation(
        "v", "x", nframes=10, resolution=(20, 20), boxes={n: np.array([[2.0, 2.0, 10.0, 10.0]]) for n in (6, 7, 8)}
    )
    geom = view_geometry((20, 20), {"size": 20})
    target = clip_target(ann, [0, 5, 7, 9], (20, 20), geom)
    assert target.frame_numbers == [1, 6, 8, 10]
    assert target.in_tube.tolist() == [False, True, True, False]
    assert not target.masks[0].any() and not target.masks[3].any()
    expect = np.zeros((20, 20), bool)
    expect[2:10, 2:10] = True  # pixel centres 2.5 .. 9.5 lie in [2, 10]
    np.testing.assert_array_equal(target.masks[1], expect)
    with pytest.raises(ClipSkipped, match="sampled frame 11 is beyond the 10 frames"):
        clip_target(ann, [0, 10], (20, 20), geom)


def test_annotation_resolution_is_scaled_to_the_decoded_one_and_boxes_are_clipped() -> None:
    # annotated at 240x320, decoded at 120x160, model input 120 (shorter side kept, centre crop of width 160 -> 120)
    ann = ClipAnnotation("v", "x", nframes=2, resolution=(240, 320), boxes={1: np.array([[-50.0, 40.0, 100.0, 400.0]])})
    geom = view_geometry((120, 160), {"size": 120})
    assert (geom.resized, geom.top, geom.left) == ((120, 160), 0, 20)
    m = clip_target(ann, [0], (120, 160), geom).masks[0]
    # x: [-50, 100] clipped to [0, 100] -> halved [0, 50] -> minus the crop's 20 -> [-20, 30]: columns 0..29
    # y: [40, 400] clipped to [40, 240] -> halved [20, 120]: rows 20..119
    expect = np.zeros((120, 120), bool)
    expect[20:120, 0:30] = True
    np.testing.assert_array_equal(m, expect)


def test_a_box_outside_the_crop_is_in_the_tube_but_not_in_view() -> None:
    ann = ClipAnnotation("v", "x", nframes=1, resolution=(100, 200), boxes={1: np.array([[0.0, 0.0, 40.0, 100.0]])})
    target = clip_target(ann, [0], (100, 200), view_geometry((100, 200), {"size": 100}))  # crop x in [50, 150)
    assert target.in_tube.tolist() == [True] and not target.masks.any()


def test_a_box_thinner_than_a_pixel_still_marks_one() -> None:
    ann = ClipAnnotation("v", "x", nframes=1, resolution=(100, 100), boxes={1: np.array([[10.0, 10.0, 12.0, 12.0]])})
    m = clip_target(ann, [0], (100, 100), view_geometry((100, 100), {"size": 10})).masks[0]  # scale 0.1
    assert m.sum() == 1 and m[1, 1]


def test_boxes_follow_the_loader_s_resize_and_crop() -> None:
    """A box drawn into a decoded frame and sent through the loader's own resize_crop lands where the mapping puts it."""
    torch = pytest.importorskip("torch")
    from videoxai.data.transforms import resize_crop

    del torch
    h, w, size = 240, 320, 112
    box = np.array([[101.0, 37.0, 207.0, 199.0]])
    frame = np.zeros((1, h, w, 3), np.uint8)
    frame[0, 37:199, 101:207] = 255
    seen = resize_crop(frame, size)[0, ..., 0].numpy() >= 128
    ann = ClipAnnotation("v", "x", nframes=1, resolution=(h, w), boxes={1: box})
    mapped = clip_target(ann, [0], (h, w), view_geometry((h, w), {"size": size})).masks[0]
    differ = (seen != mapped).sum()
    assert differ <= 2 * (mapped.sum(axis=0).max() + mapped.sum(axis=1).max())  # at most the box's edges
    assert (seen & mapped).sum() / (seen | mapped).sum() > 0.95


def test_masks_follow_the_resize_and_crop_and_the_annotation_resolution() -> None:
    mask = np.zeros((1, 24, 32), bool)
    mask[0, 6:18, 12:20] = True
    ann = ClipAnnotation("v", "x", nframes=1, resolution=(24, 32), masks=mask)
    # decoded at twice the annotation's resolution, model input 24: the decoded 48x64 is resized to 24x32, crop x 4..28
    target = clip_target(ann, [0], (48, 64), view_geometry((48, 64), {"size": 24}))
    expect = np.zeros((24, 24), bool)
    expect[6:18, 8:16] = True
    np.testing.assert_array_equal(target.masks[0], expect)
    assert target.in_tube.tolist() == [True]


def test_prompt_tuning_pipeline_geometry() -> None:
    spec = {"size": 224, "pipeline": "prompt-tuning", "spatial_views": 1}
    g = view_geometry((240, 320), spec)
    assert g.resized == (224, int(224 * 320 / 240)) and g.top == 0 and g.left == round((298 - 224) / 2)
    g = view_geometry((240, 320), {**spec, "resize_protocol": "interpolate-smallest-side"})
    # the pre-resize squeezes the height alone to 224 (its aspect changes); the crop resize then keeps 224 x 320
    assert g.resized == (224, 320) and g.left == 48 and g.scale_x == 1.0
    with pytest.raises(ClipSkipped, match="remove-black-strips"):
        view_geometry((240, 320), {**spec, "remove_black_strips": True})


def test_a_tubes_file_is_a_job_input_and_a_mask_folder_is_not(tmp_path: Path) -> None:
    from videoxai.data.annotations import annotation_inputs

    (tmp_path / "UCF101v2-GT.pkl").write_bytes(b"")
    assert annotation_inputs({"format": "ucf101-24", "file": "UCF101v2-GT.pkl"}, tmp_path) == [
        str(tmp_path / "UCF101v2-GT.pkl")
    ]
    assert annotation_inputs({"format": "jhmdb", "root": "puppet_mask"}, tmp_path) == []
    assert annotation_inputs(None) == []


def test_masks_list_their_annotated_frames() -> None:
    masks = np.zeros((4, 2, 2), bool)
    masks[[1, 3], 0, 0] = True
    assert ClipAnnotation("v", "x", masks=masks).annotated_frames() == [2, 4]
