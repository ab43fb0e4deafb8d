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


def test_frozen_parameters_serve_the_cache_under_autograd_and_are_restored():
    """The explain stage freezes the model: gradient explainers then reuse the text features (no 0.5 GB text graph
    for 101 classes) and their gradients with respect to the input are unchanged; the flags come back after."""
    from videoxai.models.frozen_cache import frozen_parameters

    model = make("video_coop_attention")
    flags = [p.requires_grad for p in model.parameters()]
    x = _clip(2).requires_grad_(True)
    (reference,) = torch.autograd.grad(model(x)[:, 1].sum(), x)
    calls = []
    compute = model.raw_text_features
    model.raw_text_features = lambda: calls.append(1) or compute()
    with frozen_parameters(model), torch.enable_grad():
        (first,) = torch.autograd.grad(model(x)[:, 1].sum(), x)
        (second,) = torch.autograd.grad(model(x)[:, 1].sum(), x)
        assert not model.text_features().requires_grad
    assert len(calls) == 1
    torch.testing.assert_close(first, reference, atol=0, rtol=0)
    torch.testing.assert_close(second, reference, atol=0, rtol=0)
    assert [p.requires_grad for p in model.parameters()] == flags


def test_text_features_follow_the_autocast_and_the_weights_dtype():
    """float32 text features are not served to a bfloat16 forward, nor bfloat16 ones to float32 (one job, one
    precision; a benchmark or a notebook runs several)."""
    from videoxai.setup.device import autocast, precision_weights

    model = make("video_coop_mean")
    calls = []
    compute = model.raw_text_features
    model.raw_text_features = lambda: calls.append(1) or compute()
    cpu = torch.device("cpu")
    with torch.no_grad():
        model(_clip(0))
        with autocast(cpu, "bfloat16"):
            model(_clip(0))
            model(_clip(0))
            with precision_weights(model, "bfloat16"):
                model(_clip(0))
        full = model(_clip(0))
    assert len(calls) == 4  # float32, autocast (once), cast weights, float32 again
    torch.testing.assert_close(full, make("video_coop_mean")(_clip(0)), rtol=0, atol=0)
