"""Model key → checkpoint resolution: hits, misses that name every place, what is refused, and what a job reads."""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from videoxai.keys import ModelKeyError
from videoxai.models.checkpoints.record import ResolvedModel
from videoxai.models.checkpoints.resolve import (
    ModelNotFoundError,
    find_checkpoint,
    load_key,
    load_resolved,
    resolve,
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


# ---------------------------------------------------------------- the typed record, and what one job reads and builds


def test_the_record_is_resolved_json(registry, tmp_path):
    root, _ = registry
    record = resolve(KEY, root)
    assert record.to_dict() == resolve_model(KEY, root)
    assert set(record.to_dict()) == {
        "key",
        "source",
        "checkpoint",
        "sha256",
        "config_file",
        "method",
        "class_names",
        "input_spec",
        "model_config",
    }  # the optional fields (format, backbone, factory, artifact) only when set
    assert record.family == "demo"
    record.write(tmp_path / "resolved.json")
    assert ResolvedModel.read(tmp_path / "resolved.json") == record
    assert json.loads((tmp_path / "resolved.json").read_text()) == record.to_dict()
    with pytest.raises(CheckpointError, match=r"unknown field\(s\) extra.*rerun the resolve step"):
        ResolvedModel.from_dict({**record.to_dict(), "extra": 1})
    without_sha = {k: v for k, v in record.to_dict().items() if k != "sha256"}
    with pytest.raises(CheckpointError, match=r"missing field\(s\) sha256"):
        load_resolved(without_sha)


@contextlib.contextmanager
def reads_and_builds(config: Path) -> Iterator[Counter]:
    """Count the times ``config`` is opened (by any reader) and demo / prompt-tuning models and CLIPs are built."""
    from videoxai.models.families.demo.models import PromptVideoModel
    from videoxai.models.families.prompt_tuning import PromptTuningModel, run_folder

    counts: Counter = Counter()
    target = config.resolve()
    real_open = io.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)) and Path(file).resolve() == target:
            counts["config.json"] += 1
        return real_open(file, *args, **kwargs)

    def counting(name, real):
        def wrapped(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)

        return wrapped

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(io, "open", counting_open)
        mp.setattr(builtins, "open", counting_open)
        mp.setattr(PromptVideoModel, "__init__", counting("model", PromptVideoModel.__init__))
        mp.setattr(PromptTuningModel, "__init__", counting("model", PromptTuningModel.__init__))
        mp.setattr(run_folder, "load_backbone", counting("clip", run_folder.load_backbone))
        yield counts


def test_each_job_reads_config_json_once_and_builds_its_model_once(tmp_path):
    """resolve parses config.json once and builds nothing; extraction reads only resolved.json and builds once."""
    import shutil

    from videoxai.demo.bundled import bundled_checkpoints_root
    from videoxai.demo.dataset import write_demo_dataset
    from videoxai.setup.model_split import set_up

    root = tmp_path / "checkpoints"
    shutil.copytree(bundled_checkpoints_root() / KEY, root / KEY)
    config = root / KEY / "config.json"
    with reads_and_builds(config) as resolve_job:
        resolve(KEY, root).write(tmp_path / "resolved.json")
    assert resolve_job == {"config.json": 1}
    write_demo_dataset(tmp_path / "demo", n_train=8, n_test=8, seed=0, frames=8, size=32)
    dataset = {"name": "demo", "format": "ucf101", "root": str(tmp_path / "demo"), "split-id": 1}
    with reads_and_builds(config) as extract_job:
        setup = set_up(tmp_path / "resolved.json", dataset, "test", device="cpu")
    assert extract_job == {"model": 1}
    assert setup.resolved == json.loads((tmp_path / "resolved.json").read_text())
    with reads_and_builds(config) as notebook:
        loaded = load_key(KEY, checkpoints_root=root)
    assert notebook == {"config.json": 1, "model": 1}
    spec = loaded.input_spec
    x = torch.randn(1, spec.num_frames, 3, spec.size, spec.size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(loaded(x), setup.model.cpu()(x))


def test_the_registry_decides_the_family():
    from videoxai.models.families.registry import build_model, family_of

    demo = {"method": "video_coop", "class_names": ["a"], "model": {}}
    clip = {"method": "stt", "class_names": ["a"], "model": {"backbone": "clip"}}
    assert family_of("video_coop", demo) == "demo"
    assert family_of("video_coop", {**demo, "model": {"backbone": "demo"}}) == "demo"
    assert family_of("stt", clip) == "prompt-tuning"
    assert family_of(None, {"clip-model": "openai/clip-vit-base-patch16"}) == "prompt-tuning"  # a run folder
    assert family_of("r3d_18", {"method": "r3d_18", "class_names": ["a"]}) == "torchvision"
    assert family_of(None, {"class_names": ["a"]}, factory="pkg.mod:build") == "custom"
    assert family_of("nope", {"method": "nope"}) is None
    assert family_of("r3d_18", {**clip, "method": "r3d_18"}) is None  # no prompt-tuning family of that name
    # a demo class builds demo models only: a CLIP backbone is the prompt-tuning family's, chosen by the registry
    with pytest.raises(ValueError, match="'clip' backbone is prompt-tuning's model"):
        VideoCoOp.from_config({**clip, "method": "video_coop"})
    with pytest.raises(ValueError, match="run folder"):
        build_model("video_coop", {"clip-model": "openai/clip-vit-base-patch16"})


def test_a_key_missing_from_checkpoint_paths_names_the_file_and_its_runs(registry, tmp_path):
    """Issue 27: the not-found message lists every place looked, the checkpoint-paths file and its runs included."""
    from videoxai.models.families.prompt_tuning.run_folder import explicit_paths

    root, _ = registry
    paths_file = tmp_path / "checkpoint_paths.json"
    paths_file.write_text(
        json.dumps(
            {
                "stt": {"ucf101": {"best-mean": "runs/stt/best.pt", "best-attention-1": "runs/a/best.pt"}},
                "video_coop": {"ucf101": {"best-true-val": "runs/v/best.pt"}},
            }
        )
    )
    key = "stt/ucf101/best-true-val"
    with pytest.raises(ModelNotFoundError) as err:
        find_checkpoint(key, root, explicit_paths(str(paths_file)))  # as the workflow plans
    lines = str(err.value).splitlines()
    assert lines[:3] == [
        f"no checkpoint for model {key}. Looked in:",
        f"  checkpoint-paths {paths_file}: no entry for {key} (its stt/ucf101 runs: best-attention-1, best-mean)",
        f"  registry: {(root / key).absolute()} (does not exist)",
    ]
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("dual_coop/ucf101/best-mean", root, explicit_paths(str(paths_file)))
    assert str(err.value).splitlines()[1] == (
        f"  checkpoint-paths {paths_file}: no entry for dual_coop/ucf101/best-mean (no dual_coop/ucf101 runs in it)"
    )
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model(key, root)
    assert str(err.value).splitlines()[1] == "  checkpoint-paths: not set"
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("stt/ucf101/best-mean", root, explicit_paths(str(paths_file)))  # named there, but absent
    assert str(err.value).splitlines()[1] == (
        f"  explicit: {tmp_path / 'runs/stt/best.pt'} (does not exist, named in checkpoint-paths {paths_file})"
    )
