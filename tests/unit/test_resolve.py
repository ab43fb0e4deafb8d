"""Model key → checkpoint resolution: hits, misses that name every place, and what is refused."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from videoxai.keys import ModelKeyError
from videoxai.models.checkpoints.resolve import (
    ModelNotFoundError,
    find_checkpoint,
    load_resolved,
    resolve_model,
)
from videoxai.models.checkpoints.weights import (
    CheckpointError,
    UnsafeCheckpointError,
    save_checkpoint,
)
from videoxai.models.families.demo.models import VideoCoOp
from videoxai.models.families.demo.prompt_text import PromptTextConfig
from videoxai.models.families.demo.tower import SpaceTimeConfig

KEY = "video_coop/demo/tiny"
CLASSES = ["MoveRight", "MoveLeft", "Grow", "Blink"]


def tiny() -> VideoCoOp:
    torch.manual_seed(0)
    tower = SpaceTimeConfig(num_frames=4, image_size=32, width=16, layers=1, heads=2, stem_channels=4)
    return VideoCoOp(CLASSES, tower=tower, text=PromptTextConfig(width=16, embed_dim=16, heads=2)).eval()


class CreatesFileWhenUnpickled:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture()
def registry(tmp_path):
    root = tmp_path / "checkpoints"
    model = tiny()
    save_checkpoint(model, root / KEY)
    return root, model


def test_registry_hit(registry):
    root, model = registry
    r = resolve_model(KEY, root)
    weights = root / KEY / "model.safetensors"
    assert r["source"] == "registry" and r["checkpoint"] == str(weights.absolute())
    assert r["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert r["method"] == "video_coop" and r["class_names"] == CLASSES
    assert r["input_spec"]["num_frames"] == 4
    json.dumps(r)  # resolved.json must be writable as is
    assert find_checkpoint(KEY, root) == weights
    x = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(load_resolved(r)(x), model(x))


def test_explicit_path_file_and_folder(registry, tmp_path):
    root, _ = registry
    other = tmp_path / "elsewhere"
    save_checkpoint(tiny(), other)
    for target in (other, other / "model.safetensors"):
        r = resolve_model(
            "video_coop/ucf101/best-attention-0",
            root,
            {"video_coop/ucf101/best-attention-0": str(target)},
        )
        assert r["source"] == "explicit" and r["checkpoint"] == str((other / "model.safetensors").absolute())


def test_missing_names_key_and_every_place(registry, tmp_path):
    root, _ = registry
    with pytest.raises(ModelNotFoundError) as e:
        resolve_model("stt/ucf101/best-true-val", root)
    msg = str(e.value)
    assert "stt/ucf101/best-true-val" in msg and str((root / "stt/ucf101/best-true-val").absolute()) in msg
    missing = tmp_path / "nowhere" / "model.pt"
    with pytest.raises(ModelNotFoundError) as e:
        resolve_model(KEY, root, {KEY: str(missing)})  # explicit wins: no silent fallback to the registry
    assert str(missing) in str(e.value) and "explicit" in str(e.value)
    (root / "dual_coop/demo/tiny").mkdir(parents=True)
    with pytest.raises(ModelNotFoundError, match="no weights file"):
        resolve_model("dual_coop/demo/tiny", root)


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "video_coop/../../x",
        "/etc/passwd/x",
        "video_coop/demo/..",
        "a/b",
        "a/b/c/d",
        "a/b/c d",
    ],
)
def test_traversal_and_malformed_keys_refused(registry, key):
    root, _ = registry
    with pytest.raises(ModelKeyError, match="invalid model key"):
        resolve_model(key, root)


def test_malicious_pickle_refused_at_load(registry, tmp_path):
    root, model = registry
    marker = tmp_path / "pwned.txt"
    folder = root / "video_coop/demo/evil"
    save_checkpoint(model, folder)
    (folder / "model.safetensors").unlink()
    torch.save(
        {"state_dict": model.state_dict(), "x": CreatesFileWhenUnpickled(str(marker))},
        folder / "model.pt",
    )
    r = resolve_model("video_coop/demo/evil", root)  # resolution only hashes the file
    with pytest.raises(UnsafeCheckpointError, match="refused"):
        load_resolved(r)
    assert not marker.exists()


def test_corrupted_and_changed_checkpoints(registry):
    root, _ = registry
    r = resolve_model(KEY, root)
    weights = root / KEY / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="changed since it was resolved"):
        load_resolved(r)
    with pytest.raises(CheckpointError, match="corrupted"):
        load_resolved(resolve_model(KEY, root))


def test_config_problems(registry):
    root, _ = registry
    folder = root / KEY
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "method": "no_such_method"}))
    with pytest.raises(CheckpointError, match="not registered"):
        resolve_model(KEY, root)
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        resolve_model(KEY, root)


CUSTOM_MODULE = """
from videoxai.models.families.demo.models import VideoCoOp


def factory(config):
    return VideoCoOp.from_config(config)


def not_a_model(config):
    return object()
"""


def test_custom_factory_from_workflow_config(registry, tmp_path, monkeypatch):
    root, model = registry
    (tmp_path / "my_videonets.py").write_text(CUSTOM_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    save_checkpoint(model, root / "mynet/demo/run1")
    r = resolve_model("mynet/demo/run1", root, custom={"mynet/demo/run1": "my_videonets:factory"})
    assert r["method"] == "custom" and r["factory"] == "my_videonets:factory"
    x = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(load_resolved(r)(x), model(x))
    bad = resolve_model("mynet/demo/run1", root, custom={"mynet/demo/run1": "my_videonets:not_a_model"})
    with pytest.raises(TypeError, match="not a videoxai.models.base.VideoClassifier"):
        load_resolved(bad)
    with pytest.raises(ValueError, match="package.module:factory"):
        load_resolved({**r, "factory": "os.system('x')"})


def test_checkpoint_cannot_name_code_to_import(registry):
    root, _ = registry
    folder = root / KEY
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "method": "custom", "factory": "os:system"}))
    with pytest.raises(CheckpointError, match="cannot name code to import"):
        resolve_model(KEY, root)
