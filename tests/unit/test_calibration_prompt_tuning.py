"""conventions: prompt-tuning — prompt-tuning's calibration.py numbers, checked against prompt-tuning's golden fixtures.

The fixtures (``origin-fixtures/calibration/case_{a,b,c}``) were made by running the
prompt-tuning's own ``CalibratedModel.eval`` and ``plot_reliability_diagram``; every metric
and every reliability-diagram bin must match to 1e-6.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from tests.helpers import REPO, origin_fixtures
from videoxai.calibration import CONVENTIONS, calibrate, point_metrics
from videoxai.calibration.binning import bin_centres, bin_edges
from videoxai.calibration.float32 import softmax_float32, torch_linspace_float32
from videoxai.calibration.names import METRICS, PROMPT_TUNING_METRICS, PROMPT_TUNING_NAMES
from videoxai.calibration.rules import PARAMS
from videoxai.calibration.scores import Scores
from videoxai.calibration.suite import MetricSuite
from videoxai.extract.predictions import PredictionWriter
from videoxai.io import read_json
from videoxai.keys import SplitVariant

TOL = 1e-6
CASES = ("a", "b", "c")
RULE = PARAMS["prompt-tuning"].binning


def prompt_tuning_suite(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> MetricSuite:
    """The one metric suite under prompt-tuning's binning, on float32 probabilities as given."""
    return MetricSuite(Scores.from_probs(np.asarray(probs, dtype=np.float32), labels), n_bins, RULE)


def load_case(name: str) -> tuple[dict, dict[str, np.ndarray]]:
    folder = origin_fixtures() / "calibration"
    info = json.loads((folder / f"case_{name}.json").read_text())
    with np.load(folder / f"case_{name}.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    return info, arrays


def case_logits(name: str) -> tuple[np.ndarray, np.ndarray, float, dict, dict]:
    """(logits, labels, temperature, expected metrics under metrics.json's names, expected diagram bins)."""
    info, arrays = load_case(name)
    logits = arrays["logits_log_probs"] if name == "b" else arrays["logits"]
    expected = {PROMPT_TUNING_NAMES.get(k, k): v for k, v in info["metrics_CalibratedModel_eval"].items()}
    bins = info["reliability_diagram_bins_on_softmax_of_logits" if name == "b" else "reliability_diagram_bins"]
    return logits, arrays["labels"], float(info["temperature"]) if "temperature" in info else 1.0, expected, bins


def assert_bins(table: dict[str, np.ndarray], expected: dict) -> None:
    np.testing.assert_array_equal(np.asarray(table["count"]).round().astype(int), expected["samples_per_bin"])
    np.testing.assert_allclose(table["accuracy"], expected["acc_per_bin"], rtol=0, atol=TOL)
    np.testing.assert_allclose(table["mean_confidence"], expected["conf_per_bin"], rtol=0, atol=TOL)
    edges = np.float32(expected["bin_edges_float32"])
    np.testing.assert_array_equal(np.float32(table["lower"]), edges[:-1])
    np.testing.assert_array_equal(np.float32(table["upper"]), edges[1:])


# --- float32 edges --------------------------------------------------------------------------------


def test_linspace_is_torchs_float32_linspace_bit_for_bit():
    for steps in range(1, 260):
        np.testing.assert_array_equal(
            torch_linspace_float32(0.0, 1.0, steps), torch.linspace(0, 1, steps).numpy(), err_msg=f"steps={steps}"
        )
    for start, end, steps in ((0.0, 2.5, 7), (-1.0, 1.0, 33), (0.1, 0.9, 64)):
        np.testing.assert_array_equal(
            torch_linspace_float32(start, end, steps), torch.linspace(start, end, steps).numpy()
        )


def test_edges_and_centres_equal_the_fixtures_and_sit_off_the_float32_values():
    info, _ = load_case("b")
    bins = info["reliability_diagram_bins_on_probs"]
    np.testing.assert_array_equal(bin_edges(15, RULE), np.float32(bins["bin_edges_float32"]))
    np.testing.assert_array_equal(bin_centres(15, RULE), np.float32(bins["bin_centers_float32"]))
    edges = bin_edges(15, RULE)
    # 0.2, 0.4 and 0.6 are one ulp off their float32 values; 1/3 and 0.8 are exactly theirs
    for index, value, on_edge in ((3, 0.2, False), (5, 1 / 3, True), (6, 0.4, False), (9, 0.6, False), (12, 0.8, True)):
        assert bool(edges[index] == np.float32(value)) is on_edge
        assert edges[index] == np.float32(info["torch_linspace_edges_vs_confidences"][repr(value)]["edge_value"])


# --- metrics and bins on the three cases ------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_point_metrics_equal_prompt_tunings_calibrated_model_eval(case):
    logits, labels, temperature, expected, _ = case_logits(case)
    got = point_metrics(logits, labels, n_bins=15, convention="prompt-tuning", temperature=temperature)
    assert set(got) == set(METRICS)
    assert set(expected) == set(PROMPT_TUNING_METRICS)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=TOL), name


