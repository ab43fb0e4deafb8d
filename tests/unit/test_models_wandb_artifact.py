"""wandb artifact checkpoints: registry first (offline), clear errors, atomic installs.

There is no wandb server here, so no test downloads a real artifact: the
online path is exercised only up to a real wandb client failing to reach a
server (an unroutable local address), never against a fake of wandb.
"""

from __future__ import annotations

import shutil

import pytest
import torch

from tests.unit.test_resolve import KEY, tiny
from videoxai.io import read_json, write_json
from videoxai.keys import ModelKey
from videoxai.models.checkpoints.resolve import load_resolved, registry_dir, resolve_model
from videoxai.models.checkpoints.wandb_artifact import (
    MARKER_NAME,
    ArtifactSpec,
    ArtifactUnavailableError,
    ensure_artifact,
    install_files,
    is_artifact,
)
from videoxai.models.checkpoints.weights import save_checkpoint

URI = "wandb:my-team/video-xai/video_coop-ucf101:v3"
KEY_PARSED = ModelKey.parse(KEY)


@pytest.fixture()
def no_wandb_server(tmp_path, monkeypatch):
    """Online mode, a syntactically valid login, and a server address nothing listens on."""
    for var in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    for var in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home"))


def downloaded(root, spec=URI, version="v3"):
    """A registry folder as a previous download left it: weights, config.json, marker."""
    folder = root / KEY
    save_checkpoint(tiny(), folder)
    write_json(
        folder / MARKER_NAME,
        {
            "artifact": str(ArtifactSpec.parse(spec)),
            "obtained": "download",
            "version": version,
            "digest": "d41d8cd98f00b204e9800998ecf8427e",
        },
    )
    return folder


def test_spec_parsing():
    spec = ArtifactSpec.parse(URI)
    assert (spec.entity, spec.project, spec.name, spec.alias) == (
        "my-team",
        "video-xai",
        "video_coop-ucf101",
        "v3",
    )
    assert spec.uri == URI and str(ArtifactSpec.parse("p/n:latest")) == "p/n:latest"
    assert is_artifact(URI) and not is_artifact("/data/ckpt/model.pt")
    for bad in (
        "wandb:team/project/name",
        "wandb:team/project/na me:v1",
        "wandb:a/b/c/d:v1",
    ):
        with pytest.raises(ValueError, match="entity/project/name:alias"):
            ArtifactSpec.parse(bad)


def test_registry_copy_is_used_without_network(tmp_path, no_wandb_server):
    """Online, but no server reachable: a registry copy with its marker resolves, so none was contacted."""
    root = tmp_path / "checkpoints"
    folder = downloaded(root)
    r = resolve_model(KEY, root, explicit={KEY: URI})
    assert r["source"] == "wandb-artifact"
    assert r["checkpoint"] == str((folder / "model.safetensors").absolute())
    assert r["artifact"]["artifact"] == "my-team/video-xai/video_coop-ucf101:v3"
    assert r["artifact"]["version"] == "v3"
    x = torch.randn(1, 4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(load_resolved(r)(x), tiny()(x))


def test_absent_and_offline_names_artifact_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    root = tmp_path / "checkpoints"
    with pytest.raises(ArtifactUnavailableError) as e:
        resolve_model(KEY, root, explicit={KEY: URI})
    msg = str(e.value)
    assert URI in msg and str(registry_dir(KEY_PARSED, root)) in msg
    assert "WANDB_MODE=offline" in msg and "config.json" in msg
    assert not (root / KEY).exists()  # nothing half-made left behind
    # without fetching (the workflow's resolve job), the same folder is named
    with pytest.raises(ArtifactUnavailableError, match="not fetched yet"):
        resolve_model(KEY, root, explicit={KEY: URI}, fetch=False)


def test_online_without_a_reachable_server_fails_clearly(tmp_path, no_wandb_server):
    """A real wandb client, no server: the error names the artifact, the folder and wandb's reason."""
    root = tmp_path / "checkpoints"
    with pytest.raises(ArtifactUnavailableError) as e:
        ensure_artifact(URI, root / KEY, timeout=5)
    msg = str(e.value)
    assert URI in msg and str(root / KEY) in msg
    assert "Error" in msg  # wandb's exception class, e.g. AuthenticationError / CommError
    parent = root / "video_coop" / "demo"
    assert not any(root.glob("**/*.safetensors"))
    assert not (parent.exists() and list(parent.glob(".*")))  # no temporary folder left behind


def test_files_placed_by_hand_are_accepted_and_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    root = tmp_path / "checkpoints"
    save_checkpoint(tiny(), root / KEY)  # what the offline message asks the user to do
    r = resolve_model(KEY, root, explicit={KEY: URI})
    assert r["source"] == "wandb-artifact" and r["artifact"]["obtained"] == "placed by hand"
    marker = read_json(root / KEY / MARKER_NAME)
    assert marker["artifact"] == str(ArtifactSpec.parse(URI))
    assert set(marker["files"]) == {"config.json", "model.safetensors"}


def test_registry_holding_another_artifact_is_not_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    root = tmp_path / "checkpoints"
    downloaded(root, spec="wandb:my-team/video-xai/video_coop-ucf101:v2", version="v2")
    with pytest.raises(ArtifactUnavailableError, match="delete .* to fetch the new one"):
        resolve_model(KEY, root, explicit={KEY: URI})
    with pytest.raises(ArtifactUnavailableError, match="to fetch the new one"):
        resolve_model(KEY, root, explicit={KEY: URI}, fetch=False)  # the workflow's resolve job


def test_install_replaces_a_previous_download_in_one_rename(tmp_path):
    root = tmp_path / "checkpoints"
    folder = downloaded(root, spec="wandb:my-team/video-xai/video_coop-ucf101:v2", version="v2")
    new = tmp_path / "checkpoints" / "video_coop" / "demo" / ".tiny.download-1"
    shutil.copytree(folder, new)
    (new / MARKER_NAME).unlink()
    (new / "notes.txt").write_text("from the artifact")
    marker = install_files(new, folder, {"artifact": str(ArtifactSpec.parse(URI)), "version": "v3"})
    assert not new.exists() and read_json(folder / MARKER_NAME) == marker
    assert marker["files"] == ["config.json", "model.safetensors", "notes.txt"]
    assert sorted(p.name for p in folder.parent.iterdir()) == ["tiny"]  # old copy removed


def test_install_refuses_bad_downloads_and_foreign_files(tmp_path):
    folder = tmp_path / "checkpoints" / KEY
    empty = tmp_path / "dl-empty"
    empty.mkdir()
    (empty / "readme.md").write_text("no weights here")
    with pytest.raises(ArtifactUnavailableError, match=r"no weights file .*readme\.md"):
        install_files(empty, folder, {"artifact": "p/n:v0"})
    save_checkpoint(tiny(), folder)  # the user's own files, no marker
    good = tmp_path / "dl-good"
    save_checkpoint(tiny(), good)
    with pytest.raises(ArtifactUnavailableError, match="not downloaded from wandb"):
        install_files(good, folder, {"artifact": "p/n:v0"})
    assert not (folder / MARKER_NAME).exists()
