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
    for rule in ("demo_dataset", "resolve_model", "extract_predictions", "calibrate"):
        assert f"rule {rule}:" in proc.stdout
    assert "checkpoint select_clips:" in proc.stdout
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
