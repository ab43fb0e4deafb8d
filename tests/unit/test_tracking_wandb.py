"""wandb logging, offline, for real: runs named and grouped like prompt-tuning, resumable ids, no API key on disk."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from matplotlib.figure import Figure

from tests.unit.test_render_fixtures import make_heatmaps
from videoxai.render import aggregate_stats, render_clip
from videoxai.tracking.wandb import (
    WandbSettings,
    explainer_label,
    flatten_numbers,
    log_calibration,
    log_explanations,
    run_id,
    run_name,
    scrub,
)

pytest.importorskip("wandb", reason="wandb is not installed: pip install wandb")
FAKE_KEY = "fakewandbkey0123456789abcdef0123456789abcd"
KEY = "video_coop/ucf101/best-attention-0"


def wandb_records(path: Path) -> list[Any]:
    """Read a .wandb file (LevelDB log format: 32 KiB blocks, 7-byte record headers) into protobuf Records."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, block, pos, buf, out = path.read_bytes(), 32768, 7, b"", []
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0 and length == 0:  # zero padding up to the block end
            pos += block - pos % block
            continue
        buf += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST: a whole record
            rec = pb.Record()
            rec.ParseFromString(buf)
            out.append(rec)
            buf = b""
    return out


def logged(records: list[Any], kind: str) -> dict[str, Any]:
    """Top-level key -> JSON value (or dict of sub-fields) over all history or summary records."""
    out: dict[str, Any] = {}
    for r in records:
        if r.WhichOneof("record_type") != kind:
            continue
        for item in r.history.item if kind == "history" else r.summary.update:
            path = [item.key] if item.key else list(item.nested_key)
            value = json.loads(item.value_json)
            if len(path) == 1:
                out[path[0]] = value
            else:
                out.setdefault(path[0], {})["/".join(path[1:])] = value
    return out


