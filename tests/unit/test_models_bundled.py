"""The shipped demo checkpoints: small, resolvable, and still accurate on freshly generated demo clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videoxai.data.demo import DEMO_CLASSES, make_clip
from videoxai.data.sampling import segment_centres
from videoxai.models.bundled import BUNDLED_KEYS, bundled_checkpoints_root
from videoxai.models.resolve import load_resolved, resolve_model
from videoxai.models.train_demo import normalise_batch


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
