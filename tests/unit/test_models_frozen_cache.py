"""CLIP families reuse their text features across inference batches, and never serve stale ones."""

from __future__ import annotations

import torch

from tests.unit.test_models_clip import make

STEP = torch.randn(4, 32, generator=torch.Generator().manual_seed(7))  # (n_ctx, text width)


def _clip(seed: int) -> torch.Tensor:
    return torch.randn(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_text_features_are_computed_once_at_inference():
    model = make("video_coop_mean")
    calls = []
    compute = model.raw_text_features
    model.raw_text_features = lambda: calls.append(1) or compute()  # count the real computations
    with torch.no_grad():
        a = model(_clip(0))
        b = model(_clip(1))
    assert len(calls) == 1
    with torch.no_grad():
        fresh = make("video_coop_mean")(_clip(1))
    torch.testing.assert_close(b, fresh)
    assert not torch.equal(a, b)


def test_new_weights_class_names_training_and_gradients_recompute():
    model = make("dual_coop")
    with torch.no_grad():
        before = model(_clip(0))
        model.context_learner.context_vectors_text.add_(STEP)  # an optimiser step changes the prompts in place
        after = model(_clip(0))
    assert not torch.allclose(before, after)
    other = make("dual_coop")
    with torch.no_grad():
        other.context_learner.context_vectors_text.add_(STEP)
        torch.testing.assert_close(after, other(_clip(0)))

    state = make("dual_coop").state_dict()
    model.load_state_dict(state)
    with torch.no_grad():
        torch.testing.assert_close(model(_clip(0)), before)

    model.set_class_names(["Grow", "MoveLeft"])
    with torch.no_grad():
        assert model(_clip(0)).shape == (2, 2)

    model.train()
    out = model(_clip(0))
    assert out.requires_grad  # training: a fresh graph through the text tower every time
    model.eval()
    with torch.enable_grad():
        logits = model(_clip(0))
    (grad,) = torch.autograd.grad(logits.sum(), model.context_learner.context_vectors_text)
    assert grad.abs().sum() > 0  # explanations with gradients never see a detached cache
