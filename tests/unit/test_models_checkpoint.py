"""Checkpoints: save → load gives identical logits; loading never runs code; damaged files fail clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from videoxai.models.checkpoints.weights import (
    CheckpointError,
    UnsafeCheckpointError,
    load_checkpoint,
    read_state_dict,
    save_checkpoint,
)
from videoxai.models.families.demo.models import VideoCoOp
from videoxai.models.families.demo.prompt_text import PromptTextConfig
from videoxai.models.families.demo.tower import SpaceTimeConfig
from videoxai.models.families.registry import available_methods, build_model

CLASSES = ["MoveRight", "MoveLeft", "Grow", "Blink"]


def tiny(seed: int = 0, width: int = 32) -> VideoCoOp:
    torch.manual_seed(seed)
    tower = SpaceTimeConfig(num_frames=4, image_size=32, width=width, layers=1, heads=2, stem_channels=8)
    return VideoCoOp(CLASSES, tower=tower, text=PromptTextConfig(width=32, embed_dim=32, heads=2))


def trained_a_little(seed: int = 0) -> VideoCoOp:
    """A model whose BatchNorm statistics and weights moved away from init (what a real checkpoint holds)."""
    model = tiny(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(6, 4, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    loss = torch.nn.functional.cross_entropy(model(x), torch.arange(6) % 4)
    loss.backward()
    opt.step()
    return model.eval()


class CreatesFileWhenUnpickled:
    """A pickle payload: unpickling calls open(path, 'w'), i.e. runs code that creates a file."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture()
def clip() -> torch.Tensor:
    return torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(5))


def test_save_load_identical_logits(tmp_path, clip):
    model = trained_a_little()
    weights = save_checkpoint(model, tmp_path / "ckpt")
    assert weights.name == "model.safetensors"
    loaded = load_checkpoint(tmp_path / "ckpt")
    assert not loaded.training and loaded.class_names == CLASSES
    with torch.no_grad():
        assert torch.equal(loaded(clip), model(clip))
    # loading by the weights file path works too
    with torch.no_grad():
        assert torch.equal(load_checkpoint(weights)(clip), model(clip))


def test_config_json_describes_the_model(tmp_path):
    model = tiny()
    save_checkpoint(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["method"] == "video_coop" and config["class_names"] == CLASSES
    assert config["input_spec"]["num_frames"] == 4 and config["input_spec"]["size"] == 32
    assert config["tokenizer"]["type"] == "word" and "move" in config["tokenizer"]["words"]
    assert config["model"]["tower"]["width"] == 32
    rebuilt = build_model("video_coop", config)
    assert sum(p.numel() for p in rebuilt.parameters()) == sum(p.numel() for p in model.parameters())
    assert "video_coop" in available_methods()


def test_unknown_method_is_named():
    with pytest.raises(KeyError, match="unknown model method 'nope'.*video_coop"):
        build_model("nope", {})


def test_plain_torch_state_dict_loads(tmp_path, clip):
    model = trained_a_little()
    save_checkpoint(model, tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save({"state_dict": model.state_dict()}, tmp_path / "weights.pt")
    loaded = load_checkpoint(tmp_path)
    with torch.no_grad():
        assert torch.equal(loaded(clip), model(clip))


def test_malicious_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned.txt"
    model = tiny()
    save_checkpoint(model, tmp_path)
    (tmp_path / "model.safetensors").unlink()
    evil = tmp_path / "model.pt"
    torch.save(
        {
            "state_dict": model.state_dict(),
            "payload": CreatesFileWhenUnpickled(str(marker)),
        },
        evil,
    )
    with pytest.raises(UnsafeCheckpointError, match="refused to load"):
        load_checkpoint(tmp_path)
    with pytest.raises(UnsafeCheckpointError):
        read_state_dict(evil)
    assert not marker.exists()
    # the payload is real: an unrestricted unpickle does create the file
    torch.load(evil, weights_only=False)
    assert marker.exists()


def test_corrupted_files_give_clear_errors(tmp_path):
    model = tiny()
    weights = save_checkpoint(model, tmp_path)
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(tmp_path)
    bad_pt = tmp_path / "x.pt"
    bad_pt.write_bytes(os.urandom(256))
    with pytest.raises(CheckpointError, match="corrupted|refused"):
        read_state_dict(bad_pt)
    (tmp_path / "config.json").write_text("{not json")
    weights.write_bytes(data)
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(weights)


def test_weights_that_do_not_fit_the_config(tmp_path):
    save_checkpoint(tiny(width=32), tmp_path / "a")
    save_checkpoint(tiny(width=16), tmp_path / "b")
    os.replace(tmp_path / "b" / "model.safetensors", tmp_path / "a" / "model.safetensors")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(tmp_path / "a")


def test_missing_config_is_named(tmp_path):
    weights = save_checkpoint(tiny(), tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_checkpoint(weights)


def test_the_registry_imports_only_the_family_a_method_needs():
    """A demo-family checkpoint must not pay torchvision's import (seconds of every job's start)."""
    code = (
        "import sys; from videoxai.models.families.registry import method_class, available_methods;"
        "method_class('video_coop'); assert 'torchvision' not in sys.modules, 'torchvision imported';"
        "method_class('r3d_18'); assert 'torchvision' in sys.modules;"
        "assert {'stt', 'swin3d_t'} <= set(available_methods())"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_planning_imports_no_torch():
    """What the workflow imports to plan (on every snakemake start) must not pay torch's import."""
    code = (
        "import sys;"
        "from videoxai.explain.options import METHOD_OPTIONS;"
        "from videoxai.keys import ModelKey;"
        "from videoxai.demo.bundled import bundled_checkpoints_root;"
        "from videoxai.models.checkpoints.locate import find_checkpoint;"
        "from videoxai.models.checkpoints.wandb_artifact import is_artifact;"
        "from videoxai.models.checkpoints.hf_cache import locate_backbone;"
        "from videoxai.models.families.prompt_tuning.run_folder import explicit_paths, run_config_beside;"
        "import videoxai;"
        "find_checkpoint('video_coop/demo/tiny', bundled_checkpoints_root());"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_planning_a_prompt_tuning_run_imports_no_torch():
    """Finding a prompt-tuning run, reading checkpoint_paths.json and locating its CLIP in the cache: all torch-free."""
    from tests.helpers import origin_fixtures

    fixtures = origin_fixtures()
    code = (
        "import sys;"
        "from videoxai.models.checkpoints.hf_cache import locate_backbone;"
        "from videoxai.models.checkpoints.locate import find_checkpoint;"
        "from videoxai.models.families.prompt_tuning.run_folder import backbone_name, explicit_paths, run_config_beside;"
        f"paths = explicit_paths({str(fixtures / 'checkpoint_paths.json')!r});"
        "weights = find_checkpoint('stt/ucf101/best-mean', 'checkpoints', paths);"
        "cfg = run_config_beside(weights);"
        "bb = locate_backbone(backbone_name(cfg, weights.parent / 'config.json'));"
        "assert weights.name == 'best.pt' and bb.revision and bb.files();"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = dict(os.environ, HF_HOME=str(fixtures / "hf-home"), HF_HUB_OFFLINE="1")
    env.pop("HF_HUB_CACHE", None)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)


def test_explainers_take_their_options_from_the_planning_table():
    from videoxai.explain.methods import ALL_METHODS
    from videoxai.explain.options import METHOD_OPTIONS

    assert {name: cls.options for name, cls in ALL_METHODS.items()} == METHOD_OPTIONS
