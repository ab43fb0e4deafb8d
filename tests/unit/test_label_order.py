"""Prompt-tuning's UCF101 label order: logit columns sorted by Python, labels by classInd.txt (``conventions: prompt-tuning``).

The test dataset is the demo's clips filed under eight UCF101 classes in the
official ``classInd.txt``'s relative order, Hammering/HammerThrow and
JumpingJack/JumpRope included; the model is one of prompt-tuning's run
folders (../shared/origin-fixtures) on its tiny CLIP. Extraction runs for
real under both label orders and the predictions are compared clip by clip.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import origin_fixtures
from videoxai.conventions import label_order
from videoxai.data.datasets import load_split
from videoxai.demo.dataset import DEMO_CLASSES, write_demo_dataset
from videoxai.extract.predictions import load_predictions
from videoxai.extract.run import extract_predictions
from videoxai.io import write_json
from videoxai.models.checkpoints.resolve import resolve_model

# eight UCF101 classes, numbered in the official classInd.txt's order (34-36, 37, 45, 47-49 there)
UCF = ["Haircut", "Hammering", "HammerThrow", "HandstandPushups", "JavelinThrow", "JumpingJack", "JumpRope", "Kayaking"]
AFFECTED = {"Hammering", "HammerThrow", "JumpingJack", "JumpRope"}
KEY = "video_coop/ucf101/best-mean"


def test_only_prompt_tuning_on_a_ucf101_dataset_changes_the_order() -> None:
    assert label_order("prompt-tuning", "ucf101") == "prompt-tuning"
    for convention, fmt in [("standard", "ucf101"), ("prompt-tuning", "hmdb51"), ("prompt-tuning", "csv")]:
        assert label_order(convention, fmt) == "standard"
    with pytest.raises(ValueError, match="conventions must be one of"):
        label_order("upstream", "ucf101")
    # the official names Python sorts differently from classInd.txt: exactly the four classes of the README
    moved = {n for i, n in enumerate(UCF) if sorted(UCF)[i] != n}
    assert moved == AFFECTED


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    fixtures = origin_fixtures()
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("label-order")
    demo = tmp / "demo"
    write_demo_dataset(demo, n_train=8, n_test=16, seed=0, frames=32, size=64)
    _, samples = load_split("ucf101", demo, "test")
    root = tmp / "ucf101"  # the demo's clips under UCF101 names, in a UCF101 layout
    rename = dict(zip(DEMO_CLASSES, UCF, strict=True))
    lines = []
    for s in samples:
        cls = rename[s.label_name]
        rel = f"{cls}/{Path(s.sample_id).name.replace(s.label_name, cls)}"
        (root / cls).mkdir(parents=True, exist_ok=True)
        shutil.copy(s.path, root / rel)
        lines.append(rel)
    (root / "classInd.txt").write_text("".join(f"{i} {n}\n" for i, n in enumerate(UCF, 1)))
    (root / "testlist01.txt").write_text("\n".join(lines) + "\n")
    import huggingface_hub.constants

    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HOME", str(fixtures / "hf-home"))
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(fixtures / "hf-home" / "hub"))
    write_json(tmp / "resolved.json", resolve_model(KEY, fixtures / "runs"))
    dataset = {"name": "ucf101", "format": "ucf101", "root": str(root), "split-id": 1}
    out = {}
    for order in ("standard", "prompt-tuning"):
        path = tmp / f"{order}.parquet"
        options = {"split": "test", "num-temporal-views": 1}
        extract_predictions(tmp / "resolved.json", dataset, path, options=options, num_workers=0, label_order=order)
        out[order] = load_predictions(path)
    yield out
    mp.undo()


def test_prompt_tuning_scores_four_classes_against_another_column(setup: dict) -> None:
    std, pt = setup["standard"], setup["prompt-tuning"]
    assert std.class_names == UCF and pt.class_names == sorted(UCF)
    assert pt.metadata["label_order"] == "prompt-tuning" and std.metadata["label_order"] == "standard"
    assert pt.metadata["test_class_names"] == UCF  # the dataset's own list, as classInd.txt gives it
    # the clips keep classInd.txt's labels; the columns move: the same scores, permuted by name
    assert list(pt.sample_ids) == list(std.sample_ids) and len(std.sample_ids) == 16
    np.testing.assert_array_equal(pt.labels, std.labels)
    order = [UCF.index(n) for n in sorted(UCF)]
    np.testing.assert_allclose(pt.logits, std.logits[:, order], rtol=1e-5, atol=1e-5)
    # so a clip's label column is its own class's under standard, another class's for the four under prompt-tuning
    for label in np.unique(std.labels):
        own = UCF[label]
        assert std.class_names[label] == own
        assert (pt.class_names[label] == own) == (own not in AFFECTED)
    rows = [i for i, y in enumerate(std.labels) if UCF[y] in AFFECTED]
    assert rows and not np.allclose(
        pt.logits[rows, pt.labels[rows]], std.logits[rows, std.labels[rows]], rtol=1e-4, atol=1e-4
    )
