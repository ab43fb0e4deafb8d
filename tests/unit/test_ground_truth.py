"""Explanations scored against real annotations: the demo through its J-HMDB-style masks (the same numbers as its
own mask path), UCF101-24 tubes with malformed entries skipped and recorded, the temporal score, and clip selection
that prefers annotated clips."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from videoxai.data.annotations.jhmdb import read_puppet_mask
from videoxai.data.masks import load_mask
from videoxai.data.sampling import segment_centres
from videoxai.demo.dataset import DEMO_CLASSES, puppet_mask_path, write_demo_dataset
from videoxai.explain.ground_truth import annotated_ids, annotation_scores, tube_share
from videoxai.explain.select import select_clips
from videoxai.explain.store import HeatmapSet, save_heatmaps
from videoxai.explain.summary import summarize_explanations
from videoxai.extract.predictions import Predictions

T, S = 8, 64


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gt") / "demo"
    write_demo_dataset(root, n_train=8, n_test=16, seed=5, frames=16, size=S)
    return root


def _test_ids(root: Path) -> list[str]:
    return (root / "testlist01.txt").read_text().split()


def _clips(root: Path) -> list[dict]:
    indices, _ = segment_centres(16, T)
    out = []
    for i, sid in enumerate(_test_ids(root)):
        name = sid.split("/")[0]
        out.append(
            {
                "sample_id": sid,
                "class_name": name,
                "class_index": DEMO_CLASSES.index(name),
                "sample_index": i,
                "frame_indices": indices,
                "pred_name": name,
                "target_name": name,
                "confidence": 0.9,
            }
        )
    return out


def _object_maps(root: Path, clips: list[dict], size: int = 16) -> np.ndarray:
    """Maps that light up the object (block-averaged masks at ``size``): what a perfect explainer draws."""
    masks = np.stack([load_mask(root / c["sample_id"])[c["frame_indices"]] for c in clips]).astype(np.float32)
    k = S // size
    return masks.reshape(len(clips), T, size, k, size, k).mean(axis=(3, 5))


def test_the_demo_writes_its_masks_as_jhmdb_puppet_masks(demo: Path) -> None:
    ids = _test_ids(demo)
    assert len(list((demo / "puppet_mask").rglob("puppet_mask.mat"))) == 24
    for sid in ids[:4]:
        np.testing.assert_array_equal(read_puppet_mask(puppet_mask_path(demo, sid)), load_mask(demo / sid))


def test_the_demo_scored_through_its_annotations_equals_its_mask_scores(demo: Path, tmp_path: Path) -> None:
    """The real-annotation path (puppet masks, frame mapping, geometry) gives the demo mask path's numbers exactly."""
    clips = _clips(demo)
    rng = np.random.default_rng(0)
    maps = np.clip(_object_maps(demo, clips) * 0.6 + rng.random((len(clips), T, 16, 16)) * 0.4, 0, 1)
    importance = rng.random((len(clips), T)).astype(np.float32)
    hs = HeatmapSet(
        maps.astype(np.float16),
        importance,
        np.zeros((len(clips), T, S, S, 3), np.uint8),
        clips,
        {"input_spec": {"size": S, "pipeline": "standard"}, "evaluation": {"evaluation-seed": 0}},
    )
    save_heatmaps(tmp_path / "heatmaps.safetensors", hs)
    dataset = {
        "name": "demo",
        "format": "ucf101",
        "root": str(demo),
        "ground-truth": {"format": "jhmdb", "root": "puppet_mask"},
    }
    stats = summarize_explanations(tmp_path / "heatmaps.safetensors", tmp_path / "aggregated_stats.json", dataset)
    ev = stats["evaluation"]
    ann, own = ev["annotations"], ev["ground_truth"]
    assert ann["n_clips_annotated"] == len(clips) and ann["skipped"] == []
    for key in ("map", "random_map", "centre_prior"):
        assert ann["overall"][key] == own[key]
    assert ann["overall"]["chance"] == own["chance"] and ann["overall"]["n_frames_scored"] == own["n_frames_scored"]
    for name, row in own["per_class"].items():
        assert ann["per_class"][name]["map"]["pointing_game"] == row["pointing_game"]
    assert ann["overall"]["map"]["energy_in_mask"] > 2 * ann["overall"]["random_map"]["energy_in_mask"]
    # blinking clips have frames without the object: the temporal score counts them (visible = in the tube)
    blink = [c for c in ann["per_clip"] if c["class_name"] == "Blink"]
    assert blink and all(not all(c["in_tube"]) for c in blink)
    assert ann["overall"]["temporal"]["n_clips"] == len(blink)
    assert len(ann["per_clip"]) == len(clips) and {"pointing_game", "energy_in_mask", "chance"} <= set(
        ann["per_clip"][0]
    )
    assert (tmp_path / "aggregated_stats.json").is_file()


