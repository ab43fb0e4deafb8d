"""``conventions: seed``: the origin's rollout variants and Grad-CAM against its golden maps (origin-fixtures/explain).

The fixture maps were captured from the origin's ``VideoExplainer`` (see the
fixtures' README). The attention-only tests rebuild every rollout map from the
stored per-layer attentions and need no model; Grad-CAM is rebuilt from the
stored ``layer_norm2`` activations and gradients.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import origin_fixtures
from videoxai.explain.seed import (
    SEED_ROLLOUTS,
    origin_maps,
    per_frame_max,
    seed_discard,
    seed_grad_cam,
    seed_rollout,
)

torch.set_num_threads(1)

TOL = 1e-5
ATTENTION_MODELS = ("video_coop__best-attention-0", "dual_coop__best-attention-1")
OPTIONS = {
    "default": {},
    "internal-head_fusion-max_discard_ratio-0.5": {"head_fusion": "max", "discard_ratio": 0.5},
}
B, V, T = 2, 3, 8


def _explain_dir() -> Path:
    return origin_fixtures() / "explain"


def _assert_maps(cam: torch.Tensor, importance: torch.Tensor, ref: dict[str, torch.Tensor]) -> None:
    assert cam.shape == ref["cam"].shape and importance.shape == ref["importance"].shape
    torch.testing.assert_close(cam, ref["cam"], atol=TOL, rtol=0, equal_nan=True)
    torch.testing.assert_close(importance, ref["importance"], atol=TOL, rtol=0, equal_nan=True)


@pytest.mark.parametrize("model", ATTENTION_MODELS)
@pytest.mark.parametrize("method", sorted(SEED_ROLLOUTS))
@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_rollout_variants_reproduce_the_origin_from_its_attentions(model: str, method: str, option: str) -> None:
    d = _explain_dir()
    attentions = load_file(d / f"{model}__attentions.safetensors")["attentions_L_BVT_heads_N_N"]
    ref = load_file(d / f"{model}__{method}__{option}.safetensors")
    cam, importance = origin_maps(seed_rollout(attentions, SEED_ROLLOUTS[method], **OPTIONS[option]), B, V, T)
    assert not torch.isnan(ref["cam"]).any()
    _assert_maps(cam, importance, ref)


@pytest.mark.parametrize("model", ATTENTION_MODELS)
def test_grad_cam_reproduces_the_origin_from_its_activations_and_gradients(model: str) -> None:
    ref = load_file(_explain_dir() / f"{model}__gradcam__class_idx-2.safetensors")
    act, grad = ref["activations_layer_norm2"], ref["gradients_layer_norm2"]
    cam, importance = origin_maps(seed_grad_cam(act, grad), B, V, T)
    _assert_maps(cam, importance, ref)
    # why every origin Grad-CAM map is NaN: the hooked layer's image tokens never reach the CLS output
    assert torch.all(grad[:, 1:] == 0) and torch.any(grad[:, 0] != 0)
    assert torch.isnan(ref["cam"]).all()


def test_the_order_of_the_product_matters_on_the_fixture_attentions() -> None:
    """Abnar & Zuidema's order (videoxai's standard) gives other maps than the origin's on the same attentions."""
    from videoxai.explain.rollout import rollout

    attentions = load_file(_explain_dir() / f"{ATTENTION_MODELS[0]}__attentions.safetensors")[
        "attentions_L_BVT_heads_N_N"
    ]
    seed = per_frame_max(seed_rollout(attentions, "full"), 1, 4, 4)
    standard = per_frame_max(rollout(list(attentions))[:, 0, 1:], 1, 4, 4)
    assert (seed - standard).abs().max() > 1e-3
    # reversing the layers turns one order into the other
    reversed_seed = per_frame_max(seed_rollout(attentions.flip(0), "full"), 1, 4, 4)
    torch.testing.assert_close(reversed_seed, standard, atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- the math, without fixtures


def test_discard_keeps_ties_and_ranks_the_whole_matrix() -> None:
    a = torch.tensor([[[0.1, 0.2], [0.2, 0.5]]])
    kept = seed_discard(a, 0.5)  # k = int(4 * 0.5) = 2 largest: 0.5 and 0.2 -> both 0.2 kept (ties)
    torch.testing.assert_close(kept, torch.tensor([[[0.0, 0.2], [0.2, 0.5]]]))
    row = torch.tensor([[0.4, 0.1, 0.3, 0.2]])
    torch.testing.assert_close(seed_discard(row, 0.5), torch.tensor([[0.4, 0.0, 0.3, 0.0]]))
    with pytest.raises(ValueError, match="discard-ratio"):
        seed_discard(row, 1.0)


def test_rollout_is_the_left_to_right_product_of_normalised_layers() -> None:
    g = torch.Generator().manual_seed(0)
    layers = [torch.rand(3, 2, 5, 5, generator=g).softmax(-1) for _ in range(3)]
    eye = torch.eye(5)
    hat = [(a.mean(1) + eye) / (a.mean(1) + eye).sum(-1, keepdim=True) for a in layers]
    expected = (hat[0] @ hat[1] @ hat[2])[:, 0, 1:]
    torch.testing.assert_close(seed_rollout(layers, "full"), expected)
    weighted = seed_rollout(layers, "cls_weighted")
    scale = torch.stack([a.mean(1)[:, 0, 1:].mean(1) for a in layers]).prod(0)
    torch.testing.assert_close(weighted, expected * scale[:, None])
    cls = seed_rollout(layers, "cls")
    torch.testing.assert_close(cls, torch.stack([a.mean(1)[:, 0, 1:] for a in layers]).prod(0), rtol=1e-5, atol=1e-12)
    # videoxai's use-cls-token: false keeps its meaning (mean of all rows) in the seed's order
    torch.testing.assert_close(seed_rollout(layers, "full", use_cls_token=False), (hat[0] @ hat[1] @ hat[2]).mean(1)[:, 1:])


def test_max_fusion_and_options_outside_the_origin_are_refused() -> None:
    a = torch.rand(1, 2, 3, 3).softmax(-1)
    torch.testing.assert_close(seed_rollout([a], "cls", "max"), a.max(1).values[:, 0, 1:], rtol=1e-5, atol=1e-9)
    with pytest.raises(ValueError, match="head-fusion under conventions: seed"):
        seed_rollout([a], "full", "min")
    with pytest.raises(ValueError, match="rollout_type"):
        seed_rollout([a], "sideways")


def test_per_frame_max_divides_each_frame_by_its_own_maximum() -> None:
    cam = torch.tensor([[1.0, 2.0, 3.0, 4.0, 0.5, 0.25, 0.0, 1.0]])
    out = per_frame_max(cam, 2, 2, 2)
    torch.testing.assert_close(out[0, 0].flatten(), torch.tensor([0.25, 0.5, 0.75, 1.0]))
    torch.testing.assert_close(out[0, 1].flatten(), torch.tensor([0.5, 0.25, 0.0, 1.0]))
    assert torch.isnan(per_frame_max(torch.zeros(1, 4), 1, 2, 2)).all()  # 0 / 0, as the origin


def test_seed_grad_cam_weights_tokens_not_channels() -> None:
    act = torch.tensor([[[9.0, 9.0], [1.0, 2.0], [3.0, -1.0]]])
    grad = torch.tensor([[[5.0, 5.0], [1.0, -3.0], [0.5, 0.5]]])
    torch.testing.assert_close(seed_grad_cam(act, grad), torch.tensor([[2.0 * 3.0, 0.5 * 2.0]]))
