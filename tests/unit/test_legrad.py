"""LeGrad (``legrad-readout: logit``): the formula by hand on the same tensors, a planted patch found, invariances,
the prompt-tuning families' per-frame blocks.

The ``layers`` readout is checked against the ``legrad-torch`` package in ``test_legrad_reference.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.unit.test_explain_methods import TinyViT
from tests.unit.test_models_clip import make
from videoxai.explain.base import patch_grid
from videoxai.explain.legrad import LeGrad, legrad_relevance
from videoxai.explain.methods import ALL_METHODS, make_explainer

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def video() -> torch.Tensor:
    return torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(5))


def _by_hand(model, video: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """``mean_l mean_rows mean_heads relu(dlogit/dA_l)`` in numpy from the dense joint matrices, image tokens only."""
    x = video.clone().requires_grad_(True)
    logits, dense = model.forward_with_attention(x)
    grads = torch.autograd.grad(logits.gather(1, labels[:, None]).sum(), dense)
    per_layer = [np.clip(g.detach().numpy(), 0, None).mean(axis=1).mean(axis=1) for g in grads]
    return np.mean(per_layer, axis=0)


def test_registered_with_its_option():
    assert ALL_METHODS["legrad"] is LeGrad and LeGrad.options == {"legrad-readout": "logit"}
    assert isinstance(make_explainer("legrad", TinyViT().eval()), LeGrad)


def test_legrad_is_the_formula_on_a_vit():
    torch.manual_seed(0)
    model = TinyViT(frames=2, size=8, layers=3).eval()
    clip = torch.randn(2, 2, 3, 8, 8)
    labels = torch.tensor([0, 2])
    got = LeGrad(model).explain(clip, labels, "true").relevance
    want = patch_grid(torch.from_numpy(_by_hand(model, clip, labels)), model.token_layout)
    np.testing.assert_allclose(got.numpy(), want.numpy().astype(np.float32), atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name", ["video_coop_attention", "dual_coop_first", "stt"])
def test_per_frame_blocks_give_the_formula_on_the_joint_matrices(name, video):
    """Prompt-tuning families: the per-frame blocks (attention_layers) give the dense computation's map."""
    model = make(name).requires_grad_(False)
    labels = torch.tensor([0, 1])
    got = LeGrad(model).explain(video, labels, "true")
    want = patch_grid(torch.from_numpy(_by_hand(model, video, labels)), model.token_layout)
    torch.testing.assert_close(got.relevance, want.float(), atol=1e-7, rtol=1e-4)
    assert got.relevance.shape == (2, 4, model.token_layout.height, model.token_layout.width)
    assert torch.all(got.relevance >= 0) and torch.all(got.relevance.flatten(1).amax(1) > 0)


def test_a_planted_patch_is_the_only_relevant_one():
    """One layer, zero biases and position embeddings, a black clip but for one patch: the attention weight of no
    other image token can move any logit, so LeGrad gives every other patch exactly 0, and the planted one > 0 for
    a class whose logit rises with it."""
    torch.manual_seed(1)
    model = TinyViT(frames=2, size=8, patch=4, layers=1).eval()
    with torch.no_grad():
        model.pos.zero_()
        model.embed.bias.zero_()
        for blk in model.blocks:
            blk.qkv.bias.zero_()
    clip = torch.zeros(1, 2, 3, 8, 8)
    clip[0, 1, :, 4:8, 0:4] = torch.randn(3, 4, 4)  # frame 1, patch row 1 column 0
    planted = torch.zeros(1, 2, 2, 2, dtype=torch.bool)
    planted[0, 1, 1, 0] = True
    maps = [LeGrad(model).explain(clip, torch.tensor([k]), "true").relevance for k in range(3)]
    for m in maps:
        assert torch.all(m[~planted] == 0)
    assert max(float(m[planted]) for m in maps) > 0


def test_invariant_to_the_logit_scale_and_a_constant_shift():
    """A positive scale of the logits (CLIP's logit scale, a temperature) and a constant added to every logit change
    no normalised map: the gradient scales, ReLU commutes with a positive scale, min-max removes it."""
    torch.manual_seed(2)
    model = TinyViT(frames=2, size=8, layers=2).eval()
    clip = torch.randn(2, 2, 3, 8, 8)
    labels = torch.tensor([1, 0])
    before = LeGrad(model)(clip, labels, "true").maps
    with torch.no_grad():
        model.head.weight.mul_(7.5)
        model.head.bias.mul_(7.5).add_(3.0)
    after = LeGrad(model)(clip, labels, "true").maps
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-4)


def test_class_specific_and_each_clip_on_its_own(video):
    model = make("video_coop_attention")
    m0 = LeGrad(model).explain(video, torch.tensor([0, 0]), "true").relevance
    m1 = LeGrad(model).explain(video, torch.tensor([1, 1]), "true").relevance
    assert not torch.allclose(m0, m1)
    first = LeGrad(model).explain(video[:1], torch.tensor([0]), "true").relevance
    torch.testing.assert_close(m0[:1], first, atol=1e-7, rtol=1e-6)


def test_no_layers_is_refused():
    with pytest.raises(ValueError, match="no attention layers"):
        legrad_relevance([], [])
