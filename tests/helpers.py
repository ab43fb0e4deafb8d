"""Where the repository is, and how to run its workflow in a scratch folder, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}  # .ci/run sets it: no silent skips there
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def explainer_folder(method: str, config: dict, convention: str = "standard", annotated: bool = True) -> str:
    """The explainer folder's name ``config`` gives ``method`` (videoxai.explain.variant): the method and its settings
    not at their defaults, e.g. ``occlusion+patch-0.5+classes-2+samples-1``."""
    from videoxai.explain.variant import ExplainerVariant

    return str(ExplainerVariant.from_config(method, convention, config, annotated))


def selection_name(config: dict, annotated: bool = True) -> str:
    """The selection file's name ``config`` gives: ``selection.json`` at the defaults, else with their suffix."""
    from videoxai.explain.variant import SelectionVariant

    return f"selection{SelectionVariant.from_config(config, annotated)}.json"


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


def copy_working_tree(dest: Path) -> Path:
    """What a clone of this checkout holds, uncommitted edits included (tracked and unignored files)."""
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for rel in filter(None, listing.split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
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


# The smallest demo run through the workflow: one shipped model, 8 clips per split (.test/config/config.yaml, the
# test config the catalog's layout keeps under .test/; as overrides of config/config.yaml, or a config of its own).
TEST_CONFIG = REPO / ".test" / "config" / "config.yaml"
TINY_DEMO = yaml.safe_load(TEST_CONFIG.read_text())


# Golden data made by running prompt-tuning's own code (see ../shared/origin-fixtures/README.md). It lives beside the
# checkout, not in it; tests that need it skip with the reason where it is absent.
ORIGIN_FIXTURES = Path(os.environ.get("VIDEOXAI_ORIGIN_FIXTURES", REPO.parent / "shared" / "origin-fixtures")).resolve()


def _golden(folder: Path, what: str, variable: str) -> Path:
    """``folder`` where it holds golden data; else skip the calling test, or fail it under CI=true (CI must compare
    every fixture case, never lose them to a skip)."""
    import pytest

    if not (folder / "README.md").is_file():
        why = f"{what} not found at {folder} (set {variable})"
        if CI:
            pytest.fail(f"CI=true, and {why}: CI must compare every fixture case")
        pytest.skip(why)
    return folder


def origin_fixtures() -> Path:
    """The origin-fixtures folder; where it is absent, skip the calling test, or fail it under CI=true."""
    return _golden(ORIGIN_FIXTURES, "origin fixtures", "VIDEOXAI_ORIGIN_FIXTURES")


# The golden data of prompt-tuning's other three families (vidop, vilt, vita; ../shared/origin-fixtures-families).
ORIGIN_FIXTURES_FAMILIES = Path(
    os.environ.get("VIDEOXAI_ORIGIN_FIXTURES_FAMILIES", REPO.parent / "shared" / "origin-fixtures-families")
).resolve()


def origin_fixtures_families() -> Path:
    """The origin-fixtures-families folder; where it is absent, skip the calling test, or fail it under CI=true."""
    return _golden(ORIGIN_FIXTURES_FAMILIES, "origin fixtures of the families", "VIDEOXAI_ORIGIN_FIXTURES_FAMILIES")


def fixture_clip(root: Path):
    """The fixtures' tiny CLIP, ``openai/clip-vit-base-patch16`` of their Hugging Face cache (its snapshot, offline)."""
    from transformers import CLIPModel

    repo = root / "hf-home" / "hub" / "models--openai--clip-vit-base-patch16"
    snapshot = repo / "snapshots" / (repo / "refs" / "main").read_text().strip()
    return CLIPModel.from_pretrained(str(snapshot), local_files_only=True).eval()


def fixture_run_model(root: Path, key: str, class_names: list[str], clip, weights: str = "best.pt"):
    """The prompt-tuning model of fixture run ``key`` (method/dataset/run): its config.json, ``weights``' context."""
    import json

    import torch

    from videoxai.models.families.prompt_tuning import build_prompt_tuning_model

    folder = root / "runs" / key
    model = build_prompt_tuning_model(json.loads((folder / "config.json").read_text()), class_names, clip)
    state = torch.load(folder / weights, map_location="cpu", weights_only=True)["context_state_dict"]
    model.load_context_state_dict(state)
    return model.eval()


def shipped_demo_split(root: Path) -> dict:
    """Eight generated demo test clips and the shipped video_coop demo model resolved beside them: what the
    precision and compile tests extract from."""
    from videoxai.demo.bundled import bundled_checkpoints_root
    from videoxai.demo.dataset import write_demo_dataset
    from videoxai.io import write_json
    from videoxai.models.checkpoints.resolve import resolve_model

    write_demo_dataset(root / "demo", n_train=8, n_test=8, seed=0, frames=16, size=64)
    write_json(root / "resolved.json", resolve_model("video_coop/demo/tiny", bundled_checkpoints_root()))
    return {"tmp": root, "dataset": {"name": "demo", "format": "ucf101", "root": str(root / "demo"), "split-id": 1}}


def extract_variant(demo: dict, variant: str, **kwargs) -> Path:
    """The split variant's predictions of :func:`shipped_demo_split`'s clips, by the real extract stage."""
    from videoxai.extract.run import extract_predictions
    from videoxai.keys import SplitVariant

    out = demo["tmp"] / f"{variant}.parquet"
    options = SplitVariant.parse(variant).options()
    extract_predictions(demo["tmp"] / "resolved.json", demo["dataset"], out, options=options, **kwargs)
    return out
