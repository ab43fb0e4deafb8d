"""Demo training: a few real steps on a handful of generated clips, end to end through the data loader."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch
from safetensors.torch import load_file

from videoxai.data.datasets import load_split
from videoxai.demo.bundled import BUNDLED_KEYS, bundled_checkpoints_root
from videoxai.demo.dataset import DEMO_CLASSES, write_demo_dataset
from videoxai.demo.train import TrainConfig, lr_at, train_demo
from videoxai.models.checkpoints.config import read_checkpoint_config
from videoxai.models.checkpoints.weights import load_checkpoint
from videoxai.models.families.demo.tokenizer import PAD, UNK
from videoxai.models.families.registry import build_model

TINY = {
    "model": {
        "tower": {
            "num_frames": 4,
            "image_size": 32,
            "width": 16,
            "layers": 1,
            "heads": 2,
            "stem_channels": 4,
        },
        "text": {"width": 16, "embed_dim": 16, "heads": 2},
    }
}


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "ucf"
    write_demo_dataset(root, n_train=16, n_test=8, frames=8, size=32)
    return root


def run(root, out, seed=0):
    return train_demo(
        root,
        out,
        seed=seed,
        steps=3,
        max_seconds=60,
        model_config=TINY,
        progress=False,
        batch_size=4,
        num_workers=0,
        threads=1,
    )


def test_train_demo_writes_a_loadable_checkpoint_and_report(demo_root, tmp_path):
    report = run(demo_root, tmp_path / "ckpt")
    assert report["train"]["steps"] == 3 and not report["train"]["stopped_early"]
    # the train split is trainlist01 minus the groups held out for validation
    assert report["train_clips"] == len(load_split("ucf101", demo_root, "train")[1]) and report["test_clips"] == 8
    assert set(report["test_per_class"]) == set(DEMO_CLASSES)
    assert 0.0 <= report["test_accuracy"] <= 1.0
    on_disk = json.loads((tmp_path / "ckpt" / "train_report.json").read_text())
    assert on_disk["test_accuracy"] == report["test_accuracy"]
    model = load_checkpoint(tmp_path / "ckpt")
    assert model.class_names == DEMO_CLASSES and model.input_spec.num_frames == 4
    assert not list((tmp_path / "ckpt").glob(".*tmp*"))  # no temporary files left behind


def test_same_seed_same_weights_other_seed_differs(demo_root, tmp_path):
    run(demo_root, tmp_path / "a", seed=1)
    run(demo_root, tmp_path / "b", seed=1)
    run(demo_root, tmp_path / "c", seed=2)
    a, b, c = (load_file(str(tmp_path / d / "model.safetensors")) for d in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_lr_schedule_warms_up_and_anneals():
    assert lr_at(0.0, 1.0, 0.1) == 0.0
    assert lr_at(0.1, 1.0, 0.1) == pytest.approx(1.0)
    assert lr_at(0.55, 1.0, 0.1) == pytest.approx(0.5)
    assert lr_at(1.0, 1.0, 0.1) == pytest.approx(0.0)


def test_time_budget_caps_a_long_step_schedule():
    from videoxai.demo.train import TrainConfig, fit
    from videoxai.models.families.registry import build_model

    torch.manual_seed(0)
    model = build_model("video_coop", {"class_names": DEMO_CLASSES, **TINY})
    frames = torch.randint(0, 256, (8, 4, 32, 32, 3), dtype=torch.uint8)
    labels = torch.arange(8)
    history = fit(
        model,
        frames,
        labels,
        TrainConfig(steps=100_000, max_seconds=1.5, batch_size=2, threads=1),
        progress=False,
    )
    assert history["stopped_early"] and history["schedule"] == "clock"
    assert history["seconds"] < 5 and 20 <= history["steps"] < 100_000


@pytest.mark.parametrize("key", BUNDLED_KEYS)
def test_train_demo_starts_where_the_shipped_runs_started(key):
    """The reproducible part of a shipped run, checked quickly: its recipe and its initialisation.

    ``train_demo`` builds the model from the class names alone (default
    vocabulary and architecture) after seeding; the rows of the token
    embedding that training never updates (``<pad>``, ``<unk>``: no gradient)
    must still equal that fresh build's, bit for bit.
    """
    shipped = bundled_checkpoints_root() / key
    config = read_checkpoint_config(shipped / "config.json")
    report = json.loads((shipped / "train_report.json").read_text())
    recorded = report["train"]["config"]
    recipe = {k: v for k, v in asdict(TrainConfig()).items() if k not in ("max_seconds", "num_workers")}
    assert recipe == {k: recorded[k] for k in recipe}  # seed, steps, batch, lr, ..., one thread
    assert report["train"]["steps"] == recorded["steps"] and not report["train"]["stopped_early"]
    torch.manual_seed(recorded["seed"])
    fresh = build_model(config["method"], {"class_names": config["class_names"]})
    assert fresh.get_config()["model"] == config["model"]
    assert fresh.get_config()["tokenizer"] == config["tokenizer"]
    weights = load_file(str(shipped / "model.safetensors"))["text.token_embedding.weight"]
    init = fresh.state_dict()["text.token_embedding.weight"]
    assert torch.equal(weights[[PAD, UNK]], init[[PAD, UNK]])
