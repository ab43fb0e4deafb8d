"""Dataset transfer: test class names a model cannot take are mapped onto its own classes, or refused.

The test dataset is the demo's test clips listed again in the ``csv`` format
under other class names, so a mapped run can be checked clip by clip against
a direct run on the original names.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from tests.helpers import DEMO_RENAMED
from videoxai.data.datasets import load_split
from videoxai.demo.bundled import bundled_checkpoints_root
from videoxai.demo.dataset import DEMO_CLASSES, write_demo_dataset
from videoxai.extract.predictions import load_predictions
from videoxai.extract.run import extract_predictions
from videoxai.io import write_json
from videoxai.models.checkpoints.resolve import load_resolved, resolve_model
from videoxai.models.checkpoints.weights import save_checkpoint
from videoxai.models.families.registry import build_model
from videoxai.setup.classes import plan_classes

# words the demo models' tokenizer never saw, so even the open-set demo families cannot embed them
RENAMED = DEMO_RENAMED
MAPPING = {new: old for old, new in RENAMED.items()}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("classes")
    root = tmp / "demo"
    write_demo_dataset(root, n_train=8, n_test=16, seed=0, frames=16, size=64)
    demo = {"name": "demo", "format": "ucf101", "root": str(root), "split-id": 1}
    _, samples = load_split("ucf101", root, "test")
    renamed = tmp / "renamed"
    renamed.mkdir()
    with (renamed / "test.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label"])
        for s in samples:
            w.writerow([str(s.path), RENAMED[s.label_name]])
    models = {}
    resolved = resolve_model("video_coop/demo/tiny", bundled_checkpoints_root())
    write_json(tmp / "video_coop.json", resolved)
    models["video_coop"] = tmp / "video_coop.json"
    cnn = build_model("r3d_18", {"class_names": list(DEMO_CLASSES), "model": {"size": 32, "num_frames": 8}})
    save_checkpoint(cnn, tmp / "checkpoints" / "r3d_18" / "demo" / "rand")
    write_json(tmp / "r3d_18.json", resolve_model("r3d_18/demo/rand", tmp / "checkpoints"))
    models["r3d_18"] = tmp / "r3d_18.json"
    return {
        "tmp": tmp,
        "demo": demo,
        "renamed": {"name": "renamed", "format": "csv", "root": str(renamed)},
        "models": models,
    }


def _extract(setup: dict, model: str, dataset: str, name: str, mapping=None) -> tuple[Path, dict]:
    out = setup["tmp"] / f"{model}-{name}.parquet"
    summary = extract_predictions(
        setup["models"][model], setup[dataset], out, options={"split": "test"}, num_workers=0, class_mapping=mapping
    )
    return out, summary


@pytest.mark.parametrize("model", ["video_coop", "r3d_18"])
def test_new_class_names_without_a_mapping_are_a_clear_error(setup: dict, model: str) -> None:
    with pytest.raises(ValueError, match="class-mapping") as err:
        _extract(setup, model, "renamed", "refused")
    assert "Contract" in str(err.value) and "MoveRight" in str(err.value)  # both class lists are shown
    assert not (setup["tmp"] / f"{model}-refused.parquet").exists()


@pytest.mark.parametrize("model", ["video_coop", "r3d_18"])
def test_mapped_labels_score_the_same_clips_as_the_training_names(setup: dict, model: str) -> None:
    direct_path, _ = _extract(setup, model, "demo", "direct")
    mapped_path, summary = _extract(setup, model, "renamed", "mapped", MAPPING)
    direct, mapped = load_predictions(direct_path), load_predictions(mapped_path)
    assert summary["errors"] == 0 and summary["unmapped"] == 0
    assert mapped.class_names == list(DEMO_CLASSES)  # the logits' columns are the model's own classes
    meta = mapped.metadata
    assert meta["class_mapping"] == MAPPING and meta["test_class_names"] == sorted(MAPPING)
    assert meta["unmapped_classes"] == []
    by_clip = {Path(s).name: i for i, s in enumerate(direct.sample_ids)}
    order = [by_clip[Path(s).name] for s in mapped.sample_ids]
    assert len(order) == len(direct.sample_ids) == 16
    np.testing.assert_array_equal(mapped.labels, direct.labels[order])
    np.testing.assert_allclose(mapped.logits, direct.logits[order], rtol=1e-5, atol=1e-5)
    rows = pq.read_table(mapped_path).to_pylist()
    assert all(RENAMED[DEMO_CLASSES[r["label"]]] == r["label_name"] for r in rows)  # the dataset's own name kept


def test_classes_the_mapping_leaves_out_become_error_rows(setup: dict) -> None:
    partial = setup["tmp"] / "partial.csv"
    kept = {k: v for k, v in MAPPING.items() if k not in ("Spin", "Flash")}
    partial.write_text("test,train\n" + "".join(f"{k},{v}\n" for k, v in kept.items()))
    path, summary = _extract(setup, "video_coop", "renamed", "partial", str(partial))
    rows = pq.read_table(path).to_pylist()
    left_out = [r for r in rows if r["label_name"] in ("Spin", "Flash")]
    assert summary["unmapped"] == len(left_out) == 4 and summary["clips"] == 16
    assert all(r["status"] == "error" and r["label"] == -1 and r["pred"] == -1 for r in left_out)
    assert all("has no training class" in r["error"] for r in left_out)
    assert all(r["status"] == "ok" for r in rows if r not in left_out)
    preds = load_predictions(path)
    assert preds.num_errors == 4 and len(preds.sample_ids) == 12
    assert preds.metadata["unmapped_classes"] == ["Flash", "Spin"]


def test_open_set_models_take_the_test_names_and_ignore_a_mapping(setup: dict) -> None:
    model = load_resolved(load_json(setup["models"]["video_coop"]))
    names = ["move_up", "grow", "blink"]  # words the model knows, in another spelling and order
    plan = plan_classes(model, names, {"move_up": "MoveRight"})
    assert plan.class_names == names and plan.label_index == [0, 1, 2] and plan.mapping is None
    assert model.class_names == names


def test_mapping_mistakes_are_named(setup: dict) -> None:
    model = load_resolved(load_json(setup["models"]["r3d_18"]))
    test = sorted(MAPPING)
    with pytest.raises(ValueError, match="does not have: 'Rightwards'"):
        plan_classes(model, test, {"Rightwards": "MoveRight"})
    with pytest.raises(ValueError, match="not a training class"):
        plan_classes(model, test, {"Rightward": "GoRight"})
    with pytest.raises(ValueError, match="matches none"):
        plan_classes(model, ["Jump", "Run"], {})
    # unlisted classes match by prompt name: only the ones that differ need listing
    plan = plan_classes(model, ["move_right", "Spinning"], {"Spinning": "Rotate"})
    assert plan.label_index == [0, 6] and plan.mapping == {"move_right": "MoveRight", "Spinning": "Rotate"}
    plan_classes(model, list(DEMO_CLASSES))  # same names: nothing to map, no error


def load_json(path: Path) -> dict:
    from videoxai.io import read_json

    return read_json(path)
