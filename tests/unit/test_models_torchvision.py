"""torchvision video classifiers as adapters: offline build, forward, Grad-CAM layers, input checks, hub weights."""

from __future__ import annotations

import pytest
import torch

from videoxai.explain.gradcam import activations_and_gradients
from videoxai.models.checkpoints.resolve import ModelNotFoundError, load_resolved, resolve_model
from videoxai.models.checkpoints.weights import load_checkpoint, save_checkpoint
from videoxai.models.families.registry import build_model
from videoxai.models.families.torchvision_video import (
    ARCHS,
    hub_weights_path,
    kinetics400_classes,
)

CLASSES = ["a", "b", "c"]
LIGHT = [
    "r3d_18",
    "r2plus1d_18",
    "mc3_18",
    pytest.param("swin3d_t", marks=pytest.mark.slow),
]


def make(arch: str, frames: int = 8, size: int = 32, **model):
    torch.manual_seed(0)
    return build_model(
        arch,
        {
            "class_names": CLASSES,
            "model": {"num_frames": frames, "size": size, **model},
        },
    ).eval()


def gradcam_grid(model, clip):
    """The Grad-CAM layer's activation and gradient (of class 0) grids, captured as Grad-CAM captures them."""
    target = model.gradcam_target()
    labels = torch.zeros(len(clip), dtype=torch.long)
    act, grad, _, _ = activations_and_gradients(model, target, clip, labels, "true")
    return target.to_grid(act), target.to_grid(grad)


@pytest.mark.parametrize("arch", LIGHT)
def test_light_archs_forward_save_load_gradcam(arch, tmp_path):
    model = make(arch)
    clip = torch.randn(1, 8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(clip)
    assert logits.shape == (1, 3)
    save_checkpoint(model, tmp_path)
    with torch.no_grad():
        assert torch.equal(load_checkpoint(tmp_path)(clip), logits)
    act, grad = gradcam_grid(model, clip)
    assert act.ndim == 5 and act.shape == grad.shape and act.shape[0] == 1
    assert grad.abs().sum() > 0
    assert not model.has_attention
    with pytest.raises(NotImplementedError, match="has no attention"):
        model.forward_with_attention(clip)


def test_r3d_gradcam_layer_is_configurable():
    clip = torch.randn(1, 16, 3, 32, 32)
    model = make("r3d_18", frames=16)
    act4, _ = gradcam_grid(model, clip)
    model.set_gradcam_layer("layer3")
    act3, _ = gradcam_grid(model, clip)
    assert act4.shape[2] == 2 and act3.shape[2] == 4  # time slices at 16 frames
    assert model.get_config()["model"]["gradcam_layer"] == "layer3"
    with pytest.raises(ValueError, match="no layer 'layer9'.*layer4"):
        model.set_gradcam_layer("layer9")
    with pytest.raises(ValueError, match="fixed 3-way classifier"):  # dataset transfer is refused for CNNs
        model.set_class_names(["x", "y"])


def test_fixed_size_archs_say_so():
    for arch in ("s3d", "mvit_v2_s"):
        assert ARCHS[arch].fixed_size
        with pytest.raises(ValueError, match="only 224x224"):
            make(arch, frames=16, size=112)


@pytest.mark.slow
def test_fixed_size_models_refuse_other_input():
    for arch in ("s3d", "mvit_v2_s"):
        model = make(arch, frames=16, size=224)
        assert model.input_spec.fixed_size and model.input_spec.size == 224
        with pytest.raises(ValueError, match="only 224x224 input, got 112x112"):
            model(torch.zeros(1, 16, 3, 112, 112))


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["s3d", "mvit_v2_s"])
def test_224_archs_forward_and_gradcam(arch):
    model = make(arch, frames=16, size=224)
    clip = torch.randn(1, 16, 3, 224, 224)
    act, grad = gradcam_grid(model, clip)
    assert act.ndim == 5 and grad.abs().sum() > 0


def test_missing_hub_weights_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "r3d_18-b3b3357e.pth"
    assert hub_weights_path("r3d_18") == expected
    with pytest.raises(FileNotFoundError, match="r3d_18-b3b3357e.pth"):
        build_model(
            "r3d_18",
            {
                "class_names": kinetics400_classes("r3d_18"),
                "model": {"pretrained": "kinetics400"},
            },
        )
    with pytest.raises(ModelNotFoundError) as e:
        resolve_model("r3d_18/kinetics400/torchvision", tmp_path / "registry")
    assert str(expected) in str(e.value) and "registry" in str(e.value)


def test_hub_weights_found_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.manual_seed(1)
    reference = build_model("r3d_18", {"class_names": kinetics400_classes("r3d_18")}).eval()
    path = hub_weights_path("r3d_18")
    path.parent.mkdir(parents=True)
    torch.save(reference.net.state_dict(), path)  # what torchvision's download leaves there: a plain state_dict
    r = resolve_model("r3d_18/kinetics400/torchvision", tmp_path / "registry")
    assert r["source"] == "torch-hub" and len(r["class_names"]) == 400 and r["config_file"] is None
    model = load_resolved(r)
    clip = torch.randn(1, 8, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(clip), reference(clip))