def test_a_perfect_explainer_scores_one_and_the_temporal_score_reads_the_tube(demo: Path) -> None:
    clips = [c for c in _clips(demo) if c["class_name"] == "Blink"]
    maps = _object_maps(demo, clips, size=S)
    visible = maps.reshape(len(clips), T, -1).any(axis=2)
    dataset = {"root": str(demo), "ground-truth": {"format": "jhmdb", "root": str(demo / "puppet_mask")}}
    out = annotation_scores(maps, visible.astype(float), clips, dataset, {"size": S})
    assert out["overall"]["map"]["pointing_game"] == 1.0 and out["overall"]["map"]["energy_in_mask"] == 1.0
    assert out["overall"]["temporal"]["share_inside"] == 1.0 and out["overall"]["temporal"]["per_frame_outside"] == 0.0
    flat = annotation_scores(maps, np.ones((len(clips), T)), clips, dataset, {"size": S})["overall"]["temporal"]
    assert flat["share_inside"] == pytest.approx(flat["frames_inside"]) and 0 < flat["frames_inside"] < 1


def test_tube_share_needs_frames_on_both_sides() -> None:
    none = tube_share(np.ones((2, 4)), np.ones((2, 4), bool))
    assert none["n_clips"] == 0 and none["share_inside"] is None
    s = tube_share(np.array([[1.0, 3.0, 0.0, 0.0]]), np.array([[True, False, False, False]]))
    assert s == {
        "n_clips": 1,
        "share_inside": 0.25,
        "frames_inside": 0.25,
        "per_frame_inside": 1.0,
        "per_frame_outside": 1.0,
    }


def _boxes_of(mask: np.ndarray) -> list[tuple[int, float, float, float, float]]:
    rows = []
    for t, m in enumerate(mask):
        ys, xs = np.nonzero(m)
        if len(ys):
            rows.append((t + 1, xs.min(), ys.min(), xs.max() + 1.0, ys.max() + 1.0))
    return rows


def test_ucf101_24_tubes_score_the_demo_and_malformed_entries_are_skipped_with_reasons(
    demo: Path, tmp_path: Path
) -> None:
    clips = _clips(demo)
    ids = [c["sample_id"] for c in clips]
    vid = {s: s.rsplit(".", 1)[0] for s in ids}
    # the demo's masks as person boxes, annotated at twice the decoded resolution (the mapping must halve them)
    tubes = {vid[s]: {0: [np.array(_boxes_of(load_mask(demo / s)), np.float32) * [1, 2, 2, 2, 2]]} for s in ids}
    missing, beyond, empty = ids[0], ids[1], ids[2]
    del tubes[vid[missing]]
    tubes[vid[beyond]][0][0][-1, 0] = 17  # a 16-frame clip
    tubes[vid[empty]] = {0: [np.zeros((0, 5), np.float32)]}
    data = {
        "labels": list(DEMO_CLASSES),
        "gttubes": tubes,
        "nframes": {v: 16 for v in tubes},
        "resolution": {v: (2 * S, 2 * S) for v in tubes},
        "train_videos": [[]],
        "test_videos": [sorted(tubes)],
    }
    (demo.parent / "demo-GT.pkl").write_bytes(pickle.dumps(data, protocol=2))
    dataset = {"root": str(demo), "ground-truth": {"format": "ucf101-24", "file": str(demo.parent / "demo-GT.pkl")}}
    maps = _object_maps(demo, clips)
    out = annotation_scores(maps, np.ones((len(clips), T)), clips, dataset, {"size": S})
    reasons = {s["sample_id"]: s["reason"] for s in out["skipped"]}
    assert set(reasons) == {missing, beyond, empty}
    assert "no annotation for this video" in reasons[missing]
    assert "tube frame 17 is outside the clip's frames 1..16" in reasons[beyond]
    assert "empty" in reasons[empty]
    assert out["n_clips_annotated"] == len(clips) - 3
    box = out["overall"]
    # boxes hold the object: every peak of an object map is in its box; boxes are larger than masks, so chance rises
    assert box["map"]["pointing_game"] == 1.0 and box["map"]["energy_in_mask"] > 0.8  # bilinear upsampling spills
    assert box["chance"] > 0.02 and box["random_map"]["energy_in_mask"] < 0.3
    # the same clips through the masks: boxes contain masks, so energy in box >= energy in mask
    masks = annotation_scores(
        maps,
        np.ones((len(clips), T)),
        clips,
        {"root": str(demo), "ground-truth": {"format": "jhmdb", "root": str(demo / "puppet_mask")}},
        {"size": S},
    )
    by_id = {c["sample_id"]: c for c in masks["per_clip"]}
    for c in out["per_clip"]:
        assert c["energy_in_mask"] >= by_id[c["sample_id"]]["energy_in_mask"] - 1e-9


