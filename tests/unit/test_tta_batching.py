"""Test-time augmentations as one forward give the per-augmentation logits (golden fixtures, float32, 1e-5).

Extraction runs the A augmentations of a batch's B clips as one forward of
B x A clips where the model's logits do not depend on its batch
(:func:`videoxai.data.transforms.average_tta_logits`, ``together``); stt's do
(its class-major prompt mask), so it keeps one forward per augmentation. Each
golden case's model is run both ways on its fixture clips and two
augmentations of them (a flip and a darkening), and the clean copy is also
checked against the golden logits.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.unit import test_prompt_tuning_families as families
from tests.unit import test_prompt_tuning_models as models
from videoxai.data.transforms import average_tta_logits

ATOL = 1e-5


def augmented(video: torch.Tensor) -> torch.Tensor:
    """(B, ...) clips -> (B, 3, ...): clean, flipped left-right, darkened."""
    return torch.stack([video, video.flip(-1), video * 0.5], dim=1)


def both_ways(model, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    tta = augmented(video)
    with torch.no_grad():
        return average_tta_logits(model, tta, together=True), average_tta_logits(model, tta)


def tolerance(x: torch.Tensor) -> float:
    """1e-5, relative to the logits' size where that passes 1 (vilt's reach 79: see test_attention_kernels)."""
    return ATOL * max(1.0, x.abs().max().item())


@pytest.mark.parametrize("key", models.CASES)
def test_augmentations_together_equal_one_forward_each(key, fixtures):
    from transformers import CLIPModel

    repo = fixtures / "hf-home" / "hub" / "models--openai--clip-vit-base-patch16"
    snapshot = repo / "snapshots" / (repo / "refs" / "main").read_text().strip()
    clip = CLIPModel.from_pretrained(str(snapshot), local_files_only=True).eval()
    from safetensors.torch import load_file

    video = load_file(str(fixtures / "cases" / "input_video.safetensors"))["input_video"]
    names = json.loads((fixtures / "cases" / "class_names.json").read_text())
    model = models.build(fixtures, key, names, clip)
    if not model.batch_independent:
        assert key.startswith("stt/"), "only stt's logits depend on its batch"
        return
    together, each = both_ways(model, video)
    assert together.shape == each.shape == (video.shape[0], len(names))
    diff = (together - each).abs().max().item()
    assert diff <= tolerance(each), f"{key}: max |diff| {diff:.3g}"
    golden = models.golden(fixtures, key)["logits"]
    with torch.no_grad():
        clean = model(augmented(video).flatten(0, 1)).unflatten(0, (video.shape[0], 3))[:, 0]
    assert (clean - golden).abs().max().item() <= tolerance(golden), key


@pytest.mark.parametrize("key", families.CASES)
def test_other_families_together_equal_one_forward_each(key, families_fixtures):
    fx = families_fixtures
    clip = families.fixture_clip(fx)
    video = families.load_file(str(fx / "cases" / "input_video.safetensors"))["input_video"]
    names = json.loads((fx / "cases" / "class_names.json").read_text())
    model = families.build(fx, key, names, clip)
    assert model.batch_independent
    together, each = both_ways(model, video)
    diff = (together - each).abs().max().item()
    assert diff <= tolerance(each), f"{key}: max |diff| {diff:.3g}"
    want = families.golden(fx, key)["logits"]
    with torch.no_grad():
        clean = model(augmented(video).flatten(0, 1)).unflatten(0, (video.shape[0], 3))[:, 0]
    assert (clean - want).abs().max().item() <= tolerance(want), key
