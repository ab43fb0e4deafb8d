"""The resolve stage through Snakemake, for real: a custom factory, wandb artifacts in the registry.

Each test runs one tiny target (``resolved.json``) in a scratch copy of the
workflow, as a user would. No wandb server is reachable here: artifacts are
tested from the registry (and the offline error), never downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from tests.helpers import make_workdir, run_snakemake
from videoxai.demo.bundled import bundled_checkpoints_root
from videoxai.models.checkpoints.resolve import load_resolved

# each Snakemake start costs seconds on a shared 2-core machine: ~1.5 min for the module
pytestmark = [pytest.mark.workflow, pytest.mark.slow]

CUSTOM_KEY = "mine/mydata/run1"
ARTIFACT_KEY = "video_coop/ucf101/best-attention-0"
ARTIFACT = "wandb:my-team/video-xai/video_coop-ucf101:v3"
NO_SERVER = {"WANDB_API_KEY": "0" * 40, "WANDB_BASE_URL": "http://127.0.0.1:9"}

FACTORY_MODULE = '''
"""A user's own video classifier: mean colour of the clip -> linear layer."""
import torch
from torch import nn

from videoxai.models.base import InputSpec, VideoClassifier


class MeanColour(VideoClassifier):
    method = "custom"

    def __init__(self, class_names):
        super().__init__()
        self.class_names = list(class_names)
        self.input_spec = InputSpec(num_frames=4, size=32)
        self.head = nn.Linear(3, len(class_names))

    def forward(self, video):
        return self.head(video.mean(dim=(1, 3, 4)))


def build(config):
    return MeanColour(config["class_names"])
'''


def user_pythonpath(folder: Path) -> dict[str, str]:
    """The user's folder on PYTHONPATH (their factory module), before whatever was there (a checkout's src/)."""
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)}


def resolved_target(key: str) -> str:
    return f"results/models/{key}/resolved.json"


@pytest.fixture
def custom_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    wd = make_workdir(
        tmp_path / "wd",
        {"models": [CUSTOM_KEY], "custom": {CUSTOM_KEY: "my_models:build"}},
    )
    (wd / "my_models.py").write_text(FACTORY_MODULE)
    monkeypatch.syspath_prepend(str(wd))
    import my_models

    torch.manual_seed(3)
    model = my_models.build({"class_names": ["Jump", "Run"]})
    folder = wd / "checkpoints" / CUSTOM_KEY
    folder.mkdir(parents=True)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        str(folder / "model.safetensors"),
    )
    (folder / "config.json").write_text(json.dumps({"class_names": ["Jump", "Run"], "note": "no method: custom"}))
    return wd


def test_custom_factory_reaches_the_resolve_job(custom_workdir: Path) -> None:
    wd = custom_workdir
    proc = run_snakemake(
        wd,
        "--cores",
        "1",
        resolved_target(CUSTOM_KEY),
        env=user_pythonpath(wd),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    resolved = json.loads((wd / resolved_target(CUSTOM_KEY)).read_text())
    assert resolved["method"] == "custom" and resolved["factory"] == "my_models:build"
    assert resolved["class_names"] == ["Jump", "Run"]
    model = load_resolved(resolved)  # the factory, the weights the registry holds
    import my_models

    torch.manual_seed(3)
    original = my_models.build({"class_names": ["Jump", "Run"]})
    x = torch.rand(2, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), original(x))
    # the factory is a parameter of the job: naming another one reruns resolve (and only what depends on it)
    plan = run_snakemake(
        wd,
        "-n",
        resolved_target(CUSTOM_KEY),
        "--config",
        f"custom={{'{CUSTOM_KEY}': 'my_models:MeanColour'}}",  # another callable of the module
        env={"PYTHONPATH": str(wd)},  # planning checks the factory's module (docs/integrity.md)
        timeout=300,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "rule resolve_model:" in plan.stdout + plan.stderr


def test_custom_factory_not_importable_fails_while_planning(custom_workdir: Path) -> None:
    wd = custom_workdir
    (wd / "my_models.py").rename(wd / "elsewhere.py")
    proc = run_snakemake(
        wd,
        "--cores",
        "1",
        resolved_target(CUSTOM_KEY),
        env=user_pythonpath(wd),
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"config key 'custom.{CUSTOM_KEY}': 'my_models:build' names module 'my_models', which cannot be" in out
    assert "Building DAG" not in out and not (wd / resolved_target(CUSTOM_KEY)).exists()


def artifact_workdir(tmp_path: Path) -> Path:
    return make_workdir(
        tmp_path / "wd",
        {"models": [ARTIFACT_KEY], "checkpoint-paths": {ARTIFACT_KEY: ARTIFACT}},
    )


def test_wandb_artifact_in_the_registry_resolves_without_network(
    tmp_path: Path,
) -> None:
    """A previous download (files + marker) in the registry: online mode, no server, and it resolves."""
    wd = artifact_workdir(tmp_path)
    folder = wd / "checkpoints" / ARTIFACT_KEY
    shutil.copytree(bundled_checkpoints_root() / "video_coop/demo/tiny", folder)
    marker = {
        "artifact": ARTIFACT.removeprefix("wandb:"),
        "obtained": "download",
        "version": "v3",
        "digest": "abc123",
    }
    (folder / "wandb_artifact.json").write_text(json.dumps(marker))
    proc = run_snakemake(wd, "--cores", "1", resolved_target(ARTIFACT_KEY), env=NO_SERVER, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rule fetch_artifact:" in proc.stdout + proc.stderr
    resolved = json.loads((wd / resolved_target(ARTIFACT_KEY)).read_text())
    assert resolved["source"] == "wandb-artifact"
    assert resolved["artifact"]["version"] == "v3" and resolved["artifact"]["digest"] == "abc123"
    assert Path(resolved["checkpoint"]) == (folder / "model.safetensors").absolute()
    record = json.loads((wd / f"results/models/{ARTIFACT_KEY}/artifact.json").read_text())
    assert record["artifact"] == marker["artifact"] and record["folder"].endswith(ARTIFACT_KEY)
    # fetched and resolved: nothing to do on the next run
    again = run_snakemake(wd, "-n", resolved_target(ARTIFACT_KEY), env=NO_SERVER, timeout=300)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_wandb_artifact_absent_offline_names_artifact_and_folder(
    tmp_path: Path,
) -> None:
    wd = artifact_workdir(tmp_path)
    proc = run_snakemake(
        wd,
        "--cores",
        "1",
        resolved_target(ARTIFACT_KEY),
        env={"WANDB_MODE": "offline"},
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert ARTIFACT in out and str(Path("checkpoints") / ARTIFACT_KEY) in out
    assert not (wd / resolved_target(ARTIFACT_KEY)).exists()
    assert not (wd / f"results/models/{ARTIFACT_KEY}/artifact.json").exists()