def test_a_missing_video_and_a_clip_longer_than_its_annotation_are_skipped(demo: Path, tmp_path: Path) -> None:
    clip = _clips(demo)[0]
    gt = {"format": "jhmdb", "root": str(demo / "puppet_mask")}
    elsewhere = annotation_scores(
        np.ones((1, T, 4, 4)), np.ones((1, T)), [clip], {"root": str(tmp_path), "ground-truth": gt}, {"size": S}
    )
    assert "is missing: its decoded size is needed" in elsewhere["skipped"][0]["reason"]  # no video under this root
    longer = {**clip, "frame_indices": [0, 2, 4, 6, 8, 10, 12, 20]}  # frame 21 of a 16-frame annotation
    out = annotation_scores(
        np.ones((1, T, 4, 4)), np.ones((1, T)), [longer], {"root": str(demo), "ground-truth": gt}, {"size": S}
    )
    assert "sampled frame 21 is beyond the 16 frames" in out["skipped"][0]["reason"]
    assert out["n_clips_annotated"] == 0 and "overall" not in out


def test_selection_can_prefer_annotated_clips(demo: Path, tmp_path: Path) -> None:
    ids = _test_ids(demo)
    labels = np.array([DEMO_CLASSES.index(s.split("/")[0]) for s in ids])
    preds = Predictions(ids, labels, np.zeros((len(ids), 8), np.float32), list(DEMO_CLASSES), {"split": "test"}, 0)
    keep = {s for i, s in enumerate(ids) if i % 2}
    data = {
        "labels": ["x"],
        "gttubes": {s.rsplit(".", 1)[0]: {0: [np.array([[1, 0, 0, 4, 4]], np.float32)]} for s in keep},
        "nframes": {},
        "resolution": {},
    }
    (tmp_path / "gt.pkl").write_bytes(pickle.dumps(data))
    dataset = {"root": str(demo), "ground-truth": {"format": "ucf101-24", "file": "gt.pkl"}}
    with pytest.raises(FileNotFoundError):
        annotated_ids(dataset, ids)  # gt.pkl is neither under the dataset root nor in the working folder
    dataset["ground-truth"]["file"] = str(tmp_path / "gt.pkl")
    preferred = annotated_ids(dataset, ids)
    assert preferred == keep
    plain = select_clips(preds, 8, 1, seed=0)
    chosen = select_clips(preds, 8, 1, seed=0, preferred=preferred)
    assert all(c["sample_id"] in keep for c in chosen["clips"])
    assert sum(c["sample_id"] in keep for c in plain["clips"]) < len(plain["clips"])  # prompt-tuning alone picks others
    assert all(row["preferred"] == 1 for row in chosen["classes"])
    # growing samples-per-class keeps the clips chosen
    two = select_clips(preds, 8, 2, seed=0, preferred=preferred)
    assert [c["sample_id"] for c in two["clips"] if c["sample_index"] == 0] == [c["sample_id"] for c in chosen["clips"]]
