"""The ``precision`` option: its suffix in a result's identity, its autocast, and real extraction/explanation in it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import extract_variant, shipped_demo_split
from videoxai.keys import SPLIT_VARIANT_PATTERN, SplitVariant, SplitVariantError
from videoxai.setup.device import autocast, precision_weights

torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("name", "precision"),
    [("test+bf16", "bfloat16"), ("test+fp16", "float16"), ("val+tta+hand+v4+s3+bf16", "bfloat16"), ("test", "float32")],
)
def test_precision_is_the_last_suffix_and_float32_has_none(name: str, precision: str) -> None:
    variant = SplitVariant.parse(name)
    assert variant.precision == precision and str(variant) == name and re.fullmatch(SPLIT_VARIANT_PATTERN, name)
    assert variant.options().get("precision") == (None if precision == "float32" else precision)
    assert variant.with_split("val").precision == precision  # temperature scaling fits in the same precision


def test_from_config_names_the_precision_and_the_default_keeps_todays_names() -> None:
    config = {"split": "test", "use-augmentation": False, "use-handcrafted-prompts": False, "num-temporal-views": 4}
    assert (
        str(SplitVariant.from_config({**config, "num-spatial-views": 3, "precision": "bfloat16"})) == "test+v4+s3+bf16"
    )
    assert str(SplitVariant.from_config({**config, "precision": "float32"})) == "test+v4"
    assert str(SplitVariant.from_config(config)) == "test+v4"
    assert "precision" not in SplitVariant.parse("test+v4").options()  # float32 results keep their parameters


@pytest.mark.parametrize("name", ["test+bf16+v4", "test+bf16+tta", "test+fp8", "test+float32", "test+bf16+fp16"])
def test_precision_out_of_order_or_unknown_is_refused(name: str) -> None:
    with pytest.raises(SplitVariantError, match="invalid split"):
        SplitVariant.parse(name)
    assert not re.fullmatch(SPLIT_VARIANT_PATTERN, name)


def test_a_bad_precision_value_is_named() -> None:
    with pytest.raises(SplitVariantError, match="precision must be one of"):
        SplitVariant("test", precision="fp8")
    with pytest.raises(ValueError, match="config 'precision' must be one of float32, bfloat16, float16"):
        autocast(torch.device("cpu"), "half")


def test_float32_runs_as_is_and_bfloat16_autocasts_the_matmuls_only() -> None:
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    with autocast(torch.device("cpu")):
        assert (a @ b).dtype == torch.float32
    with autocast(torch.device("cpu"), "bfloat16"):
        assert (a @ b).dtype == torch.bfloat16
        assert torch.nn.functional.layer_norm(a, (16,)).dtype == torch.float32


def _bundled_and_clip_families() -> list[str]:
    from tests.unit.test_models_clip import VARIANTS
    from videoxai.demo.bundled import BUNDLED_KEYS

    return [*BUNDLED_KEYS, *VARIANTS, "r3d_18"]


@pytest.mark.parametrize("name", _bundled_and_clip_families())
def test_weights_cast_once_give_autocasts_logits_bit_for_bit_and_are_put_back(name: str) -> None:
    """The cast copy of the linear and convolution weights is exactly what autocast casts on each forward."""
    from tests.unit.test_models_clip import VARIANTS, make
    from videoxai.demo.bundled import bundled_checkpoints_root
    from videoxai.models.checkpoints.weights import load_checkpoint
    from videoxai.models.families.registry import build_model

    if name in VARIANTS:
        model, size, frames = make(name), 32, 4
    elif name == "r3d_18":
        torch.manual_seed(0)
        model, size, frames = build_model(name, {"class_names": ["a", "b", "c"], "model": {}}).eval(), 32, 4
    else:
        model = load_checkpoint(bundled_checkpoints_root() / name).eval()
        size, frames = model.input_spec.size, model.input_spec.num_frames
    clip = torch.randn(2, frames, 3, size, size, generator=torch.Generator().manual_seed(1))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    device = torch.device("cpu")
    with torch.inference_mode():
        with autocast(device, "bfloat16"):
            reference = model(clip)
        with precision_weights(model, "bfloat16"), autocast(device, "bfloat16"):
            cast = [p.dtype for p in model.parameters()]
            got = model(clip)
        full = model(clip)
    assert torch.bfloat16 in cast and torch.float32 in cast  # linear layers cast, LayerNorm and the like not
    assert torch.equal(got, reference)
    after = model.state_dict()
    assert all(torch.equal(after[k], v) and after[k].dtype == v.dtype for k, v in before.items())
    assert full.dtype == torch.float32 and not torch.equal(full, reference)  # float32 again, no stale cache


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return shipped_demo_split(tmp_path_factory.mktemp("precision"))


def _extract(demo: dict, variant: str) -> Path:
    return extract_variant(demo, variant, num_workers=0)


def test_extraction_in_bfloat16_is_recorded_and_close_to_float32(demo: dict) -> None:
    from videoxai.extract.predictions import load_predictions

    full, low = load_predictions(_extract(demo, "test")), load_predictions(_extract(demo, "test+bf16"))
    assert full.metadata["precision"] == "float32" and "precision" not in full.metadata["options"]
    assert low.metadata["precision"] == "bfloat16" and low.metadata["options"]["precision"] == "bfloat16"
    assert low.sample_ids == full.sample_ids
    same = {k: v for k, v in low.metadata.items() if k not in ("precision", "options")}
    assert same == {k: v for k, v in full.metadata.items() if k not in ("precision", "options")}
    assert {k: v for k, v in low.metadata["options"].items() if k != "precision"} == full.metadata["options"]
    diff = np.abs(low.logits - full.logits).max()
    # other numbers (hence +bf16), near float32's: about 1 % of the largest logit (docs/performance.md), 5 % allowed
    assert 0 < diff < 0.05 * np.abs(full.logits).max()
    assert (low.logits.argmax(1) == full.logits.argmax(1)).mean() >= 0.75


@pytest.mark.parametrize("method", ["attention-rollout", "grad-cam"])
def test_explanation_in_bfloat16_is_recorded_and_its_maps_follow_float32s(demo: dict, method: str) -> None:
    from videoxai.data.datasets import load_split
    from videoxai.explain.select import select_clips
    from videoxai.explain.stage import explain_selection
    from videoxai.explain.store import load_heatmaps
    from videoxai.extract.predictions import load_predictions
    from videoxai.io import read_json
    from videoxai.models.checkpoints.resolve import load_resolved

    preds = load_predictions(_extract(demo, "test"))
    _, samples = load_split("ucf101", demo["dataset"]["root"], "test")
    model = load_resolved(read_json(demo["tmp"] / "resolved.json")).eval()
    selection = select_clips(preds, 2, 1, seed=0)
    maps = {}
    for precision in ("float32", "bfloat16"):
        out = demo["tmp"] / f"{method}-{precision}.safetensors"
        options = {"target-class": "true", "split": "test", "evaluate": False, "precision": precision}
        explain_selection(model, selection, samples, method, options, out, batch_size=2)
        hs = load_heatmaps(out)
        assert hs.params["precision"] == precision
        maps[precision] = hs.heatmaps.astype(np.float32)
    full, low = maps["float32"].ravel(), maps["bfloat16"].ravel()
    assert np.isfinite(low).all() and not np.array_equal(full, low)
    assert np.corrcoef(full, low)[0, 1] > 0.9


def test_precision_names_the_predictions_and_sits_after_the_checkpoint_file() -> None:
    """A prediction setting: after ``+ckpt-{file}``, before the analysis settings, kept by ``for_predictions``."""
    name = "test+v4+s3+f8+fog-3+ckpt-3.pt+bf16+pt+b10+ts"
    variant = SplitVariant.parse(name)
    assert variant.precision == "bfloat16" and str(variant) == name and re.fullmatch(SPLIT_VARIANT_PATTERN, name)
    assert str(variant.for_predictions(False)) == "test+v4+s3+f8+fog-3+ckpt-3.pt+bf16"
    assert str(variant.for_explanations(False)).endswith("+bf16") and variant.settings()["precision"] == "bfloat16"
    with pytest.raises(SplitVariantError, match="invalid split"):
        SplitVariant.parse("test+bf16+ckpt-3.pt")


def test_the_calibration_summary_has_a_precision_column() -> None:
    from videoxai.calibration.table import summary_rows

    metrics = [{"model": "m/d/r", "ece": 0.1}, {"model": "m/d/r", "ece": 0.2}]
    rows = summary_rows(["a", "b"], metrics, ["test", "test+bf16+b10"])
    assert [r["precision"] for r in rows] == ["float32", "bfloat16"]


@pytest.mark.parametrize("method", ["attention-rollout", "grad-cam"])
def test_explanation_weights_cast_once_give_autocasts_maps_and_scores_bit_for_bit(
    demo: dict, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The explain stage casts the weights once per batch (issue #29): maps, deletion/insertion, sanity and
    random-logit scores are those of autocast alone, to the bit; the reference run casts nothing."""
    import contextlib

    from videoxai.data.datasets import load_split
    from videoxai.explain import scoring, stage
    from videoxai.explain.select import select_clips
    from videoxai.explain.stage import explain_selection
    from videoxai.explain.store import load_heatmaps
    from videoxai.extract.predictions import load_predictions
    from videoxai.io import read_json
    from videoxai.models.checkpoints.resolve import load_resolved

    preds = load_predictions(_extract(demo, "test"))
    _, samples = load_split("ucf101", demo["dataset"]["root"], "test")
    model = load_resolved(read_json(demo["tmp"] / "resolved.json")).eval()
    selection = select_clips(preds, 2, 1, seed=0)
    options = {"target-class": "true", "split": "test", "evaluate": True, "deletion-steps": 4, "sanity-steps": 2}
    options["precision"] = "bfloat16"
    seen: list[set] = []

    def spy(module: torch.nn.Module, precision: str = "float32"):
        cm = precision_weights(module, precision)

        @contextlib.contextmanager
        def recorded():
            with cm as m:
                seen.append({p.dtype for p in module.parameters()})
                yield m

        return recorded()

    runs = {}
    for name, cast in (("once", spy), ("autocast", lambda m, p="float32": contextlib.nullcontext(m))):
        monkeypatch.setattr(stage, "precision_weights", cast)
        monkeypatch.setattr(scoring, "precision_weights", cast)
        out = demo["tmp"] / f"{method}-{name}.safetensors"
        explain_selection(model, selection, samples, method, options, out, batch_size=2)
        runs[name] = load_heatmaps(out)
    assert seen and all(torch.bfloat16 in dtypes for dtypes in seen)  # the cast path ran, for the map and scores
    once, reference = runs["once"], runs["autocast"]
    assert np.array_equal(once.heatmaps, reference.heatmaps)
    assert np.array_equal(once.temporal_importance, reference.temporal_importance)
    assert [c["evaluation"] for c in once.clips] == [c["evaluation"] for c in reference.clips]
    assert all(p.dtype == torch.float32 for p in model.parameters())  # put back
