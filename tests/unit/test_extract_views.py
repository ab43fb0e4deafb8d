"""num-temporal-views: V views per clip reach the model, combine with TTA, and are recorded in the Parquet file.

The expected logits are computed independently of the loader: the frames a
row says it used are decoded again, preprocessed view by view and passed
through the real demo model one 5-D clip at a time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from videoxai.data.decode import read_frames
from videoxai.data.transforms import TTA, normalise, resize_crop, tta_views
from videoxai.demo.bundled import bundled_checkpoints_root
from videoxai.demo.dataset import write_demo_dataset
from videoxai.extract.predictions import load_predictions
from videoxai.extract.run import extract_predictions
from videoxai.io import write_json
from videoxai.models.checkpoints.resolve import load_resolved, resolve_model
from videoxai.setup.model_split import model_input_spec


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("views")
    root = tmp / "demo"
    write_demo_dataset(root, n_train=8, n_test=8, seed=0, frames=16, size=64)
    resolved = resolve_model("video_coop/demo/tiny", bundled_checkpoints_root())
    write_json(tmp / "resolved.json", resolved)
    dataset = {"name": "demo", "format": "ucf101", "root": str(root), "split-id": 1}
    return {"tmp": tmp, "root": root, "resolved": resolved, "dataset": dataset}


def _extract(setup: dict, name: str, **options) -> Path:
    out = setup["tmp"] / f"{name}.parquet"
    extract_predictions(
        setup["tmp"] / "resolved.json", setup["dataset"], out, options={"split": "test", **options}, num_workers=0
    )
    return out


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def test_default_is_the_models_own_single_view(setup: dict) -> None:
    path = _extract(setup, "own")
    meta = load_predictions(path).metadata
    assert meta["num_temporal_views"] == 1 and meta["input_spec"]["num_views"] == 1
    assert all(len(r["frame_indices"]) == 8 for r in _rows(path))


def test_views_average_the_logits_of_each_view(setup: dict) -> None:
    path = _extract(setup, "v2", **{"num-temporal-views": 2})
    preds = load_predictions(path)
    assert preds.metadata["num_temporal_views"] == 2 and preds.metadata["options"]["num-temporal-views"] == 2
    model = load_resolved(setup["resolved"]).eval()
    spec = model.input_spec
    rows = _rows(path)
    assert all(r["status"] == "ok" for r in rows)
    for row in rows[:3]:
        views = np.asarray(row["frame_indices"]).reshape(2, 8)
        assert (views[0] != views[1]).all()  # interleaved views, not the same frames twice
        clip = setup["root"] / row["sample_id"]
        with torch.inference_mode():
            per_view = [
                model(normalise(resize_crop(read_frames(clip, v.tolist()), spec.size), spec)[None]) for v in views
            ]
        expected = torch.stack(per_view).mean(0)[0].numpy()
        np.testing.assert_allclose(np.asarray(row["logits"]), expected, rtol=1e-4, atol=1e-4)
    single = load_predictions(_extract(setup, "v1", **{"num-temporal-views": 1}))
    assert single.sample_ids == preds.sample_ids
    assert not np.allclose(single.logits, preds.logits)  # more views, other numbers: hence the +v{V} file name


def test_views_combine_with_test_time_augmentation(setup: dict) -> None:
    path = _extract(setup, "v2tta", **{"num-temporal-views": 2, "use-augmentation": True})
    meta = load_predictions(path).metadata
    assert meta["num_temporal_views"] == 2 and meta["tta"]["views"] == 6
    model = load_resolved(setup["resolved"]).eval()
    spec = model.input_spec
    row = _rows(path)[0]
    frames = read_frames(setup["root"] / row["sample_id"], row["frame_indices"]).reshape(2, 8, 64, 64, 3)
    views = tta_views(frames, spec.size, TTA())  # (A, V, T, S, S, 3)
    with torch.inference_mode():
        logits = [model(normalise(views[a, v], spec)[None]) for a in range(views.shape[0]) for v in range(2)]
    expected = torch.stack(logits).mean(0)[0].numpy()  # one mean over all A x V views
    np.testing.assert_allclose(np.asarray(row["logits"]), expected, rtol=1e-4, atol=1e-4)


def test_views_must_be_a_positive_integer(setup: dict) -> None:
    model = load_resolved(setup["resolved"])
    assert model_input_spec(model, None, 3).num_views == 3
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="num-temporal-views"):
            model_input_spec(model, None, bad)