@pytest.mark.parametrize("case", CASES)
def test_reliability_bins_equal_prompt_tunings_diagram(case):
    logits, labels, temperature, _, expected = case_logits(case)
    suite = prompt_tuning_suite(softmax_float32(logits, temperature), labels, 15)
    assert_bins(suite.tables()["equal-width"], expected)


def test_case_b_metrics_on_the_probabilities_themselves():
    """Confidences exactly 0.2, 1/3, 0.4, 0.6, 0.8, 1: membership follows the float32 edges."""
    info, arrays = load_case("b")
    suite = prompt_tuning_suite(arrays["probs"], arrays["labels"], 15)
    got = suite.point()
    for name, value in info["metrics_direct"].items():
        assert got[PROMPT_TUNING_NAMES.get(name, name)] == pytest.approx(value, abs=TOL), name
    assert_bins(suite.tables()["equal-width"], info["reliability_diagram_bins_on_probs"])
    # 1/3 and 0.8 sit exactly on an edge: prompt-tuning's lo < c <= hi puts them in the bin below
    counts = suite.tables()["equal-width"]["count"]
    assert counts[4] == 9 and counts[11] == 8 and counts[5] == 8


def test_prompt_tuning_and_standard_differ_on_edge_confidences():
    _, arrays = load_case("b")
    seed = prompt_tuning_suite(arrays["probs"], arrays["labels"], 15).point()
    standard_suite = MetricSuite(Scores.from_probs(arrays["probs"], arrays["labels"]), 15)
    standard = standard_suite.point()
    # equal-mass: ties share a bin (standard) vs N // n_bins by position (seed); class-wise: edge membership
    assert abs(seed["adaptive_ece"] - standard["adaptive_ece"]) > 0.01
    assert abs(seed["classwise_ece"] - standard["classwise_ece"]) > 0.005
    # the same confidences land one bin lower under prompt-tuning's lo < c <= hi
    prompt_tuning_counts = prompt_tuning_suite(arrays["probs"], arrays["labels"], 15).tables()["equal-width"]["count"]
    assert not np.array_equal(prompt_tuning_counts, standard_suite.tables()["equal-width"]["count"])


def test_softmax_is_torchs_float32_softmax():
    _, arrays = load_case("b")
    z = arrays["logits_log_probs"]
    np.testing.assert_array_equal(softmax_float32(z), torch.softmax(torch.from_numpy(z), dim=1).numpy())
    rng = np.random.default_rng(0)
    for k in (7, 16, 101, 400):  # elsewhere mostly identical, at most a few ulps apart (torch's vectorised exp)
        z = (rng.normal(size=(500, k)) * 3).astype(np.float32)
        ref = torch.softmax(torch.from_numpy(z) / torch.tensor(1.7), dim=1).numpy()
        ulps = np.abs(softmax_float32(z, 1.7) - ref) / np.spacing(np.abs(ref))
        assert ulps.max() <= 4 and (ulps == 0).mean() > 0.8


