"""The shipped demo checkpoints: small, resolvable, and still accurate on freshly generated demo clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videoxai.data.sampling import segment_centres
from videoxai.demo.bundled import BUNDLED_KEYS, bundled_checkpoints_root
from videoxai.demo.dataset import DEMO_CLASSES, make_clip
from videoxai.demo.train import normalise_batch
from videoxai.models.checkpoints.resolve import load_resolved, resolve_model


def fresh_clips(per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Demo clips the models never saw (a seed outside the dataset's), sampled as the loader does."""
    frames, labels = [], []
    idx, _ = segment_centres(16, 8)
    for k in range(len(DEMO_CLASSES)):
        for i in range(per_class):
            clip, _ = make_clip(k, np.random.default_rng([seed, k, i]), 16, 64)
            frames.append(clip[idx])
            labels.append(k)
    return torch.from_numpy(np.stack(frames)), torch.tensor(labels)


@pytest.mark.parametrize("key", BUNDLED_KEYS)
def test_bundled_checkpoint_is_small_and_resolves(key):
    r = resolve_model(key, bundled_checkpoints_root())
    folder = bundled_checkpoints_root() / key
    assert (folder / "model.safetensors").stat().st_size < 1_000_000
    assert (folder / "train_report.json").is_file()
    assert r["method"] == key.split("/")[0] and r["class_names"] == DEMO_CLASSES


@pytest.mark.slow
@pytest.mark.parametrize("key", BUNDLED_KEYS)
def test_bundled_checkpoint_accuracy_on_new_clips(key):
    torch.set_num_threads(1)
    model = load_resolved(resolve_model(key, bundled_checkpoints_root()))
    frames, labels = fresh_clips(per_class=10, seed=12345)
    with torch.inference_mode():
        pred = model(normalise_batch(frames, model.input_spec)).argmax(-1)
    assert (pred == labels).float().mean() >= 0.7


@pytest.mark.parametrize("key", BUNDLED_KEYS)
def test_handcrafted_prompts_run_on_bundled_checkpoints(key):
    """The shipped vocabularies hold only class-name words: the template's words get fixed fallback vectors."""
    torch.set_num_threads(1)
    frames, _ = fresh_clips(per_class=1, seed=7)
    resolved = resolve_model(key, bundled_checkpoints_root())
    model = load_resolved(resolved)
    x = normalise_batch(frames, model.input_spec)
    unknown = model.text.tokenizer.unknown_words(["a video of a person {}."])
    assert unknown == ["a", "of", "person", "video"]  # the shipped vocabularies predate templates
    with torch.inference_mode():
        learned = model(x)
        model.set_handcrafted_prompts(True)
        hand = model(x)
        again = load_resolved(resolved)  # a fresh load gives the same template prompts
        again.set_handcrafted_prompts(True)
        assert torch.equal(again(x), hand)
        assert hand.isfinite().all() and not torch.allclose(hand, learned)
        model.set_handcrafted_prompts(False)
        assert torch.equal(model(x), learned)  # the learned-prompt numbers are untouched
