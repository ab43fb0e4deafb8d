"""Explainers: rollout against Abnar & Zuidema's formula, Grad-CAM against the `grad-cam` package, grad-rollout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from videoxai.explain.base import finalise, normalise_per_clip, temporal_importance, upsample_time
from videoxai.explain.grad_rollout import gradient_rollout
from videoxai.explain.gradcam import ZeroGradientError
from videoxai.explain.methods import ALL_METHODS, effective_options, make_explainer
from videoxai.explain.rollout import discard_lowest, rollout
from videoxai.models.base import GradCamTarget, InputSpec, TokenLayout, VideoClassifier

torch.set_num_threads(1)


# --------------------------------------------------------------------------- a tiny joint space-time ViT


class _Block(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))
        self.heads = heads

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        probs = torch.softmax(q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5, dim=-1)
        x = x + self.proj((probs @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x)), probs


class TinyViT(VideoClassifier):
    """Joint space-time attention over CLS + T*g*g patch tokens; the CLS token alone leaves the encoder."""

    def __init__(self, frames: int = 4, size: int = 16, patch: int = 4, width: int = 16, layers: int = 2, k: int = 3):
        super().__init__()
        self.class_names = [f"c{i}" for i in range(k)]
        self.input_spec = InputSpec(num_frames=frames, size=size)
        self.grid = size // patch
        self.frames = frames
        self.embed = nn.Conv2d(3, width, patch, stride=patch)
        self.cls = nn.Parameter(torch.randn(1, 1, width))
        self.pos = nn.Parameter(torch.randn(1, 1 + frames * self.grid**2, width) * 0.5)
        self.blocks = nn.ModuleList(_Block(width, 2) for _ in range(layers))
        self.head = nn.Linear(width, k)

    def _run(self, video: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b = video.shape[0]
        x = self.embed(video.flatten(0, 1)).flatten(2).transpose(1, 2).reshape(b, -1, self.cls.shape[-1])
        x = torch.cat([self.cls.expand(b, 1, -1), x], 1) + self.pos
        attn = []
        for blk in self.blocks:
            x, p = blk(x)
            attn.append(p)
        return self.head(x[:, 0]), attn

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self._run(video)[0]

    def forward_with_attention(self, video: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self._run(video)

    @property
    def token_layout(self) -> TokenLayout:
        return TokenLayout(num_prefix=1, frames=self.frames, height=self.grid, width=self.grid)

    def to_grid(self, a: torch.Tensor) -> torch.Tensor:
        return a[:, 1:].reshape(a.shape[0], self.frames, self.grid, self.grid, -1).permute(0, 4, 1, 2, 3)

    def gradcam_target(self) -> GradCamTarget:
        return GradCamTarget(self.blocks[-1].norm1, self.to_grid)


class DetachedAttentionViT(TinyViT):
    """Returns copies of its attention made after the fact (as many adapters do): grad-rollout must say so."""

    def forward_with_attention(self, video: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        logits, attn = self._run(video)
        return logits, [a.detach().clone() for a in attn]


@pytest.fixture(scope="module")
def vit() -> TinyViT:
    torch.manual_seed(0)
    return TinyViT().eval()


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    return torch.randn(2, 4, 3, 16, 16, generator=torch.Generator().manual_seed(1))


# --------------------------------------------------------------------------- rollout


def _abnar_zuidema(attentions: list[np.ndarray]) -> np.ndarray:
    """Direct transcription of Abnar & Zuidema (2020): Â = 0.5 W_att + 0.5 I, Ã_l = Â_l Ã_{l-1}."""
    result = None
    for a in attentions:
        w = a.mean(axis=0)  # average over heads
        w_hat = 0.5 * w + 0.5 * np.eye(w.shape[0])
        result = w_hat if result is None else w_hat @ result
    return result


def _hand_attention(rng: np.random.Generator, heads: int, n: int) -> np.ndarray:
    logits = rng.normal(size=(heads, n, n)) * 2
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_rollout_matches_abnar_zuidema_on_a_hand_made_two_layer_example():
    # 1 CLS + 2 frames x 1 x 2 patches = 5 tokens, 2 heads, 2 layers
    rng = np.random.default_rng(3)
    layers = [_hand_attention(rng, 2, 5) for _ in range(2)]
    ours = rollout([torch.from_numpy(a[None]).double() for a in layers], head_fusion="mean")
    # rollout() folds in float32 (as on the device); the formula is exact up to float32 rounding
    np.testing.assert_allclose(ours[0].numpy(), _abnar_zuidema(layers), rtol=0, atol=1e-6)
    # and a fully hand-computed entry: layer 1 uniform, layer 2 identity attention
    uniform = np.full((1, 5, 5), 0.2)
    eye = np.eye(5)[None]
    r = rollout([torch.tensor(uniform[None]), torch.tensor(eye[None])])[0].numpy()
    # Â1 = 0.5*0.2 + 0.5*I -> diag 0.6, off 0.1; Â2 = I; product = Â1
    np.testing.assert_allclose(r, 0.1 + 0.5 * np.eye(5), atol=1e-7)


def test_rollout_head_fusion_max_min_fuse_before_the_identity():
    rng = np.random.default_rng(4)
    a = _hand_attention(rng, 3, 5)
    for how, fuse in (("max", np.max), ("min", np.min)):
        w = fuse(a, axis=0) + np.eye(5)
        w = w / w.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(rollout([torch.from_numpy(a[None])], head_fusion=how)[0].numpy(), w, atol=1e-6)


def test_discard_ratio_never_zeroes_the_cls_row_or_column():
    a = torch.full((1, 5, 5), 1e-4)
    a[0, 0, :] = 1e-9  # the CLS row and column are the weakest entries of all
    a[0, :, 0] = 1e-9
    out = discard_lowest(a, 0.5, cls_index=0)
    assert torch.all(out[0, 0, :] > 0) and torch.all(out[0, :, 0] > 0)
    assert int((out[0, 1:, 1:] == 0).sum()) == 8  # half of the 16 patch-to-patch entries
    with pytest.raises(ValueError, match="discard-ratio"):
        discard_lowest(a, 1.0)


def test_attention_rollout_map_is_the_cls_row_or_the_row_mean(vit, clip):
    logits, attn = vit.forward_with_attention(clip)
    full = rollout(attn)
    cls_map = make_explainer("attention-rollout", vit, {"use-cls-token": True}).explain(clip, None, "predicted")
    all_map = make_explainer("attention-rollout", vit, {"use_cls_token": False}).explain(clip, None, "predicted")
    torch.testing.assert_close(cls_map.relevance, full[:, 0, 1:].reshape(2, 4, 4, 4))
    torch.testing.assert_close(all_map.relevance, full.mean(dim=1)[:, 1:].reshape(2, 4, 4, 4))
    assert torch.equal(cls_map.targets, logits.argmax(1))


def test_cls_variants_follow_their_definitions(vit, clip):
    _, attn = vit.forward_with_attention(clip)
    rows = [a.mean(1)[:, 0, 1:] for a in attn]
    product = rows[0] * rows[1]  # the log-space sum is a product of per-layer CLS rows
    cls = make_explainer("attention-rollout-cls", vit, {"eps": 0.0}).explain(clip, None, "predicted").relevance
    torch.testing.assert_close(cls.flatten(1), product / product.amax(1, keepdim=True))
    weighted = make_explainer("attention-rollout-cls-weighted", vit).explain(clip, None, "predicted").relevance
    expect = rollout(attn)[:, 0, 1:] * (rows[0] + rows[1]) / 2
    torch.testing.assert_close(weighted.flatten(1), expect)


def test_cls_variant_skips_layers_where_cls_attends_only_to_itself(vit, clip):
    """Divided space-time models embed temporal attention with an identity CLS row: it must not zero the map."""
    _, attn = vit.forward_with_attention(clip)
    identity_cls = attn[0].clone()
    identity_cls[:, :, 0, :] = 0
    identity_cls[:, :, 0, 0] = 1

    class WithIdentityLayer(TinyViT):
        def forward_with_attention(self, video):
            logits, a = self._run(video)
            return logits, [identity_cls, a[1]]

    m = WithIdentityLayer()
    m.load_state_dict(vit.state_dict())
    rel = make_explainer("attention-rollout-cls", m.eval()).explain(clip, None, "predicted").relevance.flatten(1)
    row = attn[1].mean(1)[:, 0, 1:]
    torch.testing.assert_close(rel, (row + 1e-6) / (row + 1e-6).amax(1, keepdim=True))


# --------------------------------------------------------------------------- shared post-processing


@pytest.mark.parametrize("method", sorted(ALL_METHODS))
def test_every_method_gives_maps_in_unit_range_on_the_frame_grid(vit, clip, method):
    expl = make_explainer(method, vit).explain(clip, torch.tensor([0, 2]), "true")
    assert expl.relevance.shape == (2, 4, 4, 4)
    assert torch.all(expl.relevance >= 0)
    assert expl.targets.tolist() == [0, 2]
    maps, ti, probs = finalise(expl, weighted_by_predictions=False)
    assert maps.shape == (2, 4, 4, 4) and float(maps.min()) == 0.0 and float(maps.max()) == 1.0
    torch.testing.assert_close(ti.sum(1), torch.ones(2))
    weighted, _, _ = finalise(expl, weighted_by_predictions=True)
    p = probs[torch.arange(2), expl.targets]
    torch.testing.assert_close(weighted.flatten(1).amax(1), p)


def test_normalisation_is_per_clip_and_constant_maps_become_zero():
    r = torch.stack([torch.arange(8.0).reshape(2, 2, 2), torch.full((2, 2, 2), 3.0)])
    out = normalise_per_clip(r)
    torch.testing.assert_close(out[0], r[0] / 7)
    assert torch.equal(out[1], torch.zeros(2, 2, 2))


def test_temporal_importance_is_low_where_the_object_is_absent():
    """A blinking object: frames 2, 3, 6 hide it, and the map there is only the uniform floor."""
    from videoxai.demo.dataset import make_clip

    _, mask = make_clip(7, np.random.default_rng(5), 8, 64)  # class 7 = Blink
    visible = mask.any(axis=(1, 2))
    assert visible.any() and not visible.all()
    floor = 0.3
    relevance = torch.from_numpy(floor + mask.astype(np.float32))[None]  # peaked on the object, flat elsewhere
    ti = temporal_importance(relevance)[0].numpy()
    assert ti[~visible].max() < ti[visible].min()
    assert ti[~visible].max() == pytest.approx(0.0, abs=1e-6)
    # the plain per-frame mass would barely separate the two: a large shared floor dominates it
    mass = relevance[0].sum(dim=(1, 2)).numpy() / relevance.sum().item()
    assert mass[visible].mean() / mass[~visible].mean() < 1.2
    assert temporal_importance(torch.ones(1, 4, 2, 2)).tolist() == [[0.25] * 4]


def test_options_are_checked_with_the_key_named(vit):
    with pytest.raises(ValueError, match="head-fusion"):
        make_explainer("attention-rollout", vit, {"head-fusion": "median"})
    with pytest.raises(ValueError, match="target-class"):
        effective_options("grad-cam", {"target-class": "best"})
    with pytest.raises(ValueError, match="unknown explainer-method 'lime'"):
        make_explainer("lime", vit)
    # options of other methods and stages are ignored, not errors: the workflow passes one dict to all
    assert effective_options("grad-cam", {"head-fusion": "max", "split": "test"}) == {
        "target-class": "predicted",
        "weighted-by-predictions": False,
    }


# --------------------------------------------------------------------------- Grad-CAM


class R3D(VideoClassifier):
    """torchvision r3d_18 (random weights) behind the adapter interface: (B, T, C, H, W) in."""

    def __init__(self, layer: str = "layer3"):
        super().__init__()
        from torchvision.models.video import r3d_18

        self.net = r3d_18(weights=None, num_classes=5)
        self.layer = layer
        self.class_names = [f"c{i}" for i in range(5)]
        self.input_spec = InputSpec(num_frames=8, size=64)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.net(video.transpose(1, 2))

    def gradcam_target(self) -> GradCamTarget:
        return GradCamTarget(getattr(self.net, self.layer))


@pytest.fixture(scope="module")
def r3d() -> R3D:
    torch.manual_seed(0)
    return R3D().eval()


@pytest.mark.parametrize("layer", ["layer1", "layer3"])
def test_gradcam_on_r3d_18_matches_the_grad_cam_package(r3d, layer):
    """Reference: the `grad-cam` package's GradCAM (pytorch_grad_cam) on the same layer, input and classes.

    Compared on the feature grid, where Grad-CAM is defined (the package's
    own ``get_cam_image`` on the activations and gradients it captured), and
    at full resolution after the package's resizing (a corner-aligned cubic
    spline, clipped at 0 and re-scaled) applied to our map.
    """
    from pytorch_grad_cam import GradCAM as ReferenceGradCAM
    from pytorch_grad_cam.utils.image import scale_cam_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    r3d.layer = layer
    video = torch.randn(2, 8, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    ours = make_explainer("grad-cam", r3d).explain(video, torch.tensor([1, 3]), "true").relevance
    t_grid, grid = {"layer1": (8, 32), "layer3": (2, 8)}[layer]
    assert ours.shape == (2, 8, grid, grid)  # layer3 pools time to T' = 2, stretched back to 8 frames
    reference = ReferenceGradCAM(r3d.net, target_layers=[getattr(r3d.net, layer)])
    try:
        ref = reference(video.transpose(1, 2), targets=[ClassifierOutputTarget(1), ClassifierOutputTarget(3)])
        acts = reference.activations_and_grads.activations[0].numpy()
        grads = reference.activations_and_grads.gradients[0].numpy()
    finally:
        reference.activations_and_grads.release()
    ref_grid = np.maximum(reference.get_cam_image(None, None, None, acts, grads), 0)
    assert ref_grid.shape == (2, t_grid, grid, grid) and ref.shape == (2, 8, 64, 64)
    ref_grid = upsample_time(torch.from_numpy(ref_grid), 8).numpy()
    for i in range(2):
        r = np.corrcoef(ours[i].flatten().numpy(), ref_grid[i].ravel())[0, 1]
        assert r >= 0.99, f"clip {i}: Pearson {r:.4f} with the grad-cam package on the feature grid"
        if layer == "layer1":  # no resampling in time: the package's full-resolution output is comparable
            resized = scale_cam_image(np.maximum(scale_cam_image(ours[i : i + 1].numpy(), (64, 64, 8)), 0))[0]
            r = np.corrcoef(resized.ravel(), ref[i].ravel())[0, 1]
            assert r >= 0.99, f"clip {i}: Pearson {r:.4f} with the grad-cam package at full resolution"


def test_time_upsampling_keeps_constant_maps_and_frame_order():
    one = torch.rand(1, 1, 3, 3)
    torch.testing.assert_close(upsample_time(one, 8), one.expand(1, 8, 3, 3))
    ramp = torch.arange(4.0).view(1, 4, 1, 1).expand(1, 4, 2, 2)
    up = upsample_time(ramp, 8)[0, :, 0, 0]
    assert torch.all(up[1:] >= up[:-1]) and up[0] == 0 and up[-1] == 3


def test_gradcam_token_layer_gets_gradient_and_the_last_block_output_none(vit, clip):
    """Only CLS leaves the encoder, so image tokens at the last block's output get exactly zero gradient."""
    expl = make_explainer("grad-cam", vit).explain(clip, None, "predicted")
    assert float(expl.relevance.sum()) > 0

    class LastOutput(TinyViT):
        def gradcam_target(self):
            last = self.blocks[-1]
            return GradCamTarget(last.mlp, self.to_grid)  # the block's output is x + mlp(...)

    m = LastOutput()
    m.load_state_dict(vit.state_dict())
    with pytest.raises(ZeroGradientError, match="zero gradient"):
        make_explainer("grad-cam", m.eval()).explain(clip, None, "predicted")