# --- the estimator under bootstrap weights ----------------------------------------------------------


def test_weights_equal_repeating_the_rows():
    """Integer weights are the metrics of the expanded data: same estimator for points and intervals."""
    rng = np.random.default_rng(3)
    _, arrays = load_case("b")  # many ties, so equal-mass boundaries split runs of copies
    for probs, labels in (
        (arrays["probs"], arrays["labels"]),
        (softmax_float32(rng.normal(size=(97, 5)) * 2), rng.integers(0, 5, 97)),
    ):
        suite = prompt_tuning_suite(probs, labels, 15)
        counts = rng.multinomial(len(labels), np.full(len(labels), 1 / len(labels)), size=6)
        counts[0] = 1
        batched = suite.evaluate(counts)
        for row, c in enumerate(counts):
            idx = np.repeat(np.arange(len(labels)), c)
            direct = prompt_tuning_suite(probs[idx], labels[idx], 15).point()
            for name, value in direct.items():
                if name == "smooth_ece":  # the bootstrap's coarser grid: tested with the standard suite
                    continue
                assert batched[name][row] == pytest.approx(value, abs=1e-12), (name, row)


def test_adaptive_bins_put_the_rest_in_the_last_and_too_few_samples_all_there():
    probs = softmax_float32(np.random.default_rng(1).normal(size=(38, 4)))
    labels = np.zeros(38, dtype=np.int64)
    counts = prompt_tuning_suite(probs, labels, 15).tables()["equal-mass"]["count"]
    assert counts.tolist() == [2] * 14 + [10]
    few = prompt_tuning_suite(probs[:9], labels[:9], 15)
    assert few.tables()["equal-mass"]["count"].tolist() == [0] * 14 + [9]
    conf = few.scores.confidence
    assert few.point()["adaptive_ece"] == pytest.approx(abs(conf.mean() - few.scores.correct.mean()), abs=1e-12)


def test_nll_is_infinite_where_a_probability_underflows_as_in_prompt_tuning(tmp_path):
    logits = np.array([[0.0, -200.0], [0.0, 1.0]], dtype=np.float32)
    labels = np.array([1, 1])
    assert math.isinf(point_metrics(logits, labels, convention="prompt-tuning")["nll"])
    assert math.isfinite(point_metrics(logits, labels)["nll"])  # standard: log_softmax
    path = write_predictions(tmp_path / "p.parquet", logits, labels)
    m = calibrate(path, **outputs(tmp_path / "out"), bootstrap=0, convention="prompt-tuning")
    assert m["nll"] is None and m["convention"] == "prompt-tuning"


# --- the API and the stage ---------------------------------------------------------------------


def test_point_metrics_accepts_tensors_and_lists_and_checks_its_convention():
    logits, labels, temperature, _, _ = case_logits("c")
    ref = point_metrics(logits, labels, convention="prompt-tuning", temperature=temperature)
    assert (
        point_metrics(
            torch.from_numpy(logits), torch.from_numpy(labels), convention="prompt-tuning", temperature=temperature
        )
        == ref
    )
    assert point_metrics(logits[:50].tolist(), labels[:50].tolist(), convention="prompt-tuning") == point_metrics(
        logits[:50], labels[:50], convention="prompt-tuning"
    )
    with pytest.raises(ValueError, match="conventions must be one of standard, prompt-tuning"):
        point_metrics(logits, labels, convention="upstream")
    with pytest.raises(ValueError, match=r"NaN, \+inf or only -inf"):
        bad = logits.copy()
        bad[3, 1] = np.nan
        point_metrics(bad, labels, convention="prompt-tuning")
    assert CONVENTIONS == ("standard", "prompt-tuning")


def test_standard_point_metrics_are_the_standard_estimators():
    logits, labels, _, _, _ = case_logits("a")
    direct = MetricSuite(Scores.from_logits(logits, labels), 15).point()
    assert point_metrics(logits, labels) == direct


