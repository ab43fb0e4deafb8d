"""Attention returned by ``forward_with_attention`` is the attention the forward pass used.

Each factor of a divided space-time block (and each per-frame CLIP layer,
summary attention and temporal pooling) is returned as a joint ``(B, H, N, N)``
matrix, and the model computes that factor's output from probabilities read
back out of the joint matrix. So gradients with respect to the returned
matrices exist (grad-rollout needs them), and they are the gradients of the
joint layer ``out = A @ V``: checked here against that dense product.
"""

from __future__ import annotations

import pytest
import torch

from tests.unit.test_models_clip import VARIANTS as CLIP_VARIANTS
from tests.unit.test_models_clip import make as make_clip
from videoxai.demo.bundled import BUNDLED_KEYS, bundled_checkpoints_root
from videoxai.explain.grad_rollout import GradRollout
from videoxai.models.checkpoints.weights import load_checkpoint
from videoxai.models.families.demo.tower import (
    embed_frames,
    embed_subset,
    embed_temporal,
    read_frames,
    read_subset,
    read_temporal,
)

B, H, T, HW, D = 2, 3, 4, 5, 6


def _probs(*shape: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).mul(2).softmax(-1)


def _check_joint_gradient(joint, read_out, dense_out, rows):
    """Same outputs; same ``dL/dA ⊙ A`` (what grad-rollout uses) for a random linear score of the outputs."""
    w = torch.randn(dense_out[:, :, rows].shape, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(read_out[:, :, rows], dense_out[:, :, rows], atol=1e-5, rtol=1e-5)
    (g_read,) = torch.autograd.grad((read_out[:, :, rows] * w).sum(), joint)
    (g_dense,) = torch.autograd.grad((dense_out[:, :, rows] * w).sum(), joint)
    torch.testing.assert_close(g_read * joint, g_dense * joint, atol=1e-5, rtol=1e-5)


def test_temporal_factor_reads_back_exactly_and_has_the_joint_gradient():
    prefix = 2
    p = _probs(B * HW, H, T, T, seed=0)
    joint = embed_temporal(p, B, T, HW, prefix).requires_grad_(True)
    used = read_temporal(joint, B, T, HW, prefix)
    assert torch.equal(used, p)
    v = torch.randn(B * HW, H, T, D)  # position p's values over frames
    out = (used @ v).reshape(B, HW, H, T, D).permute(0, 2, 3, 1, 4).reshape(B, H, T * HW, D)
    v_joint = torch.zeros(B, H, prefix + T * HW, D)
    v_joint[:, :, prefix:] = v.reshape(B, HW, H, T, D).permute(0, 2, 3, 1, 4).reshape(B, H, T * HW, D)
    read_out = torch.cat([torch.zeros(B, H, prefix, D), out], 2)
    _check_joint_gradient(joint, read_out, joint @ v_joint, slice(prefix, None))


@pytest.mark.parametrize("with_global", [True, False])
def test_frame_factor_with_a_shared_global_token(with_global):
    """The global token keeps the mean of its per-frame outputs: its joint row is the mean of the frame rows."""
    n_f = 1  # one frame token per frame
    g = int(with_global)
    length = g + n_f + HW
    n = 1 + T * n_f + T * HW
    t = torch.arange(T)[:, None]
    index = torch.cat([1 + t * n_f + torch.arange(n_f), 1 + T * n_f + t * HW + torch.arange(HW)], 1)
    p = _probs(B * T, H, length, length, seed=1)
    joint = embed_frames(p, B, index, n, with_global).requires_grad_(True)
    used = read_frames(joint, index, with_global)
    assert torch.equal(used[:, :, g:], p[:, :, g:])  # every non-global row is read back as it was
    v_joint = torch.randn(B, H, n, D)
    cols = torch.cat([torch.zeros(T, g, dtype=torch.long), index], 1)  # frame t's sequence, joint indices
    v_seq = v_joint[:, :, cols].permute(0, 2, 1, 3, 4).reshape(B * T, H, length, D)
    out = (used @ v_seq).reshape(B, T, H, length, D)
    read_out = torch.zeros(B, H, n, D)
    read_out[:, :, index.flatten()] = out[:, :, :, g:].permute(0, 2, 1, 3, 4).reshape(B, H, -1, D)
    rows = index.flatten()
    if with_global:
        read_out[:, :, 0] = out[:, :, :, 0].mean(1)
        rows = torch.cat([torch.zeros(1, dtype=torch.long), rows])
    _check_joint_gradient(joint, read_out, joint @ v_joint, rows)


def test_subset_factor_reads_back_exactly():
    index = torch.tensor([0, 2, 3])
    p = _probs(B, H, 3, 3, seed=2)
    joint = embed_subset(p, index, 6).requires_grad_(True)
    assert torch.equal(read_subset(joint, index), p)
    v_joint = torch.randn(B, H, 6, D)
    read_out = torch.zeros(B, H, 6, D)
    read_out[:, :, index] = read_subset(joint, index) @ v_joint[:, :, index]
    _check_joint_gradient(joint, read_out, joint @ v_joint, index)


def _models():
    root = bundled_checkpoints_root()
    for key in BUNDLED_KEYS:
        yield key, (lambda key=key: load_checkpoint(root / key).eval(), (2, 8, 3, 64, 64))
    for name in CLIP_VARIANTS:
        yield f"clip/{name}", (lambda name=name: make_clip(name), (2, 4, 3, 32, 32))


MODELS = dict(_models())


@pytest.mark.parametrize("name", MODELS)
def test_model_attention_is_in_the_graph(name):
    build, shape = MODELS[name]
    model = build()
    video = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
    fast_in = video.clone().requires_grad_(True)
    fast = model(fast_in)
    fast[:, 0].sum().backward()
    slow_in = video.clone().requires_grad_(True)
    slow, attn = model.forward_with_attention(slow_in)
    torch.testing.assert_close(slow, fast, atol=1e-4, rtol=1e-4)
    layout = model.token_layout
    assert all(a.shape[-1] == layout.num_tokens for a in attn)
    for a in attn:
        torch.testing.assert_close(a.sum(-1), torch.ones_like(a.sum(-1)), atol=1e-5, rtol=0)
    grads = torch.autograd.grad(slow[:, 0].sum(), attn + [slow_in])
    # back-propagating through the read-back attention gives the fast path's input gradient
    torch.testing.assert_close(grads[-1], fast_in.grad, atol=1e-5, rtol=1e-3)
    assert sum((g * a).detach().abs().sum().item() for g, a in zip(grads[:-1], attn)) > 0


@pytest.mark.parametrize("name", [k for k in MODELS if not k.startswith("clip/")])
def test_grad_rollout_runs_on_the_demo_models_and_is_class_specific(name):
    build, shape = MODELS[name]
    model = build()
    video = torch.randn(*shape, generator=torch.Generator().manual_seed(4))
    explainer = GradRollout(model)
    labels = torch.tensor([0, 0])
    maps = [explainer.explain(video, labels + k, "true").relevance for k in (0, 1)]
    assert maps[0].shape == (2, 8, 8, 8)
    assert (maps[0] >= 0).all() and maps[0].sum() > 0
    assert not torch.allclose(maps[0], maps[1])
