"""A bad config stops the run before any job, with a message that names the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import run_snakemake

CASES = [
    ({"models": ["video_coop/ucf101"]}, "models"),
    ({"models": ["video_coop/../etc"]}, "models"),
    ({"models": ["video coop/ucf101/run 1"]}, "models"),
    ({"batch-size": "sixteen"}, "batch-size"),
    ({"n-bins": 0}, "n-bins"),
    ({"explainer-method": "gradcam"}, "explainer-method"),
    ({"dataset-test": "hmdb51"}, "dataset-test"),
    ({"not-a-key": 1}, "not-a-key"),
]


@pytest.mark.parametrize("override,key", CASES, ids=[k for _, k in CASES])
def test_bad_config_fails_before_any_job(workdir: Path, override: dict, key: str) -> None:
    cfg_path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg.update(override)
    cfg_path.write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workdir, "--cores", "1", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert key in out, out
    assert not (workdir / "results").exists()
    assert not (workdir / "data").exists()


def test_default_config_plans(workdir: Path) -> None:
    """The demo uses the shipped checkpoints; training them here is one switch away."""
    proc = run_snakemake(workdir, "-n", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the whole graph from the start: selection is an ordinary rule, so every explanation and render is planned
    for rule in ("demo_dataset", "resolve_model", "extract_predictions", "calibrate", "select_clips", "explain_clips"):
        assert f"rule {rule}:" in proc.stdout
    assert "rule render_explanations:" in proc.stdout and "checkpoint select_clips" not in proc.stdout
    assert "rule train_demo:" not in proc.stdout
    train = run_snakemake(workdir, "-n", "--config", "train-demo-models=True", timeout=300)
    assert train.returncode == 0, train.stdout + train.stderr
    assert train.stdout.count("rule train_demo:") == 3


def test_missing_checkpoint_names_every_place_looked(workdir: Path) -> None:
    cfg_path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["models"] = ["video_coop/ucf101/best-attention-0"]
    cfg_path.write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(workdir, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "video_coop/ucf101/best-attention-0" in out
    assert str(Path("checkpoints/video_coop/ucf101/best-attention-0")) in out


def _with(workdir: Path, override: dict) -> None:
    cfg_path = workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg.update(override)
    cfg_path.write_text(yaml.safe_dump(cfg))


# A schema error is one short line naming the key and what it may be (not the whole schema and config).
SHORT_CASES = [
    ({"not-a-key": 1}, ["unknown config key 'not-a-key'", "valid keys:", "n-bins"]),
    ({"n_bins": 3}, ["unknown config key 'n_bins'", "did you mean 'n-bins'"]),
    ({"explainer-method": "foo"}, ["'explainer-method' is 'foo'", "attention-rollout", "grad-cam", "grad-rollout"]),
    ({"mix-mode": "diagonal"}, ["'mix-mode' is 'diagonal'", "box, temporal"]),
    ({"batch-size": "sixteen"}, ["'batch-size' is 'sixteen'", "an integer >= 1"]),
    ({"explain-batch-size": 0}, ["'explain-batch-size' is 0", "auto, or an integer >= 1"]),
    ({"num-spatial-views": 2}, ["'num-spatial-views' is 2", "1, 3"]),
]


@pytest.mark.parametrize("override,expected", SHORT_CASES, ids=[next(iter(o)) for o, _ in SHORT_CASES])
def test_config_errors_are_short_and_list_valid_values(workdir: Path, override: dict, expected: list[str]) -> None:
    _with(workdir, override)
    proc = run_snakemake(workdir, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for text in expected:
        assert text in out, out
    assert len(out.splitlines()) < 15, out  # was 401 lines for an unknown key


# Checks that need only the config, the datasets' annotations and the checkpoints' config.json run while
# planning: `snakemake -n` fails, and no job (not even the demo dataset) starts.
DATA_CASES = [
    ({"num-frames": 4}, ["'num-frames' is 4", "video_coop/demo/tiny takes exactly 8 frames", "config.json"]),
    ({"num-spatial-views": 3}, ["'num-spatial-views' is 3", "video_coop/demo/tiny takes one spatial view", "null, 1"]),
    ({"classes-to-map": 9}, ["'classes-to-map' is 9", "only 8 classes", "1 to 8"]),
    ({"classes-to-map": ["MoveRight", "Jump"]}, ["'classes-to-map' names classes", "'Jump'", "MoveLeft"]),
    ({"classes-to-mix": [["MoveRigth", "Grow"]]}, ["'classes-to-mix'", "'MoveRigth' (did you mean 'MoveRight'?)"]),
    (
        {"datasets": {"ucf101": {"format": "ucf101", "root": "nowhere/UCF-101"}}, "dataset-test": "ucf101"},
        ["'datasets.ucf101.root'", "nowhere/UCF-101 does not exist"],
    ),
    # issue 26: these failed late, selection-seed -1 in select_clips with a traceback, custom os:system as a TypeError
    ({"selection-seed": -1}, ["config key 'selection-seed': -1 is less than the minimum of 0"]),
    ({"demo": {"n-train": 8, "n-test": 8, "seed": -2}}, ["config key 'demo.seed': -2 is less than the minimum of 0"]),
    (
        {"custom": {"video_coop/demo/tiny": "os:system"}},
        ["config key 'custom.video_coop/demo/tiny': 'os:system' names 'os' of Python's standard library"],
    ),
]


@pytest.mark.parametrize(
    "override,expected",
    DATA_CASES,
    ids=[
        "num-frames",
        "num-spatial-views",
        "classes-to-map-int",
        "class-name",
        "mix-name",
        "root",
        "selection-seed",
        "demo-seed",
        "custom",
    ],
)
def test_data_dependent_config_errors_fail_while_planning(workdir: Path, override: dict, expected: list[str]) -> None:
    _with(workdir, override)
    for args in (["-n"], ["--cores", "1"]):
        proc = run_snakemake(workdir, *args, timeout=300)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out
        for text in expected:
            assert text in out, out
        assert "Building DAG" not in out and len(out.splitlines()) < 20, out
    assert not (workdir / "results").exists()
    assert not (workdir / "data").exists()


def test_dataset_on_disk_is_checked_against_its_annotations(workdir: Path, tmp_path: Path) -> None:
    """A real dataset folder (UCF101 layout): classes-to-map counts and names come from its annotation files."""
    from videoxai.demo.dataset import write_demo_dataset

    root = tmp_path / "ucf"
    write_demo_dataset(root, n_train=8, n_test=8, frames=4, size=32)
    (root / "testlist01.txt").write_text(
        "".join(line for line in (root / "testlist01.txt").read_text().splitlines(True) if "Move" in line)
    )
    _with(
        workdir,
        {"datasets": {"ucf": {"format": "ucf101", "root": str(root)}}, "dataset-test": "ucf", "classes-to-map": 5},
    )
    proc = run_snakemake(workdir, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "only 4 classes" in out, out
    _with(workdir, {"classes-to-map": ["MoveUp", "Grow"]})
    proc = run_snakemake(workdir, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "no clips in the test split of 'ucf': ['Grow']" in out, out


def test_a_checkpoint_that_would_run_code_is_refused_while_planning(workdir: Path, tmp_path: Path) -> None:
    """Before: it passed planning and was refused at extraction, with torch's advice to load it unsafely."""
    import os

    import torch

    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'it-ran'}",))

    weights = tmp_path / "run" / "model.pt"
    weights.parent.mkdir()
    torch.save({"w": torch.zeros(2), "x": RunsCode()}, weights)
    _with(
        workdir, {"models": ["video_coop/demo/hostile"], "checkpoint-paths": {"video_coop/demo/hostile": str(weights)}}
    )
    proc = run_snakemake(workdir, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert f"checkpoint weights {weights} would run code when loaded (its pickle calls posix.system)" in out, out
    assert "weights_only" not in out and "Traceback" not in out and len(out.splitlines()) < 15, out
    assert not (tmp_path / "it-ran").exists()


def test_a_clip_listed_under_two_labels_is_refused_while_planning(workdir: Path, tmp_path: Path) -> None:
    root = tmp_path / "clips"
    root.mkdir()
    (root / "test.csv").write_text("path,label\nx/a.mp4,Jump\nx/b.mp4,Run\nx/a.mp4,Run\n")
    _with(workdir, {"datasets": {"mine": {"format": "csv", "root": str(root)}}, "dataset-test": "mine"})
    proc = run_snakemake(workdir, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert (
        "dataset 'mine', test split: clip 'x/a.mp4' is listed under two labels, 'Jump' (test.csv:2) and 'Run' "
        "(test.csv:4)"
    ) in out, out
    assert "Building DAG" not in out


@pytest.mark.parametrize("kind", ["binary", "huge"])
def test_a_hostile_config_file_is_one_line(workdir: Path, kind: str) -> None:
    """Random bytes, or a 50 MB value (Snakemake's YAML loader took minutes), as config/config.yaml."""
    import time

    cfg = workdir / "config" / "config.yaml"
    if kind == "binary":
        cfg.write_bytes(bytes(range(256)) * 8)
    else:
        cfg.write_text(cfg.read_text() + "note: " + "x" * 50_000_000 + "\n")
    start = time.monotonic()
    proc = run_snakemake(workdir, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    said = "is not YAML text" if kind == "binary" else "is 50.0 MB; a config is a few kB of YAML"
    assert f"config file config/config.yaml {said}" in out, out
    assert "Traceback" not in out and len(out.splitlines()) < 8, out
    assert time.monotonic() - start < 60