def test_prompt_tuning_modules_do_not_import_torch():
    code = (
        "import sys, numpy as np\n"
        "import videoxai.calibration.rules, videoxai.calibration.float32, videoxai.calibration.suite\n"
        "from videoxai.calibration import point_metrics\n"
        "z = np.random.default_rng(0).normal(size=(40, 5)); y = np.arange(40) % 5\n"
        "point_metrics(z, y, convention='prompt-tuning')\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr


def write_predictions(path: Path, logits: np.ndarray, labels: np.ndarray) -> Path:
    n, k = logits.shape
    names = [f"class_{i}" for i in range(k)]
    writer = PredictionWriter(
        path,
        k,
        {"class_names": names, "model_key": "video_coop/ucf101/best-attention-0", "dataset": "ucf101", "split": "test"},
    )
    writer.write(
        {
            "sample_id": [f"{names[y]}/v_{i:04d}.avi" for i, y in enumerate(labels)],
            "label": labels.tolist(),
            "label_name": [names[y] for y in labels],
            "pred": logits.argmax(1).tolist(),
            "confidence": [0.0] * n,
            "logits": logits.astype(np.float32),
            "frame_indices": [[0]] * n,
            "padded": [False] * n,
            "status": ["ok"] * n,
            "error": [None] * n,
        }
    )
    writer.close()
    return path


def outputs(d: Path) -> dict[str, Path]:
    return {
        "out_metrics": d / "metrics.json",
        "out_bins": d / "bins.parquet",
        "out_png": d / "rd.png",
        "out_pdf": d / "rd.pdf",
    }


@pytest.mark.parametrize("case", ("a", "c"))
def test_calibrate_stage_under_prompt_tuning_writes_prompt_tunings_numbers(tmp_path, case):
    """What the workflow's calibrate rule runs: metrics.json and bins.parquet carry prompt-tuning's values."""
    logits, labels, temperature, expected, bins = case_logits(case)
    path = write_predictions(tmp_path / "test.parquet", logits, labels)
    out = outputs(tmp_path / "prompt-tuning")
    m = calibrate(
        path,
        **out,
        n_bins=15,
        bootstrap=20,
        temperature=None if temperature == 1.0 else temperature,
        convention="prompt-tuning",
    )
    assert m == read_json(out["out_metrics"])
    assert m["convention"] == "prompt-tuning"
    for name, value in expected.items():
        assert m[name] == pytest.approx(value, abs=TOL), name
        lo, hi = m[f"{name}_ci95"]
        assert lo <= hi
    point = point_metrics(logits, labels, 15, "prompt-tuning", temperature)
    assert {k: m[k] for k in METRICS} == point  # one home: the notebook's numbers are the workflow's
    t = pq.read_table(out["out_bins"]).to_pydict()
    keep = [i for i, s in enumerate(t["scheme"]) if s == "equal-width"]
    assert_bins({k: np.asarray([t[k][i] for i in keep]) for k in t}, bins)
    assert m["bin_counts"] == bins["samples_per_bin"]
    standard = calibrate(
        path,
        **outputs(tmp_path / "standard"),
        n_bins=15,
        bootstrap=0,
        temperature=None if temperature == 1.0 else temperature,
    )
    assert standard["convention"] == "standard"
    assert {k: standard[k] for k in METRICS} == point_metrics(logits, labels, 15, "standard", temperature)


def test_config_declares_the_conventions_key():
    schema = yaml.safe_load((REPO / "src" / "videoxai" / "schemas" / "config.schema.yaml").read_text())
    spec = schema["properties"]["conventions"]
    assert spec["default"] == "standard" and spec["enum"] == list(CONVENTIONS) and spec["description"]
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert config["conventions"] == "standard"
    # the key names the results: the default config's split has no suffix, prompt-tuning's gets +pt and reads back
    assert str(SplitVariant.from_config(config)) == config["split"]
    pt = SplitVariant.from_config({**config, "conventions": "prompt-tuning"})
    assert str(pt) == f"{config['split']}+pt" and SplitVariant.parse(str(pt)).convention == "prompt-tuning"
