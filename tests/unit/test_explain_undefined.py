"""Undefined frames (issue #25, item 4): a real case kept through the explain stage, the summary and the renderer.

prompt-tuning's ``attention-rollout-cls-weighted`` with ``head-fusion: max`` and ``discard-ratio: 0.5`` weighs
each frame by a product of mean CLS attentions; on the vilt fixture run explaining demo clips that weight is
exactly 0 on some frames, whose maps are then 0 / 0 (NaN) while the clip's other frames are maps. The stage
keeps the defined frames, flags the undefined ones in the heatmaps file, the scores skip them and count them,
and the videos and strips draw them grey and labelled.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from tests.helpers import fixture_clip, fixture_run_model, origin_fixtures_families
from videoxai.data.datasets import load_split
from videoxai.data.decode import read_frames
from videoxai.demo.dataset import write_demo_dataset
from videoxai.explain.methods import make_explainer
from videoxai.explain.stage import explain_selection
from videoxai.explain.store import HeatmapSet, load_heatmaps, save_heatmaps
from videoxai.explain.summary import summarize_explanations
from videoxai.explain.undefined import split_undefined, undefined_mask
from videoxai.render.stage import render_clip
from videoxai.render.undefined import undefined_frame

torch.set_num_threads(1)

METHOD = "attention-rollout-cls-weighted"
OPTIONS = {"head-fusion": "max", "discard-ratio": 0.5, "target-class": "predicted"}


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    fx = origin_fixtures_families()
    root = tmp_path_factory.mktemp("demo") / "data"
    write_demo_dataset(root, n_train=8, n_test=8, seed=3)
    names, samples = load_split("ucf101", root, "test")
    model = fixture_run_model(fx, "vilt/ucf101/best-mean", names, fixture_clip(fx))
    spec = dataclasses.replace(model.input_spec, num_views=1, spatial_views=1)
    selection = {
        "class_names": names,
        "split": "test",
        "clips": [
            {"sample_id": s.sample_id, "class_index": s.label, "class_name": names[s.label], "sample_index": 0}
            for s in samples
        ],
    }
    return model, samples, selection, spec, root


def test_undefined_frames_are_kept_flagged_scored_and_drawn(case, tmp_path):
    model, samples, selection, spec, root = case
    out = tmp_path / "heatmaps.safetensors"
    options = {**OPTIONS, "deletion-steps": 2, "sanity-steps": 1}
    hs = explain_selection(
        model, selection, samples, METHOD, options, out, batch_size=8, spec=spec, conventions="prompt-tuning"
    )
    # the explainer alone, on the stored frames' model input: which frames are 0 / 0
    from videoxai.data.loader import make_loader

    batch = next(iter(make_loader(samples, spec, batch_size=8, num_workers=0, num_views=1)))
    direct = make_explainer(METHOD, model, OPTIONS, "prompt-tuning")(batch["video"], batch["label"], "predicted")
    nan = torch.isnan(direct.maps).flatten(2).any(-1).numpy()
    assert nan.any() and not nan.all(axis=1).any()  # a real case: some frames undefined, every clip has maps

    stored = load_heatmaps(out)
    assert np.array_equal(stored.undefined, nan) and np.array_equal(hs.undefined, nan)
    assert np.isfinite(stored.heatmaps).all() and stored.heatmaps.min() >= 0 and stored.heatmaps.max() <= 1
    assert not stored.heatmaps[nan].any() and not stored.temporal_importance[nan].any()
    ok = ~nan
    np.testing.assert_allclose(stored.heatmaps[ok], direct.maps.numpy()[ok], atol=1e-3)  # float16
    np.testing.assert_allclose(stored.temporal_importance[ok], direct.importance.numpy()[ok], atol=1e-6)
    for clip, row in zip(stored.clips, nan, strict=True):  # the explain stage's scores ran, and say how many
        assert clip["evaluation"].get("n_undefined_frames", 0) == int(row.sum())
        assert all(v is None or np.isfinite(v) for v in clip["evaluation"]["sanity_spearman"])

    stats = summarize_explanations(out, tmp_path / "aggregated_stats.json", dataset={"root": str(root)})
    json.dumps(stats, allow_nan=False)  # every number is a number
    assert stats["undefined_frames"] == {"n_frames": int(nan.sum()), "n_clips": int(nan.any(1).sum()), "frames": 64}
    assert stats["overall"]["n_undefined_frames"] == int(nan.sum())
    ev = stats["evaluation"]
    assert ev["undefined_frames"]["n_frames"] == int(nan.sum())
    # the ground-truth scores skip the undefined frames: the frames scored are the visible *defined* ones
    from videoxai.explain.summary import clip_masks

    masks = np.stack([clip_masks(root / c["sample_id"], c["frame_indices"], spec.size) for c in stored.clips])
    visible = masks.reshape(8, 8, -1).any(-1)
    assert ev["ground_truth"]["n_frames_scored"] == int((visible & ok).sum()) < int(visible.sum())

    # the renderer: an undefined frame is grey and labelled in the video and in the strip, the others coloured
    i = int(np.flatnonzero(nan.any(1))[0])
    t_bad, t_ok = int(np.flatnonzero(nan[i])[0]), int(np.flatnonzero(ok[i])[0])
    info = render_clip(out, i, tmp_path / "v.mp4", tmp_path / "s.png", side_by_side=False)
    assert info["undefined_frames"] == [int(t) for t in np.flatnonzero(nan[i])]
    video = read_frames(tmp_path / "v.mp4", list(range(8)))
    h = stored.frames.shape[2]
    body = video[:, -h:, :h].astype(np.int16)  # below the caption
    spread = lambda f: float(np.abs(f - f.mean(axis=-1, keepdims=True)).mean())  # noqa: E731 - colourfulness
    assert spread(body[t_bad]) < 4 < spread(body[t_ok])
    expected = undefined_frame(stored.frames[i][t_bad : t_bad + 1])[0].astype(np.int16)
    assert np.abs(body[t_bad] - expected).mean() < 6  # the drawn frame, up to H.264's loss
    assert (tmp_path / "s.png").stat().st_size > 0


def test_split_undefined_and_the_file_contract():
    maps = np.random.default_rng(0).random((4, 3, 3)).astype(np.float32)
    maps[2] = np.nan
    ti = maps.mean(axis=(1, 2))
    m, t, u = split_undefined(maps, ti)
    assert u.tolist() == [False, False, True, False] and np.array_equal(u, undefined_mask(maps))
    assert not m[2].any() and t[2] == 0 and np.array_equal(m[[0, 1, 3]], maps[[0, 1, 3]])


def test_a_file_without_flags_reads_as_every_frame_defined(tmp_path):
    """Files written before the flags existed: no ``undefined_frames`` tensor, every frame defined."""
    from safetensors.numpy import save_file

    from videoxai.io import atomic_path

    hs = HeatmapSet(
        np.zeros((1, 2, 3, 3), np.float16), np.zeros((1, 2), np.float32), np.zeros((1, 2, 4, 4, 3), np.uint8), [{}], {}
    )
    with atomic_path(tmp_path / "old.safetensors") as tmp:
        save_file(
            {"heatmaps": hs.heatmaps, "temporal_importance": hs.temporal_importance, "frames": hs.frames},
            str(tmp),
            metadata={"clips": "[{}]", "params": "{}"},
        )
    old = load_heatmaps(tmp_path / "old.safetensors")
    assert old.undefined is None and not old.undefined_flags().any()
    flagged = dataclasses.replace(hs, undefined=np.array([[False, True]]))
    save_heatmaps(tmp_path / "new.safetensors", flagged)
    assert load_heatmaps(tmp_path / "new.safetensors").undefined.tolist() == [[False, True]]
    bad = dataclasses.replace(hs, heatmaps=np.ones((1, 2, 3, 3), np.float16), undefined=np.array([[False, True]]))
    with pytest.raises(ValueError, match="undefined must be stored as zeros"):
        save_heatmaps(tmp_path / "bad.safetensors", bad)
