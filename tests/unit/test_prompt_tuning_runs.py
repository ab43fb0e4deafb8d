"""Prompt-tuning run folders as its training code writes them: which file, what is read, and every refusal named.

Uses the golden run folders and tiny CLIP cache of ``../shared/origin-fixtures`` (skipped where absent).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.helpers import origin_fixtures
from videoxai.models.checkpoints.files import CheckpointError, sha256_file
from videoxai.models.checkpoints.hf_cache import BackboneNotFoundError, locate_backbone
from videoxai.models.checkpoints.locate import ModelNotFoundError, find_checkpoint
from videoxai.models.checkpoints.resolve import resolve_model
from videoxai.models.checkpoints.weights import UnsafeCheckpointError
from videoxai.models.families.prompt_tuning.run_folder import (
    CONVERT_SNIPPET,
    OLD_FORMAT_SNIPPET,
    explicit_paths,
    read_checkpoint_paths,
    read_context_state_dict,
)

KEY = "video_coop/ucf101/best-mean"
SNAPSHOT = "7f19444ea4f8c43d9e3f272ffd493da3a97243d3"
KEYS = [
    "video_coop/ucf101/best-mean",
    "video_coop/ucf101/best-attention-0",
    "dual_coop/ucf101/best-mean",
    "dual_coop/ucf101/best-attention-1",
    "stt/ucf101/best-mean",
]


@pytest.fixture()
def fixtures() -> Path:
    return origin_fixtures()


@pytest.fixture()
def hf_cache(fixtures, monkeypatch) -> Path:
    """The fixtures' tiny CLIP as the Hugging Face cache, offline (huggingface_hub read its env at import)."""
    import huggingface_hub.constants

    hub = fixtures / "hf-home" / "hub"
    monkeypatch.setenv("HF_HOME", str(fixtures / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    return hub


def copy_run(fixtures: Path, root: Path, key: str = KEY, as_key: str | None = None) -> Path:
    """A writable copy of a fixture run folder at ``root/{as_key or key}``."""
    dest = root / (as_key or key)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(fixtures / "runs" / key, dest)
    for p in dest.iterdir():
        p.chmod(0o644)
    return dest


# ---------------------------------------------------------------- checkpoint_paths.json


def test_checkpoint_paths_json_paths_are_relative_to_the_file(fixtures):
    paths = read_checkpoint_paths(fixtures / "checkpoint_paths.json")
    assert sorted(paths) == sorted(KEYS)
    for key, path in paths.items():
        assert Path(path).is_absolute() and Path(path).is_file(), path
        assert Path(path) == fixtures / "runs" / key / "best.pt"


def test_checkpoint_paths_forms_agree(fixtures, tmp_path, monkeypatch):
    from_file = explicit_paths(str(fixtures / "checkpoint_paths.json"))
    nested = json.loads((fixtures / "checkpoint_paths.json").read_text())
    monkeypatch.chdir(fixtures)  # inline relative paths are relative to the working directory
    assert {k: str(Path(v).absolute()) for k, v in explicit_paths(nested).items()} == from_file
    flat = {KEY: "/abs/best.pt", "video_coop/demo/x": "wandb:e/p/n:latest"}
    assert explicit_paths(flat) == flat
    assert explicit_paths(None) == {}
    # a wandb reference in prompt-tuning form is kept as it is
    (tmp_path / "cp.json").write_text(json.dumps({"stt": {"ucf101": {"a": "wandb:e/p/n:v1", "b": "r/best.pt"}}}))
    got = read_checkpoint_paths(tmp_path / "cp.json")
    assert got == {"stt/ucf101/a": "wandb:e/p/n:v1", "stt/ucf101/b": str(tmp_path / "r" / "best.pt")}


def test_prompt_tunings_own_copy_is_read_from_its_repository_root(tmp_path):
    """Prompt-tuning reads src/configs/methods/checkpoint_paths.json from its repository root, paths as written."""
    place = tmp_path / "origin-repo" / "src" / "configs" / "methods" / "checkpoint_paths.json"
    place.parent.mkdir(parents=True)
    place.write_text(json.dumps({"stt": {"ucf101": {"best-true-val": "models/stt/best.pt", "abs": "/data/x.pt"}}}))
    assert read_checkpoint_paths(place) == {
        "stt/ucf101/best-true-val": str(tmp_path / "origin-repo" / "models" / "stt" / "best.pt"),
        "stt/ucf101/abs": "/data/x.pt",
    }


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"video_coop": ["best.pt"]}', "must map dataset names"),
        ('{"video_coop": {"ucf101": {"best": 3}}}', "must map to a path"),
        ('{"video_coop": {"ucf101": {"../up": "x.pt"}}}', "model key"),
        ('["x"]', "must hold a JSON object"),
    ],
)
def test_checkpoint_paths_json_problems_name_the_file(tmp_path, content, message):
    path = tmp_path / "checkpoint_paths.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as err:
        read_checkpoint_paths(path)
    assert str(path) in str(err.value)


