"""The ``compile`` option: its ``+compiled`` suffix, a real compiled extraction against the eager one, its costs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import extract_variant, shipped_demo_split
from videoxai.keys import SPLIT_VARIANT_PATTERN, SplitVariant, SplitVariantError
from videoxai.setup.device import compiled

torch.set_num_threads(1)


@pytest.mark.parametrize("name", ["test+compiled", "test+bf16+compiled", "test+v4+ckpt-3.pt+fp16+compiled+pt+b10"])
def test_compiled_follows_the_precision_and_names_the_predictions(name: str) -> None:
    variant = SplitVariant.parse(name)
    assert variant.compiled and str(variant) == name and re.fullmatch(SPLIT_VARIANT_PATTERN, name)
    assert variant.options()["compile"] is True and variant.settings()["compile"] is True
    assert str(variant.for_predictions(False)).endswith("+compiled")
    assert str(variant.for_explanations(False)).endswith("+compiled")  # they explain those predictions
    assert variant.with_split("val").compiled  # temperature scaling fits on predictions made the same way


def test_compile_false_keeps_todays_names_and_parameters() -> None:
    config = {"split": "test", "use-augmentation": False, "use-handcrafted-prompts": False, "num-temporal-views": None}
    assert str(SplitVariant.from_config({**config, "compile": True, "precision": "bfloat16"})) == "test+bf16+compiled"
    assert str(SplitVariant.from_config({**config, "compile": False})) == "test"
    assert "compile" not in SplitVariant.parse("test+bf16").options()


@pytest.mark.parametrize("name", ["test+compiled+bf16", "test+compiled+ckpt-3.pt", "test+compile", "test+compiled+tta"])
def test_compiled_out_of_order_or_misspelt_is_refused(name: str) -> None:
    with pytest.raises(SplitVariantError, match=r"\+compiled"):
        SplitVariant.parse(name)
    assert not re.fullmatch(SPLIT_VARIANT_PATTERN, name)


def test_without_a_cxx_compiler_the_error_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXX", "no-such-compiler-videoxai")
    model = torch.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="needs a C\\+\\+ compiler.*or set compile: false"):
        with compiled(model, True, torch.device("cpu")):
            pass
    with compiled(model, False, torch.device("cpu")) as same:
        assert same is model  # compile: false touches nothing, compiler or not


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return shipped_demo_split(tmp_path_factory.mktemp("compile"))


def _extract(demo: dict, variant: str) -> Path:
    return extract_variant(demo, variant, batch_size=3)  # 8 clips end in a batch of 2, which compiles once more


def test_a_compiled_extraction_gives_the_eager_logits_within_1e_5_and_says_so(demo: dict) -> None:
    from videoxai.extract.predictions import load_predictions

    eager = load_predictions(_extract(demo, "test"))
    torch._dynamo.utils.counters.clear()
    fused = load_predictions(_extract(demo, "test+compiled"))
    assert fused.metadata["compiled"] is True and fused.metadata["options"]["compile"] is True
    assert eager.metadata["compiled"] is False and "compile" not in eager.metadata["options"]
    assert fused.sample_ids == eager.sample_ids and len(eager.sample_ids) == 8
    scale = max(1.0, float(np.abs(eager.logits).max()))
    assert np.abs(fused.logits - eager.logits).max() <= 1e-5 * scale
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 2  # it did compile (both batch sizes)


def test_a_compiled_job_asks_for_more_memory_and_time() -> None:
    from videoxai.demo.real_size import COMMON_RUN, RUNS, VIT_B16_CLIP
    from videoxai.setup import resources as R
    from videoxai.setup.footprint import prompt_tuning_footprint

    run = {**COMMON_RUN, **RUNS["video_coop"], "prompt-optimisation-method": "video_coop"}
    fp = prompt_tuning_footprint(run, VIT_B16_CLIP)
    eager, fused = R.ExtractJob(16, 1, 1, 2, 101), R.ExtractJob(16, 1, 1, 2, 101, compiled=True)
    extra = R.extract_estimate_mb(fp, fused) - R.extract_estimate_mb(fp, eager)
    assert extra == pytest.approx(R.COMPILE_MEMORY * R.weights_mb(fp))
    assert R.extract_minutes(fp, fused, 100, 2, False) > R.extract_minutes(fp, eager, 100, 2, False)


def test_the_calibration_summary_has_a_compile_column() -> None:
    from videoxai.calibration.table import summary_rows

    metrics = [{"model": "m/d/r", "ece": 0.1}, {"model": "m/d/r", "ece": 0.2}]
    rows = summary_rows(["a", "b"], metrics, ["test+bf16", "test+bf16+compiled+b10"])
    assert [r["compile"] for r in rows] == [False, True] and [r["precision"] for r in rows] == ["bfloat16"] * 2
