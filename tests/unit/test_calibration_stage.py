"""The stage API on real Parquet predictions files: outputs, temperature options, summary, errors."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from videoxai.calibration import NonFiniteLogitsError, Scores, calibrate, summarize
from videoxai.calibration.names import METRICS
from videoxai.calibration.suite import MetricSuite
from videoxai.extract.predictions import PredictionWriter
from videoxai.io import read_json

K = 6


def write_predictions(
    path: Path,
    n: int,
    scale: float,
    seed: int,
    key: str = "video_coop/ucf101/run-0",
    split: str = "test",
    nan_rows: tuple[int, ...] = (),
    error_rows: tuple[int, ...] = (),
    classes: list[str] | None = None,
) -> Path:
    rng = np.random.default_rng(seed)
    true = rng.normal(size=(n, K)) * 1.5
    p = np.exp(true - true.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    labels = (p.cumsum(1) > rng.uniform(size=(n, 1))).argmax(1)
    logits = (true * scale).astype(np.float32)
    for i in nan_rows:
        logits[i, 0] = np.nan
    names = classes or [f"class_{i}" for i in range(K)]
    status = ["error" if i in error_rows else "ok" for i in range(n)]
    writer = PredictionWriter(path, K, {"class_names": names, "model_key": key, "dataset": "ucf101", "split": split})
    writer.write(
        {
            "sample_id": [f"class_{y}/v_{i:04d}.avi" for i, y in enumerate(labels)],
            "label": labels.tolist(),
            "label_name": [names[y] for y in labels],
            "pred": logits.argmax(1).tolist(),
            "confidence": p.max(1).tolist(),
            "logits": logits,
            "frame_indices": [[0, 1, 2]] * n,
            "padded": [False] * n,
            "status": status,
            "error": [("decode failed" if s == "error" else None) for s in status],
        }
    )
    writer.close()
    return path


def outputs(d: Path) -> dict[str, Path]:
    return {
        "out_metrics": d / "metrics.json",
        "out_bins": d / "bins.parquet",
        "out_png": d / "fig" / "rd.png",
        "out_pdf": d / "fig" / "rd.pdf",
    }


def test_calibrate_writes_every_output(tmp_path):
    test = write_predictions(tmp_path / "test.parquet", 300, 2.0, seed=0, error_rows=(5, 6))
    out = outputs(tmp_path / "out")
    m = calibrate(test, **out, n_bins=10, bootstrap=50, seed=3, title="video_coop/ucf101/run-0 on ucf101 (test)")
    assert m == read_json(out["out_metrics"])
    assert (m["model"], m["dataset"], m["split"], m["n"], m["num_errors"]) == (
        "video_coop/ucf101/run-0",
        "ucf101",
        "test",
        298,
        2,
    )
    assert m["n_bins"] == 10 and m["temperature"] == 1.0 and m["temperature_source"] == "none"
    assert m["temperature_scaled"] is None
    for name in METRICS:
        lo, hi = m[f"{name}_ci95"]
        assert math.isfinite(m[name]) and lo <= hi
    assert sum(m["bin_counts"]) == 298 and len(m["bin_counts"]) == 10 and sum(m["adaptive_bin_counts"]) == 298
    bins = pq.read_table(out["out_bins"]).to_pydict()
    assert set(bins) >= {"lower", "upper", "count", "mean_confidence", "accuracy", "gap", "stage", "scheme"}
    assert set(bins["stage"]) == {"raw"} and set(bins["scheme"]) == {"equal-width", "equal-mass"}
    width = [c for c, s in zip(bins["count"], bins["scheme"]) if s == "equal-width"]
    assert width == m["bin_counts"]
    with Image.open(out["out_png"]) as im:
        assert im.info["dpi"] == pytest.approx((200, 200), abs=0.1)
        assert 600 <= im.width <= 720  # one column (3.4 in at 200 dpi, tight box)
    assert out["out_pdf"].read_bytes().startswith(b"%PDF")
    leftovers = [p.name for p in (tmp_path / "out").rglob("*") if ".tmp" in p.name]
    assert leftovers == []


def test_metrics_match_a_direct_computation(tmp_path):
    test = write_predictions(tmp_path / "test.parquet", 200, 1.0, seed=1)
    m = calibrate(test, **outputs(tmp_path), n_bins=15, bootstrap=0)
    table = pq.read_table(test)
    logits = np.stack(table.column("logits").to_numpy(zero_copy_only=False))
    direct = MetricSuite(Scores.from_logits(logits, table.column("label").to_numpy()), 15).point()
    for name in METRICS:
        assert m[name] == pytest.approx(direct[name], abs=1e-12)
        assert m[f"{name}_ci95"] is None


def test_fixed_temperature_divides_the_logits(tmp_path):
    test = write_predictions(tmp_path / "test.parquet", 200, 2.0, seed=2)
    m = calibrate(test, **outputs(tmp_path / "a"), bootstrap=0, temperature=2.0)
    ref = calibrate(
        write_predictions(tmp_path / "half.parquet", 200, 1.0, seed=2), **outputs(tmp_path / "b"), bootstrap=0
    )
    assert m["temperature"] == 2.0 and m["temperature_source"] == "fixed"
    for name in METRICS:  # logits*2/2 == logits*1 up to float32 rounding of the stored logits
        assert m[name] == pytest.approx(ref[name], abs=1e-6)


def test_fitted_temperature_adds_metrics_after_scaling_and_a_second_panel(tmp_path):
    test = write_predictions(tmp_path / "test.parquet", 400, 3.0, seed=3)
    val = write_predictions(tmp_path / "val.parquet", 400, 3.0, seed=4, split="val")
    out = outputs(tmp_path / "out")
    m = calibrate(test, **out, bootstrap=30, val_predictions=val)
    ts = m["temperature_scaled"]
    assert m["temperature_source"] == "fitted" and m["temperature"] == 1.0
    assert 2.0 < ts["temperature"] < 4.5 and ts["val_n"] == 400 and not ts["at_bound"]
    assert ts["val_nll_after"] < ts["val_nll_before"]
    assert ts["ece"] < m["ece"] and ts["nll"] < m["nll"]
    assert ts["accuracy"] == m["accuracy"]  # a temperature never changes the top class
    assert all(f"{name}_ci95" in ts for name in METRICS)
    bins = pq.read_table(out["out_bins"]).to_pydict()
    assert set(bins["stage"]) == {"raw", "scaled"}
    assert {t for t, s in zip(bins["temperature"], bins["stage"]) if s == "scaled"} == {ts["temperature"]}
    with Image.open(out["out_png"]) as im:
        assert im.width > 1200  # two panels, text width


def test_option_and_input_errors_are_clear(tmp_path):
    test = write_predictions(tmp_path / "test.parquet", 50, 1.0, seed=5)
    val = write_predictions(tmp_path / "val.parquet", 50, 1.0, seed=6, split="val")
    with pytest.raises(ValueError, match="either a fixed temperature or val_predictions"):
        calibrate(test, **outputs(tmp_path / "a"), val_predictions=val, temperature=1.5)
    other = write_predictions(tmp_path / "other.parquet", 50, 1.0, seed=6, key="stt/ucf101/x")
    with pytest.raises(ValueError, match="model 'stt/ucf101/x'"):
        calibrate(test, **outputs(tmp_path / "b"), val_predictions=other, bootstrap=0)
    renamed = write_predictions(tmp_path / "renamed.parquet", 50, 1.0, seed=6, classes=[f"c{i}" for i in range(K)])
    with pytest.raises(ValueError, match="different class list"):
        calibrate(test, **outputs(tmp_path / "c"), val_predictions=renamed, bootstrap=0)
    with pytest.raises(ValueError, match="positive finite"):
        calibrate(test, **outputs(tmp_path / "d"), temperature=0.0, bootstrap=0)
    assert not (tmp_path / "a" / "metrics.json").exists()


def test_non_finite_logits_stop_the_stage_naming_the_clips(tmp_path):
    test = write_predictions(tmp_path / "test.parquet", 40, 1.0, seed=7, nan_rows=(3, 17))
    with pytest.raises(NonFiniteLogitsError, match=r"v_0003\.avi, class_\d/v_0017\.avi"):
        calibrate(test, **outputs(tmp_path / "out"), bootstrap=0)
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_rows_marked_error_are_skipped_even_with_nan_logits(tmp_path):
    test = write_predictions(tmp_path / "test.parquet", 40, 1.0, seed=8, nan_rows=(3,), error_rows=(3,))
    m = calibrate(test, **outputs(tmp_path / "out"), bootstrap=0)
    assert m["n"] == 39 and m["num_errors"] == 1


def test_summarize_writes_table_csv_and_comparison(tmp_path):
    labels = ["video_coop/ucf101/best-attention-0", "stt/ucf101/best-true-val"]
    metrics, bins = [], []
    for i, (label, scale) in enumerate(zip(labels, (3.0, 0.8))):
        d = tmp_path / str(i)
        d.mkdir()
        test = write_predictions(d / "test.parquet", 300, scale, seed=10 + i, key=label)
        val = write_predictions(d / "val.parquet", 300, scale, seed=20 + i, key=label) if i == 0 else None
        calibrate(test, **outputs(d), bootstrap=20, val_predictions=val)
        metrics.append(d / "metrics.json")
        bins.append(d / "bins.parquet")
    out = tmp_path / "summary"
    summarize(metrics, bins, labels, out / "summary.csv", out / "summary.tex", out / "cmp.png", out / "cmp.pdf")
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["label"] for r in rows] == labels
    assert float(rows[0]["ece"]) == read_json(metrics[0])["ece"]
    assert rows[0]["ts_temperature"] != "" and rows[1]["ts_temperature"] == ""
    tex = (out / "summary.tex").read_text()
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "video\\_coop/ucf101/best-attention-0" in tex and "$T$" in tex
    assert tex.count("\\textbf{") == 7  # the best of each main column; T and ECE_TS have one value only
    with Image.open(out / "cmp.png") as im:
        assert im.info["dpi"] == pytest.approx((200, 200), abs=0.1)
    with pytest.raises(ValueError, match="one label per"):
        summarize(metrics, bins, labels[:1], out / "a.csv", out / "a.tex", out / "a.png", out / "a.pdf")


def test_bins_file_types_and_empty_bins(tmp_path):
    """bins.parquet's column types, and an empty bin's statistics stored as NaN values, not nulls."""
    test = write_predictions(tmp_path / "test.parquet", 30, 4.0, seed=3)
    out = outputs(tmp_path)
    m = calibrate(test, **out, n_bins=40, bootstrap=0)
    table = pq.read_table(out["out_bins"])
    assert dict(zip(table.schema.names, table.schema.types)) == {
        "stage": pa.string(),
        "temperature": pa.float64(),
        "scheme": pa.string(),
        "bin": pa.int32(),
        **{k: pa.float64() for k in ("lower", "upper")},
        "count": pa.int64(),
        **{k: pa.float64() for k in ("mean_confidence", "accuracy", "gap")},
    }
    assert all(c.null_count == 0 for c in table.columns)
    t = table.to_pydict()
    width = [i for i, s in enumerate(t["scheme"]) if s == "equal-width"]
    assert [t["bin"][i] for i in width] == list(range(40)) and [t["count"][i] for i in width] == m["bin_counts"]
    empty = [i for i in width if t["count"][i] == 0]
    assert empty and all(math.isnan(t["accuracy"][i]) for i in empty)


def test_calibrate_and_summary_jobs_import_neither_pandas_nor_scipy(tmp_path):
    """Start-up is much of these jobs: pandas (pyarrow's read_table, to_numpy and pa.array import it, 0.2 s) and
    scipy (0.3 s for scipy.optimize) stay out unless a temperature is fitted or the prompt-tuning convention asks for scipy."""
    test = write_predictions(tmp_path / "test.parquet", 80, 1.0, seed=0, error_rows=(2,))
    out = {k: str(v) for k, v in outputs(tmp_path / "a").items()}
    s = {k: str(tmp_path / f"summary.{k}") for k in ("csv", "tex", "png", "pdf")}
    code = (
        "import sys\n"
        "from videoxai.calibration.stage import calibrate, summarize\n"
        f"m = calibrate({str(test)!r}, **{out!r}, n_bins=5, bootstrap=5, title='t')\n"
        f"summarize([{out['out_metrics']!r}], [{out['out_bins']!r}], ['m'], "
        f"{s['csv']!r}, {s['tex']!r}, {s['png']!r}, {s['pdf']!r})\n"
        "assert m['n'] == 79\n"
        "print(sorted(k for k in ('pandas', 'scipy', 'pyarrow.dataset') if k in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert Path(s["pdf"]).read_bytes().startswith(b"%PDF")


def test_temperature_warnings_reach_the_job_log_and_metrics_json(tmp_path, caplog):
    """4 val clips, all wrong (the user's case): T at its upper bound means "no information", and 4 clips are too few."""
    from tests.unit.test_calibration_prompt_tuning import write_predictions as write_logits

    rng = np.random.default_rng(0)
    labels = rng.integers(0, K, 200)
    logits = rng.normal(size=(200, K)).astype(np.float32)
    logits[np.arange(200), labels] += 2.0
    test = write_logits(tmp_path / "test.parquet", logits, labels)
    val_logits = np.eye(K, dtype=np.float32)[:4] * 3.0
    val = write_logits(tmp_path / "val.parquet", val_logits, np.array([1, 2, 3, 4]))
    with caplog.at_level("WARNING", logger="videoxai.calibration"):
        m = calibrate(test, **outputs(tmp_path / "out"), bootstrap=0, val_predictions=val)
    ts = m["temperature_scaled"]
    assert (ts["val_n"], ts["val_errors"], ts["bound"], ts["at_bound"]) == (4, 4, "upper", True)
    firsts = [w.split("\n")[0] for w in ts["warnings"]]
    assert firsts == [
        "temperature scaling: too few val clips to fit T: 4 clips, 4 of them misclassified (it needs at least 50 "
        "clips and 20 misclassified ones)",
        "temperature scaling: T hit its upper bound (T = 100): the val NLL keeps falling as the predictions flatten "
        "towards uniform",
    ]
    assert [r.getMessage() for r in caplog.records] == ts["warnings"]
    assert read_json(tmp_path / "out" / "metrics.json")["temperature_scaled"]["warnings"] == ts["warnings"]