def test_missing_checkpoint_paths_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint_paths.json"):
        explicit_paths(str(tmp_path / "checkpoint_paths.json"))


# ---------------------------------------------------------------- which file of a run folder


def test_run_folder_uses_best_pt_and_checkpoint_file_picks_another(fixtures, tmp_path):
    root = tmp_path / "checkpoints"
    run = copy_run(fixtures, root)
    assert sorted(p.name for p in run.iterdir()) == ["1.pt", "best.pt", "config.json"]
    assert find_checkpoint(KEY, root) == run / "best.pt"
    assert find_checkpoint(KEY, root, checkpoint_file="1.pt") == run / "1.pt"
    # an explicit best.pt (checkpoint_paths.json) with checkpoint-file: the named file of its folder
    assert find_checkpoint(KEY, tmp_path / "elsewhere", {KEY: str(run / "best.pt")}, "1.pt") == run / "1.pt"
    with pytest.raises(CheckpointError, match=r"'7.pt' is not a file of .*1.pt, best.pt"):
        find_checkpoint(KEY, root, checkpoint_file="7.pt")
    with pytest.raises(CheckpointError, match="is not a file"):
        find_checkpoint(KEY, root, checkpoint_file="../best-mean/best.pt")


def test_epoch_files_without_best_need_a_choice(fixtures, tmp_path):
    root = tmp_path / "checkpoints"
    run = copy_run(fixtures, root)
    (run / "best.pt").rename(run / "2.pt")
    with pytest.raises(CheckpointError, match=r"several weights files \(1.pt, 2.pt\).*checkpoint-file") as err:
        find_checkpoint(KEY, root)
    assert str(run) in str(err.value)
    assert find_checkpoint(KEY, root, checkpoint_file="2.pt") == run / "2.pt"
    (run / "1.pt").unlink()
    assert find_checkpoint(KEY, root) == run / "2.pt"  # the only one


def test_run_folder_with_no_pt_is_named(fixtures, tmp_path):
    root = tmp_path / "checkpoints"
    run = copy_run(fixtures, root)
    for p in run.glob("*.pt"):
        p.unlink()
    with pytest.raises(ModelNotFoundError, match="no weights file") as err:
        resolve_model(KEY, root)
    assert str(run) in str(err.value) and "best.pt" in str(err.value)
    with pytest.raises(ModelNotFoundError, match="explicit"):
        resolve_model(KEY, tmp_path / "none", {KEY: str(run)})


# ---------------------------------------------------------------- the .pt


def test_context_state_dict_is_all_that_is_read(fixtures):
    state = read_context_state_dict(fixtures / "runs" / "stt/ucf101/best-mean/best.pt")
    manifest = json.loads((fixtures / "manifest_models.json").read_text())
    want = manifest["keys"]["stt/ucf101/best-mean"]["context_state_dict"]
    assert {k: list(v.shape) for k, v in state.items()} == want


def test_pt_without_context_state_dict(fixtures, tmp_path, hf_cache):
    root = tmp_path / "checkpoints"
    run = copy_run(fixtures, root)
    torch.save({"optimizer_state_dict": {}, "epoch": 3}, run / "best.pt")
    with pytest.raises(CheckpointError, match="holds no 'context_state_dict'") as err:
        resolve_model(KEY, root)
    assert str(run / "best.pt") in str(err.value) and "epoch" in str(err.value)
    torch.save({"context_state_dict": {"context_vectors_text": [1.0]}}, run / "best.pt")
    with pytest.raises(CheckpointError, match="must map parameter names to tensors"):
        read_context_state_dict(run / "best.pt")


def test_older_format_pickling_a_module_is_refused_and_the_conversion_works(tmp_path):
    """The oldest prompt-tuning format saved the attention-pooling module itself: refused, with a snippet that converts it."""
    torch.manual_seed(0)
    pooling = nn.Module()
    pooling.query = nn.Parameter(torch.randn(1, 1, 32))
    pooling.attention = nn.MultiheadAttention(32, 1, batch_first=True)
    old = tmp_path / "best.pt"
    torch.save({"text_context": torch.randn(8, 32), "temporal_pooling": pooling}, old)
    with pytest.raises(UnsafeCheckpointError, match="refused to load") as err:
        read_context_state_dict(old)
    message = str(err.value)
    assert "weights_only=False" in message and "best.converted.pt" in message and "trusted" in message
    # the snippet the message gives, run as the user would (a trusted session, outside the workflow)
    exec(
        textwrap.dedent(OLD_FORMAT_SNIPPET.format(path=old, converted=tmp_path / "best.converted.pt").split("\n  (")[0])
    )
    state = read_context_state_dict(tmp_path / "best.converted.pt")
    assert set(state) == {
        "context_vectors_text",
        "logit_scale",
        "temporal_pooling.query",
        "temporal_pooling.attention.in_proj_weight",
        "temporal_pooling.attention.in_proj_bias",
        "temporal_pooling.attention.out_proj.weight",
        "temporal_pooling.attention.out_proj.bias",
    }
    assert torch.equal(state["temporal_pooling.query"], pooling.query.detach())