# --------------------------------------------------------------------------- gradient-weighted rollout


def test_gradient_rollout_matches_chefer_rule_by_hand():
    rng = np.random.default_rng(6)
    a = [torch.from_numpy(_hand_attention(rng, 2, 4)[None]) for _ in range(2)]
    g = [torch.from_numpy(rng.normal(size=(1, 2, 4, 4))) for _ in range(2)]
    r = np.eye(4)
    for al, gl in zip(a, g, strict=True):
        cam = np.clip(al[0].numpy() * gl[0].numpy(), 0, None).mean(axis=0)
        r = r + cam @ r
    np.testing.assert_allclose(gradient_rollout(a, g)[0].numpy(), r, atol=1e-6)


def test_grad_rollout_is_class_specific(vit, clip):
    e = make_explainer("grad-rollout", vit)
    m0 = e.explain(clip, torch.tensor([0, 0]), "true").relevance
    m1 = e.explain(clip, torch.tensor([1, 1]), "true").relevance
    assert not torch.allclose(m0, m1)


def test_grad_rollout_says_when_attention_is_not_in_the_graph(vit, clip):
    m = DetachedAttentionViT()
    m.load_state_dict(vit.state_dict())
    with pytest.raises(RuntimeError, match="not part of the forward graph"):
        make_explainer("grad-rollout", m.eval()).explain(clip, None, "predicted")


def test_attention_methods_refuse_a_cnn_with_a_clear_message(r3d):
    with pytest.raises(ValueError, match="use 'grad-cam'"):
        make_explainer("attention-rollout", r3d)


def test_cls_variants_refuse_a_model_whose_cls_never_attends_to_patches(vit, clip):
    """E.g. summary-token models (stt): CLS reads frame tokens, never patches; a constant map would be a lie."""

    class Indirect(TinyViT):
        def forward_with_attention(self, video):
            logits, attn = self._run(video)
            out = []
            for a in attn:
                a = a.clone()
                a[:, :, 0, :] = 0
                a[:, :, 0, 0] = 1
                out.append(a)
            return logits, out

    m = Indirect()
    m.load_state_dict(vit.state_dict())
    for method in ("attention-rollout-cls", "attention-rollout-cls-weighted"):
        with pytest.raises(ValueError, match="never attends to image tokens directly"):
            make_explainer(method, m.eval()).explain(clip, None, "predicted")
