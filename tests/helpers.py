"""Where the repository is, and how to run its workflow in a scratch folder, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def make_workdir(dest: Path, config_overrides: dict | None = None) -> Path:
    """A scratch copy of what a user checks out: workflow/, config/, profiles/."""
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    if config_overrides:
        cfg_path = dest / "config" / "config.yaml"
        cfg = yaml.safe_load(cfg_path.read_text())
        cfg.update(config_overrides)
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest


def run_snakemake(
    workdir: Path, *args: str, timeout: float = 1800, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run([SNAKEMAKE, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)


# The demo's classes under names no demo model's tokenizer has seen: a stand-in for another dataset's class list
# (dataset transfer tests).
DEMO_RENAMED = {
    "MoveRight": "Rightward",
    "MoveLeft": "Leftward",
    "MoveDown": "Downward",
    "MoveUp": "Upward",
    "Grow": "Expand",
    "Shrink": "Contract",
    "Rotate": "Spin",
    "Blink": "Flash",
}


# The smallest demo run through the workflow: one shipped model, 8 clips per split.
TINY_DEMO = {"models": ["video_coop/demo/tiny"], "demo": {"n-train": 8, "n-test": 8, "seed": 0, "train-seconds": 1}}


# Golden data made by running prompt-tuning's own code (see ../shared/origin-fixtures/README.md). It lives beside the
# checkout, not in it; tests that need it skip with the reason where it is absent.
ORIGIN_FIXTURES = Path(os.environ.get("VIDEOXAI_ORIGIN_FIXTURES", REPO.parent / "shared" / "origin-fixtures")).resolve()


def origin_fixtures() -> Path:
    """The origin-fixtures folder, or skip the calling test with the reason."""
    import pytest

    if not (ORIGIN_FIXTURES / "README.md").is_file():
        pytest.skip(f"origin fixtures not found at {ORIGIN_FIXTURES} (set VIDEOXAI_ORIGIN_FIXTURES)")
    return ORIGIN_FIXTURES