def test_a_pickled_module_converts_with_the_generic_snippet(tmp_path):
    learner = nn.Module()
    learner.context_vectors_text = nn.Parameter(torch.randn(8, 32))
    learner.logit_scale = nn.Parameter(torch.tensor(4.6))
    path = tmp_path / "5.pt"
    torch.save(learner, path)
    with pytest.raises(UnsafeCheckpointError, match="5.converted.pt"):
        read_context_state_dict(path)
    exec(textwrap.dedent(CONVERT_SNIPPET.format(path=path, converted=tmp_path / "5.converted.pt")))
    state = read_context_state_dict(tmp_path / "5.converted.pt")
    assert torch.equal(state["context_vectors_text"], learner.context_vectors_text.detach())


def test_a_pickle_that_runs_code_is_never_executed(tmp_path):
    class CreatesFileWhenUnpickled:
        def __init__(self, path: str):
            self.path = path

        def __reduce__(self):
            return (open, (self.path, "w"))

    marker = tmp_path / "pwned"
    torch.save({"context_state_dict": {}, "x": CreatesFileWhenUnpickled(str(marker))}, tmp_path / "best.pt")
    with pytest.raises(UnsafeCheckpointError):
        read_context_state_dict(tmp_path / "best.pt")
    assert not marker.exists()


def test_old_format_without_modules_names_the_conversion(tmp_path):
    torch.save({"text_context": torch.randn(8, 32), "temporal_pooling": None}, tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match="text_context") as err:
        read_context_state_dict(tmp_path / "best.pt")
    assert '"context_vectors_text": old["text_context"]' in str(err.value)


# ---------------------------------------------------------------- method and backbone (before any model is built)


def test_unknown_method_names_the_run_and_the_methods(fixtures, tmp_path, hf_cache):
    root = tmp_path / "checkpoints"
    run = copy_run(fixtures, root, as_key="action_clip/ucf101/best-mean")
    with pytest.raises(CheckpointError, match="'action_clip'.*video_coop, dual_coop, stt, vidop, vilt, vita") as err:
        resolve_model("action_clip/ucf101/best-mean", root)
    assert str(run / "config.json") in str(err.value)


def test_backbone_in_the_cache(fixtures, hf_cache):
    bb = locate_backbone("openai/clip-vit-base-patch16")
    assert (bb.source, bb.revision) == ("hf-cache", SNAPSHOT)
    assert bb.path == hf_cache / "models--openai--clip-vit-base-patch16" / "snapshots" / SNAPSHOT
    assert [p.name for p in bb.weights()] == ["model.safetensors"]
    record = bb.record()
    assert record["files"]["model.safetensors"] == sha256_file(bb.path / "model.safetensors")
    assert {"config.json", "vocab.json", "merges.txt"} <= set(record["files"])


def test_backbone_from_a_local_folder(fixtures, hf_cache, tmp_path):
    snapshot = locate_backbone("openai/clip-vit-base-patch16").path
    folder = tmp_path / "my-clip"
    shutil.copytree(snapshot, folder)
    (folder / "tf_model.h5").write_bytes(b"another framework's weights: never read")
    bb = locate_backbone(str(folder))
    assert (bb.source, bb.revision, bb.path) == ("folder", None, folder)
    assert "tf_model.h5" not in bb.record()["files"]


def test_backbone_not_in_the_cache_names_model_cache_and_hf_home(fixtures, tmp_path, hf_cache):
    root = tmp_path / "checkpoints"
    run = copy_run(fixtures, root)
    config = json.loads((run / "config.json").read_text())
    config["clip-model"] = "openai/clip-vit-large-patch14"
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(BackboneNotFoundError) as err:
        resolve_model(KEY, root)
    message = str(err.value)
    assert "openai/clip-vit-large-patch14" in message and str(hf_cache) in message
    assert "HF_HOME" in message and str(fixtures / "hf-home") in message and "download" in message


def test_partial_snapshot_without_weights_is_named(fixtures, tmp_path, monkeypatch):
    import huggingface_hub.constants

    snapshot = next((fixtures / "hf-home/hub/models--openai--clip-vit-base-patch16/snapshots").iterdir())
    repo = tmp_path / "hub" / "models--openai--clip-vit-base-patch16"
    shutil.copytree(snapshot.parents[1], repo)
    (repo / "snapshots" / snapshot.name / "model.safetensors").unlink()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(BackboneNotFoundError, match="no weights.*partial download"):
        locate_backbone("openai/clip-vit-base-patch16")