def run_record(records: list[Any]) -> Any:
    return next(r.run for r in records if r.WhichOneof("record_type") == "run")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake API key in the environment, and every place wandb might write redirected under tmp_path."""
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    for var, sub in [
        ("HOME", "home"),
        ("WANDB_CONFIG_DIR", "wbconfig"),
        ("WANDB_CACHE_DIR", "wbcache"),
        ("WANDB_DATA_DIR", "wbdata"),
        ("WANDB_ARTIFACT_DIR", "wbartifacts"),
        ("TMPDIR", "tmp"),
    ]:
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_key_nowhere(root: Path) -> None:
    hits = [str(p) for p in root.rglob("*") if p.is_file() and FAKE_KEY.encode() in p.read_bytes()]
    assert not hits, f"API key written to {hits}"


def test_settings_names_and_ids() -> None:
    s = WandbSettings.from_config({"use-wandb": True, "wandb-dir": "w"})
    assert (s.enabled, s.mode, s.dir, s.active) == (True, "offline", Path("w"), True)
    assert not WandbSettings.from_config({}).active
    assert not WandbSettings.from_config({"use-wandb": True, "wandb-mode": "disabled"}).active
    with pytest.raises(ValueError, match="offline, online, disabled"):
        WandbSettings.from_config({"wandb-mode": "offlien"})
    assert run_name("Calibration", KEY) == f"Calibration-{KEY}"
    assert run_name(explainer_label("grad-cam"), KEY) == f"GRADCAM-{KEY}"
    assert explainer_label("attention-rollout") == "ATTENTIONROLLOUT"
    a = run_id("Calibration", KEY, "ucf101", "test")
    assert a == run_id("Calibration", KEY, "ucf101", "test")
    others = {
        run_id("Calibration", KEY, "hmdb51", "test"),
        run_id("GRADCAM", KEY, "ucf101", "test"),
        run_id("Calibration", "video_coop/ucf101/best-attention-1", "ucf101", "test"),
    }
    assert a not in others and len(others) == 3
    assert all(c.isalnum() or c in "-_" for c in a) and len(a) <= 64
    with pytest.raises(ValueError, match="invalid model key"):
        run_name("Calibration", "../etc")


def test_scrub_and_flatten() -> None:
    assert scrub({"a": 1, "wandb_api_key": "x", "nested": [{"Token": "y", "b": 2}]}) == {"a": 1, "nested": [{"b": 2}]}
    assert flatten_numbers({"ece": 0.1, "per_bin": [1, 2], "name": "x", "o": {"n": 3, "ok": True}}) == {
        "ece": 0.1,
        "o/n": 3,
        "o/ok": True,
    }


def _calibration_inputs(root: Path) -> tuple[Path, Path, list[Path]]:
    metrics = root / "metrics.json"
    metrics.write_text(
        json.dumps(
            {
                "ece": 0.0731,
                "mce": 0.21,
                "accuracy": 0.8125,
                "n_samples": 64,
                "n_bins": 15,
                "temperature": {"value": 1.7, "ece_after": 0.031},
                "dataset": "ucf101",
            }
        )
    )
    bins = root / "bins.parquet"
    pq.write_table(
        pa.table(
            {"bin": np.arange(3), "confidence": [0.2, 0.5, 0.9], "accuracy": [0.1, 0.6, 0.8], "count": [5, 20, 39]}
        ),
        bins,
    )
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    png, pdf = root / "reliability_diagram.png", root / "reliability_diagram.pdf"
    fig.savefig(png)
    fig.savefig(pdf)
    return metrics, bins, [png, pdf]


def test_log_calibration_offline_resumes_same_run(env: Path) -> None:
    metrics, bins, diagrams = _calibration_inputs(env)
    settings = {"use-wandb": True, "wandb-mode": "offline", "wandb-dir": str(env / "wandb-runs")}
    rec = log_calibration(
        metrics,
        bins,
        diagrams,
        KEY,
        "ucf101",
        "test",
        settings,
        env / "track.json",
        config={"n-bins": 15, "wandb_api_key": FAKE_KEY},
    )
    assert json.loads((env / "track.json").read_text()) == rec
    assert rec["run_name"] == f"Calibration-{KEY}" and rec["group"] == KEY
    assert rec["run_id"] == run_id("Calibration", KEY, "ucf101", "test")
    run_dir = Path(rec["run_dir"])
    assert run_dir.parent.parent == env / "wandb-runs" and rec["run_id"] in run_dir.name
    (wandb_file,) = run_dir.glob("*.wandb")
    records = wandb_records(wandb_file)
    run = run_record(records)
    assert (run.run_id, run.display_name, run.run_group, run.job_type) == (
        rec["run_id"],
        f"Calibration-{KEY}",
        KEY,
        "calibration",
    )
    config = {u.key: json.loads(u.value_json) for u in run.config.update}
    assert config["n-bins"] == 15 and config["dataset_test"] == "ucf101" and "wandb_api_key" not in config
    history = logged(records, "history")
    assert history["ece"] == 0.0731 and history["temperature/ece_after"] == 0.031
    assert history["calibration/bins"]["nrows"] == 3 and history["calibration/bins"]["ncols"] == 4
    assert "reliability_diagram/reliability_diagram" in history and "dataset" not in history
    (table,) = run_dir.glob("files/media/table/**/*.table.json")
    assert json.loads(table.read_text())["columns"] == ["bin", "confidence", "accuracy", "count"]
    assert len(list(run_dir.glob("files/media/images/**/*.png"))) == 1  # the PDF is not an image

    again = log_calibration(metrics, bins, diagrams, KEY, "ucf101", "test", settings, env / "track.json")
    assert again["run_id"] == rec["run_id"]  # same id: wandb resumes it (online, or at `wandb sync`)
    assert_key_nowhere(env)


def test_log_explanations_offline(env: Path) -> None:
    hm = make_heatmaps(env / "heatmaps.safetensors", n=3, t=6, size=32, grid=4)
    folder = env / "figures" / "GRADCAM"
    videos, pngs = [], []
    for i in range(2):
        videos.append(folder / "video_samples" / f"class_{i}_sample_0.mp4")
        pngs.append(folder / "attention_maps" / f"class_{i}_sample_0.png")
        render_clip(hm, i, videos[-1], pngs[-1])
    stats = aggregate_stats(hm, folder / "aggregated_stats.json")
    settings = WandbSettings(enabled=True, dir=env / "wandb-runs")
    rec = log_explanations(
        folder / "aggregated_stats.json", videos, pngs, KEY, "grad-cam", "ucf101", "test", settings, env / "track.json"
    )
    assert rec["run_name"] == f"GRADCAM-{KEY}" and rec["group"] == KEY
    run_dir = Path(rec["run_dir"])
    records = wandb_records(next(run_dir.glob("*.wandb")))
    history, summary = logged(records, "history"), logged(records, "summary")
    assert history["videos/class_0_sample_0"]["_type"] == "video-file"
    assert history["attention_maps/class_1_sample_0"]["_type"] == "image-file"
    assert history["per_class"]["nrows"] == stats["n_classes"]
    assert "temporal_importance_table" in history  # wandb.plot.line_series stores its data as a table
    assert summary["stats/overall/accuracy"] == stats["overall"]["accuracy"]
    assert summary["stats/n_clips"] == 3
    logged_videos = sorted(run_dir.glob("files/media/videos/**/*.mp4"))
    assert {p.read_bytes() for p in logged_videos} == {v.read_bytes() for v in videos}  # by path, not re-encoded
    assert_key_nowhere(env)


def test_disabled_writes_record_and_starts_nothing(env: Path) -> None:
    metrics, bins, diagrams = _calibration_inputs(env)
    for cfg in ({"use-wandb": False}, {"use-wandb": True, "wandb-mode": "disabled"}):
        rec = log_calibration(
            metrics,
            bins,
            diagrams,
            KEY,
            "ucf101",
            "test",
            {**cfg, "wandb-dir": str(env / "wandb-runs")},
            env / "track.json",
        )
        assert rec["enabled"] is False and json.loads((env / "track.json").read_text()) == rec
    assert not (env / "wandb-runs").exists()
