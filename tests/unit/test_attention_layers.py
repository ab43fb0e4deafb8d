"""``attention_layers`` keeps the prompt-tuning families' per-frame attention as blocks; nothing an explainer
computes from it differs from the dense joint matrices of ``forward_with_attention``.

Every prompt-tuning variant (mean / max / attention pooling, visual prompts kept or dropped, stt): the same
logits, each layer's dense form equal to the joint matrix, heads fused in block form equal to fusing the joint
matrix, gradients with respect to the blocks giving grad-rollout's relevance exactly, and the explainers' maps
the maps of the dense computation.
"""

from __future__ import annotations

import pytest
import torch

from tests.unit.test_models_clip import VARIANTS, make
from videoxai.explain.grad_rollout import GradRollout, gradient_rollout
from videoxai.explain.rollout import AttentionRollout, RolloutAccumulator, fuse_heads, fused_layer
from videoxai.models.attention import AttentionLayer
from videoxai.models.base import VideoClassifier


@pytest.fixture(scope="module")
def video() -> torch.Tensor:
    return torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(5))


@pytest.mark.parametrize("name", VARIANTS)
def test_blocks_are_the_joint_matrices(name, video):
    model = make(name)
    with torch.no_grad():
        dense_logits, dense = model.forward_with_attention(video)
        logits, layers = model.attention_layers(video)
    torch.testing.assert_close(logits, dense_logits, atol=0, rtol=0)
    assert len(layers) == len(dense) and all(layer.blocks for layer in layers)
    for layer, joint in zip(layers, dense, strict=True):
        assert layer.probs.numel() < joint.numel()  # blocks, not the joint matrix
        assert torch.equal(layer.dense(), joint)
        for how in ("mean", "max", "min"):
            torch.testing.assert_close(fused_layer(layer, how), fuse_heads(joint, how), atol=1e-7, rtol=0)


@pytest.mark.parametrize("name", VARIANTS)
def test_gradients_of_the_blocks_give_the_dense_relevance(name, video):
    model = make(name).requires_grad_(False)
    x = video.clone().requires_grad_(True)
    logits, dense = model.forward_with_attention(x)
    dense_grads = torch.autograd.grad(logits[:, 1].sum(), dense)
    logits, layers = model.attention_layers(x)
    block_grads = torch.autograd.grad(logits[:, 1].sum(), [layer.probs for layer in layers])
    for layer, g, joint, dg in zip(layers, block_grads, dense, dense_grads, strict=True):
        weighted = (g * layer.probs.detach()).clamp_min(0).mean(1, keepdim=True)
        torch.testing.assert_close(
            layer.embed(weighted, 0.0)[:, 0], (dg * joint.detach()).clamp_min(0).mean(1), atol=1e-7, rtol=0
        )
    torch.testing.assert_close(
        gradient_rollout(layers, list(block_grads)),
        gradient_rollout([a.detach() for a in dense], list(dense_grads)),
        atol=1e-6,
        rtol=1e-5,
    )


class DenseOnly(VideoClassifier):
    """The same model seen through ``forward_with_attention`` alone (the default ``attention_layers``)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.class_names = inner.class_names
        self.input_spec = inner.input_spec
        self.batch_independent = inner.batch_independent

    def forward(self, video):
        return self.inner(video)

    def forward_with_attention(self, video):
        return self.inner.forward_with_attention(video)

    @property
    def token_layout(self):
        return self.inner.token_layout


@pytest.mark.parametrize("name", ["video_coop_attention", "dual_coop_first", "stt"])
@pytest.mark.parametrize("method", [AttentionRollout, GradRollout])
def test_maps_equal_those_of_the_dense_matrices(name, method, video):
    model = make(name)
    dense = DenseOnly(model)
    assert not any(layer.blocks for layer in dense.attention_layers(video)[1])
    labels = torch.tensor([0, 1])
    a = method(model).explain(video, labels, "true")
    b = method(dense).explain(video, labels, "true")
    torch.testing.assert_close(a.relevance, b.relevance, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(a.logits, b.logits, atol=1e-6, rtol=1e-6)


def test_a_dense_layer_is_its_own_embedding():
    a = torch.rand(2, 3, 5, 5).softmax(-1)
    layer = AttentionLayer(a)
    assert not layer.blocks and layer.dense() is a and layer.embed(a * 2, 0.0) is not None
    acc, ref = RolloutAccumulator(), RolloutAccumulator()
    acc.update_layer(layer)
    ref.update(a)
    assert torch.equal(acc.result, ref.result)


def test_gradient_explainers_explain_each_clip_on_its_own(video):
    """A clip's map does not depend on the clips batched with it (each clip's graph is built and freed alone);
    for stt, whose logits depend on the batch, the whole batch is explained together."""
    model = make("video_coop_attention")
    labels = torch.tensor([0, 1])
    both = GradRollout(model).explain(video, labels, "true").relevance
    first = GradRollout(model).explain(video[:1], labels[:1], "true").relevance
    assert torch.equal(both[:1], first)
    stt = make("stt")
    assert not stt.batch_independent
    with torch.no_grad():
        batched = stt(video)
    torch.testing.assert_close(GradRollout(stt).explain(video, labels, "true").logits, batched, atol=1e-5, rtol=1e-5)
