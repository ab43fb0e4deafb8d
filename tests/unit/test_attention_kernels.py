"""The fused and the explicit attention kernel give prompt-tuning's golden numbers (float32, within 1e-5).

Every case of both fixture sets runs under each kernel of
:mod:`videoxai.models.kernels`, and every tensor the golden-fixture tests
compare is compared here too (their own comparison code, imported). The
explainers' attention paths (rollout, per-frame, summary attention) are
explicit under either kernel: their probabilities are checked unchanged.
"""

from __future__ import annotations

import pytest
import torch

from tests.unit import test_prompt_tuning_families as families
from tests.unit import test_prompt_tuning_models as models
from videoxai.models.families.prompt_tuning import layers
from videoxai.models.kernels import KERNELS, attention_kernel, use_attention_kernel

clip = models.clip
inputs = models.inputs
class_names = models.class_names


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("key", models.CASES)
def test_the_three_families_equal_prompt_tuning_under_every_kernel(kernel, key, fixtures, clip, inputs, class_names):
    with use_attention_kernel(kernel):
        assert attention_kernel() == kernel
        models.test_logits_and_features_equal_prompt_tuning(key, fixtures, clip, inputs, class_names)
        models.test_handcrafted_prompts_equal_prompt_tuning(key, fixtures, clip, inputs, class_names)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("key", families.CASES)
def test_vidop_vilt_vita_equal_prompt_tuning_under_every_kernel(kernel, key, families_fixtures):
    """Every tensor of the case within 1e-5, relative to the tensor's largest value where that passes 1.

    The relative part matters for vilt only: its logits (unnormalised text
    features) reach 79, where float32's spacing is 7.6e-6, so 1e-5 absolute
    is one rounding; the explicit kernel sums in another order and ends
    8.8e-5 (1.1e-6 relative) from the golden logits, which the fused kernel
    (prompt-tuning's own, transformers' sdpa) matches exactly.
    """
    fx = families_fixtures
    clip = families.fixture_clip(fx)
    inputs = families.load_file(str(fx / "cases" / "input_video.safetensors"))
    names = families.json.loads((fx / "cases" / "class_names.json").read_text())
    model = families.build(fx, key, names, clip)
    want = families.golden(fx, key)
    with use_attention_kernel(kernel), torch.no_grad():
        got = families.reproduced(model, inputs["input_video"], inputs["video_mask"], names)
    assert set(want) <= set(got), f"tensors not compared: {sorted(set(want) - set(got))}"
    for name, w in want.items():
        g = got[name]
        assert tuple(g.shape) == tuple(w.shape), name
        if not w.is_floating_point():
            assert torch.equal(g.to(w.dtype), w), name
            continue
        tol = families.ATOL * max(1.0, w.abs().max().item())
        diff = (g.float() - w.float()).abs().max().item()
        assert diff <= tol, f"{name} under {kernel}: max |diff| {diff:.3g} > {tol:.3g}"


@pytest.mark.parametrize("key", models.CASES)
def test_the_kernels_agree_and_the_attention_paths_stay_explicit(key, fixtures, clip, inputs, class_names):
    model = models.build(fixtures, key, class_names, clip)
    video = inputs["input_video"]
    out = {}
    for kernel in KERNELS:
        with use_attention_kernel(kernel), torch.no_grad():
            logits, attn = model.forward_with_attention(video[:, 0])
            out[kernel] = (model(video), logits, attn, model.per_frame_attentions(video[:, 0]))
    (f_sdpa, l_sdpa, a_sdpa, p_sdpa), (f_eager, l_eager, a_eager, p_eager) = out["sdpa"], out["eager"]
    # within 1e-5 relative to the logits' size (each kernel is within 1e-5 of the golden logits, so 2e-5 apart
    # at most in absolute terms); stt's clip-dependent text layers take the kernel on the attention path too
    assert (f_sdpa - f_eager).abs().max() <= 1e-5 * max(1.0, f_sdpa.abs().max().item())
    assert (l_sdpa - l_eager).abs().max() <= 1e-5 * max(1.0, l_sdpa.abs().max().item())
    # the attentions an explainer reads are explicit whatever the kernel: the same numbers
    assert all(torch.equal(a, b) for a, b in zip(a_sdpa, a_eager, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(p_sdpa, p_eager, strict=True))


def test_the_eager_kernel_returns_no_probabilities_unless_asked():
    attn = torch.nn.Module()
    attn.num_heads, attn.scale = 2, 0.5
    attn.q_proj, attn.k_proj, attn.v_proj, attn.out_proj = (torch.nn.Linear(8, 8) for _ in range(4))
    x = torch.randn(3, 5, 8)
    with use_attention_kernel("eager"):
        out_eager, probs = layers.attention(attn, x)
    assert probs is None
    out_fused, _ = layers.attention(attn, x)
    assert (out_eager - out_fused).abs().max() <= 1e-6


def test_an_unknown_kernel_is_named(monkeypatch):
    with pytest.raises(ValueError, match="'flash' is not one of sdpa, eager"):
        with use_attention_kernel("flash"):
            pass
    monkeypatch.setenv("VIDEOXAI_ATTENTION_KERNEL", "flash")
    with pytest.raises(ValueError, match="VIDEOXAI_ATTENTION_KERNEL"):
        attention_kernel()
    monkeypatch.setenv("VIDEOXAI_ATTENTION_KERNEL", "eager")
    assert attention_kernel() == "eager"
