"""Occlusion and RISE (issue #31): a planted signal found, invariances, their forward counts, any model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videoxai.explain.methods import make_explainer
from videoxai.explain.perturbation_budget import masked_forwards, starts
from videoxai.explain.rise import draw_masks, rise_masks
from videoxai.models.base import InputSpec, VideoClassifier

torch.set_num_threads(1)

T, S = 8, 32
REGION = (slice(2, 4), slice(8, 16), slice(16, 24))  # frames 2-3, rows 8-15, columns 16-23: the evidence


class PlantedModel(VideoClassifier):
    """Class 0's logit is the mean of channel 0 inside REGION, times 20; class 1's is 0. No attention, no layers
    to hook: a stand-in for any model (custom, 3-D CNN) that only gives logits. Counts its forwards."""

    batch_independent = True

    def __init__(self) -> None:
        super().__init__()
        self.class_names = ["planted", "other"]
        self.input_spec = InputSpec(num_frames=T, size=S)
        self.scale = torch.nn.Parameter(torch.tensor(20.0))
        self.copies = 0

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        self.copies += video.shape[0]
        t, y, x = REGION
        signal = video[:, t, 0, y, x].mean(dim=(1, 2, 3))
        return torch.stack([self.scale * signal - 2, torch.zeros_like(signal)], dim=1)


@pytest.fixture
def clip() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    video = 0.1 * torch.randn(2, T, 3, S, S, generator=g)
    t, y, x = REGION
    video[:, t, :, y, x] += 0.5  # the class shows in the region only
    return video


def _inside() -> np.ndarray:
    m = np.zeros((T, S, S), bool)
    m[REGION] = True
    return m


def _upsampled(maps: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.interpolate(maps.float(), size=(S, S), mode="nearest").numpy()


def test_occlusion_finds_the_planted_region_and_nothing_else(clip):
    model = PlantedModel()
    expl = make_explainer("occlusion", model, {"target-class": "true"})
    out = expl(clip, torch.zeros(2, dtype=torch.long), "true")
    assert out.maps.shape == (2, T, 8, 8)  # one cell per stride (1/8 of the side)
    up = _upsampled(out.maps)
    inside = _inside()
    for m in up:
        peak = np.unravel_index(m.argmax(), m.shape)
        assert inside[peak]
        # the frames no box that touches the region covers get exactly nothing
        assert not m[[0, 1, 4, 5, 6, 7]].any()
        # the region's frames: mass on the region and the boxes' reach around it, nothing beyond
        reach = np.zeros((S, S), bool)
        reach[0:24, 8:32] = True  # 8-px boxes at 4-px steps that overlap rows 8-15 / columns 16-23
        assert not m[2:4][:, ~reach].any() and m[2:4][:, 8:16, 16:24].mean() > m[2:4].mean()


def test_occlusion_does_not_depend_on_batching_or_the_other_clips(clip):
    labels = torch.zeros(2, dtype=torch.long)
    a = make_explainer("occlusion", PlantedModel(), {"perturbation-batch": 1}).explain(clip, labels, "true")
    b = make_explainer("occlusion", PlantedModel(), {"perturbation-batch": 7}).explain(clip, labels, "true")
    c = make_explainer("occlusion", PlantedModel(), {"perturbation-batch": 7}).explain(clip[1:], labels[1:], "true")
    torch.testing.assert_close(a.relevance, b.relevance, atol=1e-6, rtol=0)
    torch.testing.assert_close(b.relevance[1:], c.relevance, atol=1e-6, rtol=0)


@pytest.mark.parametrize("method", ["occlusion", "rise"])
def test_forward_count_is_the_stated_one(clip, method):
    model = PlantedModel()
    expl = make_explainer(method, model, {"rise-masks": 40, "perturbation-batch": 16})
    expl.explain(clip, None, "predicted")
    per_clip = expl.forwards(T, S, S)
    assert model.copies == 2 + 2 * per_clip  # the plain forward of both clips, then per_clip copies of each
    assert per_clip == masked_forwards(method, expl.params, T, S)  # what planning counts, without a model
    if method == "occlusion":
        # 4 frame positions x 7 x 7 box positions (8-px boxes every 4 px on 32 px)
        assert per_clip == len(starts(T, 2, 2)) * len(starts(S, 8, 4)) ** 2 == 4 * 7 * 7
    else:
        assert per_clip == 40


def test_rise_finds_the_planted_region(clip):
    model = PlantedModel()
    out = make_explainer("rise", model, {"rise-masks": 400, "rise-cells": 4, "rise-cell-frames": 4})(
        clip, torch.zeros(2, dtype=torch.long), "true"
    )
    up = _upsampled(out.maps)
    inside = _inside()
    for m in up:
        assert m[inside].mean() > m[~inside].mean() + 0.3  # maps are min-max per clip: [0, 1]


def test_rise_masks_are_seeded_and_independent_of_batching(clip):
    labels = torch.zeros(2, dtype=torch.long)
    opts = {"rise-masks": 24, "rise-seed": 3}
    a = make_explainer("rise", PlantedModel(), {**opts, "perturbation-batch": 5}).explain(clip, labels, "true")
    b = make_explainer("rise", PlantedModel(), {**opts, "perturbation-batch": 16}).explain(clip, labels, "true")
    c = make_explainer("rise", PlantedModel(), {**opts, "rise-seed": 4}).explain(clip, labels, "true")
    torch.testing.assert_close(a.relevance, b.relevance, atol=1e-6, rtol=0)
    assert not torch.allclose(a.relevance, c.relevance)
    grids, shifts = draw_masks(50, (T, S, S), (4, 7, 7), 0.5, torch.Generator().manual_seed(0))
    masks = rise_masks(grids, shifts, (T, S, S))
    assert masks.shape == (50, T, S, S) and 0 <= float(masks.min()) and float(masks.max()) <= 1
    assert abs(float(grids.mean()) - 0.5) < 0.05  # cells kept with probability rise-keep


@pytest.mark.parametrize(
    ("method", "options", "match"),
    [
        ("occlusion", {"occlusion-patch": 0}, "occlusion-patch"),
        ("occlusion", {"occlusion-frames": 0}, "occlusion-frames"),
        ("rise", {"rise-keep": 1.0}, "rise-keep"),
        ("rise", {"rise-masks": 0}, "rise-masks"),
        ("rise", {"perturbation-fill": "noise"}, "perturbation-fill"),
    ],
)
def test_bad_options_name_themselves(method, options, match):
    with pytest.raises(ValueError, match=match):
        make_explainer(method, PlantedModel(), options)


@pytest.mark.parametrize("method", ["occlusion", "rise"])
def test_through_the_stage_on_a_torchvision_3d_cnn_and_demo_clips(method, tmp_path):
    """r3d_18 (random weights, built offline) on demo clips, scored as every explainer is: the stage stores the maps,
    deletion/insertion and the sanity check run the method again on randomised copies."""
    from videoxai.data.datasets import load_split
    from videoxai.demo.dataset import write_demo_dataset
    from videoxai.explain.stage import explain_selection
    from videoxai.models.families.torchvision_video import TorchvisionVideo

    root = tmp_path / "data"
    write_demo_dataset(root, n_train=8, n_test=8, seed=3)
    names, samples = load_split("ucf101", root, "test")
    selection = {
        "clips": [
            {"sample_id": s.sample_id, "class_index": s.label, "class_name": names[s.label], "sample_index": 0}
            for s in samples[:2]
        ]
    }
    cls = next(c for c in TorchvisionVideo.__subclasses__() if c.arch_name == "r3d_18")
    torch.manual_seed(0)
    cnn = cls(names, num_frames=8, size=64).eval()
    options = {
        "occlusion-patch": 0.5,
        "occlusion-stride": 0.25,
        "occlusion-frames": 4,
        "occlusion-frame-stride": 4,
        "rise-masks": 16,
        "deletion-steps": 2,
        "sanity-steps": 1,
        "target-class": "true",
    }
    hs = explain_selection(cnn, selection, samples, method, options, tmp_path / "h.safetensors", batch_size=2)
    grid = (4, 4) if method == "occlusion" else (28, 28)
    assert hs.heatmaps.shape == (2, 8, *grid) and hs.heatmaps.max() == 1 and hs.heatmaps.min() >= 0
    assert hs.params["method"] == method
    # the stated cost: occlusion's 2 x 3 x 3 boxes (half-side boxes every quarter side, 4 frames every 4), 16 masks
    assert hs.params["masked_forwards"] == (18 if method == "occlusion" else 16)
    for clip in hs.clips:
        assert 0 <= clip["evaluation"]["deletion_auc"] <= 1 and len(clip["evaluation"]["sanity_spearman"]) == 1
        r = clip["evaluation"]["random_logit_spearman"]  # the same method for another class (Sixt et al.)
        assert r is None or -1 <= r <= 1
