"""``videoxai.load_model`` and resolving prompt-tuning runs: prompt-tuning's logits from its own run folders.

The golden numbers were made by running prompt-tuning's code on the fixtures' run folders
(``../shared/origin-fixtures``, skipped where absent).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import videoxai
from tests.helpers import origin_fixtures
from videoxai.models.checkpoints.files import CheckpointError, sha256_file
from videoxai.models.checkpoints.resolve import load_resolved, resolve_model

KEYS = [
    "video_coop/ucf101/best-mean",
    "video_coop/ucf101/best-attention-0",
    "dual_coop/ucf101/best-mean",
    "dual_coop/ucf101/best-attention-1",
    "stt/ucf101/best-mean",
]
KEY = KEYS[0]
TOL = 1e-5


@pytest.fixture()
def fixtures(monkeypatch) -> Path:
    """The fixtures, with their tiny CLIP as the offline Hugging Face cache."""
    import huggingface_hub.constants

    root = origin_fixtures()
    monkeypatch.setenv("HF_HOME", str(root / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub read HF_HOME when first imported; a fresh process needs only the env (see the subprocess test)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(root / "hf-home" / "hub"))
    return root


def classes(fixtures: Path) -> list[str]:
    return json.loads((fixtures / "cases" / "class_names.json").read_text())


def case(fixtures: Path, key: str) -> dict[str, torch.Tensor]:
    method, _, run = key.split("/")
    return load_file(fixtures / "cases" / f"{method}__{run}.safetensors")


def video(fixtures: Path) -> torch.Tensor:
    return load_file(fixtures / "cases" / "input_video.safetensors")["input_video"]


@pytest.mark.parametrize("key", KEYS)
def test_load_model_gives_prompt_tunings_logits(fixtures, key):
    model = videoxai.load_model(
        key, checkpoint_paths=str(fixtures / "checkpoint_paths.json"), class_names=classes(fixtures)
    )
    assert not model.training and list(model.class_names) == classes(fixtures)
    with torch.no_grad():
        logits = model(video(fixtures))
    want = case(fixtures, key)["logits"]
    assert logits.shape == want.shape == (2, 7)
    assert (logits - want).abs().max().item() < TOL


def test_every_way_of_naming_the_run_gives_the_same_model(fixtures):
    names = classes(fixtures)
    nested = json.loads((fixtures / "checkpoint_paths.json").read_text())
    for method in nested.values():  # prompt-tuning's dict form, made absolute (inline paths follow the cwd)
        for runs in method.values():
            runs.update({run: str(fixtures / p) for run, p in runs.items()})
    x = video(fixtures)
    want = case(fixtures, KEY)["logits"]
    for kwargs in (
        {"checkpoint_paths": nested},
        {"checkpoint_paths": {KEY: str(fixtures / "runs" / KEY)}},  # a flat mapping to the run folder
        {"checkpoints_root": fixtures / "runs"},  # a registry of prompt-tuning run folders
    ):
        with torch.no_grad():
            got = videoxai.load_model(KEY, class_names=names, **kwargs)(x)
        assert (got - want).abs().max().item() < TOL, kwargs


def test_checkpoint_file_picks_an_epoch_file(fixtures, tmp_path):
    names, x = classes(fixtures), video(fixtures)
    root = tmp_path / "checkpoints"
    shutil.copytree(fixtures / "runs" / KEY, root / KEY)
    epoch = torch.load(root / KEY / "1.pt", weights_only=True)  # the fixtures' 1.pt equals best.pt: make it another
    epoch["context_state_dict"]["logit_scale"] += 0.5
    (root / KEY / "1.pt").chmod(0o644)
    torch.save(epoch, root / KEY / "1.pt")
    with torch.no_grad():
        best = videoxai.load_model(KEY, checkpoints_root=root, class_names=names)(x)
        first = videoxai.load_model(KEY, checkpoints_root=root, class_names=names, checkpoint_file="1.pt")(x)
    assert (best - case(fixtures, KEY)["logits"]).abs().max().item() < TOL
    assert torch.allclose(first, best * torch.tensor(0.5).exp(), atol=1e-4)


def test_a_prompt_tuning_run_needs_class_names(fixtures):
    with pytest.raises(ValueError, match="records no class names.*class_names="):
        videoxai.load_model(KEY, checkpoint_paths=str(fixtures / "checkpoint_paths.json"))


def test_other_class_names_are_scored_as_a_model_built_for_them(fixtures):
    """Open-set: any class list; the same logits as the prompt-tuning model built for that list from the start.

    (Not a column subset of the 7-class logits: prompt-tuning pads class tokens to the longest name and runs its
    text encoder without a padding mask, so the class list changes every text feature.)
    """
    from videoxai.models.families.prompt_tuning import build_prompt_tuning_model
    from videoxai.models.families.prompt_tuning.run_folder import load_backbone, read_context_state_dict

    subset = ["YoYo", "SkyDiving"]
    model = videoxai.load_model(KEY, checkpoint_paths=str(fixtures / "checkpoint_paths.json"), class_names=subset)
    run = fixtures / "runs" / KEY
    clip = load_backbone(next((fixtures / "hf-home/hub/models--openai--clip-vit-base-patch16/snapshots").iterdir()))
    direct = build_prompt_tuning_model(json.loads((run / "config.json").read_text()), subset, clip)
    direct.load_context_state_dict(read_context_state_dict(run / "best.pt"))
    with torch.no_grad():
        got, want = model(video(fixtures)), direct.eval()(video(fixtures))
    assert got.shape == (2, 2) and list(model.class_names) == subset
    assert (got - want).abs().max().item() < TOL


def test_a_demo_key_loads_the_shipped_checkpoint():
    model = videoxai.load_model("video_coop/demo/tiny")
    assert not model.training and len(model.class_names) == 8


def test_load_model_in_a_fresh_process_with_only_the_environment(fixtures):
    """As a notebook user: HF_HOME + HF_HUB_OFFLINE in the environment, prompt-tuning's JSON file, nothing else."""
    code = f"""
import sys, json
import videoxai
assert "torch" not in sys.modules, "import videoxai imported torch"
from safetensors.torch import load_file
F = {str(fixtures)!r}
names = json.load(open(F + "/cases/class_names.json"))
model = videoxai.load_model("stt/ucf101/best-mean", checkpoint_paths=F + "/checkpoint_paths.json", class_names=names)
x = load_file(F + "/cases/input_video.safetensors")["input_video"]
import torch
with torch.no_grad():
    diff = (model(x) - load_file(F + "/cases/stt__best-mean.safetensors")["logits"]).abs().max().item()
print("MAXDIFF", diff)
"""
    env = dict(os.environ, HF_HOME=str(fixtures / "hf-home"), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd="/", check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert float(out.stdout.split("MAXDIFF")[1]) < TOL


# ---------------------------------------------------------------- resolved.json of a prompt-tuning run


def test_resolved_records_run_config_checkpoint_and_backbone(fixtures):
    paths = {KEY: str(fixtures / "runs" / KEY / "best.pt")}
    r = resolve_model(KEY, "checkpoints", paths)
    run = fixtures / "runs" / KEY
    assert r["format"] == "prompt-tuning-run" and r["method"] == "video_coop" and r["class_names"] == []
    assert r["checkpoint"] == str(run / "best.pt") and r["sha256"] == sha256_file(run / "best.pt")
    assert r["model_config"] == json.loads((run / "config.json").read_text())
    assert r["input_spec"]["num_frames"] == 8 and r["input_spec"]["size"] == 32
    bb = r["backbone"]
    snapshot = fixtures / "hf-home/hub/models--openai--clip-vit-base-patch16/snapshots" / bb["revision"]
    assert (bb["name"], bb["source"], bb["path"]) == ("openai/clip-vit-base-patch16", "hf-cache", str(snapshot))
    assert bb["files"]["model.safetensors"] == sha256_file(snapshot / "model.safetensors")
    json.dumps(r)  # all of it goes into resolved.json
    model = load_resolved(r, class_names=classes(fixtures))
    with torch.no_grad():
        assert (model(video(fixtures)) - case(fixtures, KEY)["logits"]).abs().max().item() < TOL


def copy_backbone(fixtures: Path, dest: Path) -> Path:
    snapshot = next((fixtures / "hf-home/hub/models--openai--clip-vit-base-patch16/snapshots").iterdir())
    shutil.copytree(snapshot, dest)
    for p in dest.iterdir():
        p.chmod(0o644)
    return dest


def run_with_backbone(fixtures: Path, tmp_path: Path, backbone: Path) -> Path:
    root = tmp_path / "checkpoints"
    run = root / KEY
    shutil.copytree(fixtures / "runs" / KEY, run)
    for p in run.iterdir():
        p.chmod(0o644)
    config = json.loads((run / "config.json").read_text())
    config["clip-model"] = str(backbone)
    (run / "config.json").write_text(json.dumps(config))
    return root


def test_a_context_that_does_not_fit_the_backbone(fixtures, tmp_path):
    """The run config names another CLIP than the one it was trained with: the shapes say so, with the fix."""
    from transformers import CLIPConfig, CLIPModel

    other = copy_backbone(fixtures, tmp_path / "other-clip")
    for f in ("model.safetensors", "config.json"):
        (other / f).unlink()
    torch.manual_seed(0)
    CLIPModel(
        CLIPConfig(
            text_config={"hidden_size": 24, "intermediate_size": 48, "num_hidden_layers": 1, "num_attention_heads": 2},
            vision_config={
                "hidden_size": 24,
                "intermediate_size": 48,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "image_size": 32,
                "patch_size": 8,
            },
            projection_dim=16,
        )
    ).save_pretrained(other)
    root = run_with_backbone(fixtures, tmp_path, other)
    with pytest.raises(CheckpointError, match="does not fit") as err:
        resolve_model(KEY, root)
    message = str(err.value)
    assert str(root / KEY / "best.pt") in message and str(root / KEY / "config.json") in message
    assert "clip-model" in message and str(other) in message


def test_a_backbone_changed_after_resolving_is_refused(fixtures, tmp_path):
    backbone = copy_backbone(fixtures, tmp_path / "clip")
    r = resolve_model(KEY, run_with_backbone(fixtures, tmp_path, backbone))
    assert r["backbone"]["source"] == "folder" and r["backbone"]["revision"] is None
    with open(backbone / "model.safetensors", "ab") as f:
        f.write(b"\0")
    with pytest.raises(CheckpointError, match="changed since it was resolved.*rerun the resolve step"):
        load_resolved(r, class_names=["a", "b"])


def test_a_prompt_tuning_run_kept_as_a_wandb_artifact(fixtures, tmp_path):
    """The run folder placed in the key's registry folder for a wandb artifact: resolved offline, artifact recorded."""
    root = tmp_path / "checkpoints"
    shutil.copytree(fixtures / "runs" / KEY, root / KEY)
    r = resolve_model(KEY, root, {KEY: "wandb:team/proj/video_coop-ucf101:v2"}, fetch=False)
    assert r["source"] == "wandb-artifact" and r["format"] == "prompt-tuning-run"
    assert r["artifact"] == {"artifact": "team/proj/video_coop-ucf101:v2", "obtained": "placed by hand"}
    assert r["checkpoint"] == str(root / KEY / "best.pt")


def test_a_prompt_tuning_run_is_read_and_built_once_per_job(fixtures, tmp_path):
    """resolve builds the run's model once (to check its context fits); load_model returns that very model; a
    job loading resolved.json builds it once and never reads the run's config.json."""
    from tests.unit.test_resolve import reads_and_builds
    from videoxai.models.checkpoints.record import ResolvedModel
    from videoxai.models.checkpoints.resolve import resolve

    config = fixtures / "runs" / KEY / "config.json"
    paths = str(fixtures / "checkpoint_paths.json")
    with reads_and_builds(config) as notebook:
        model = videoxai.load_model(KEY, checkpoint_paths=paths, class_names=classes(fixtures))
    assert notebook == {"config.json": 1, "model": 1, "clip": 1}
    with reads_and_builds(config) as resolve_job:
        record = resolve(KEY, "checkpoints", {KEY: str(fixtures / "runs" / KEY / "best.pt")})
        record.write(tmp_path / "resolved.json")
    assert resolve_job == {"config.json": 1, "model": 1, "clip": 1}
    assert record.family == "prompt-tuning" and record.format == "prompt-tuning-run"
    with reads_and_builds(config) as extract_job:
        again = load_resolved(ResolvedModel.read(tmp_path / "resolved.json"), class_names=classes(fixtures))
    assert extract_job == {"model": 1, "clip": 1}
    with torch.no_grad():
        assert torch.equal(model(video(fixtures)), again(video(fixtures)))
