"""Finding every calibration result on disk by its path: what the summaries and the notebook API cover."""

from __future__ import annotations

from pathlib import Path

from videoxai.calibration.catalog import find_calibration_results, result_at
from videoxai.calibration.table import summary_rows


def touch(root: Path, rel: str, names=("metrics.json", "bins.parquet")) -> None:
    folder = root / "calibration" / rel
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("{}")


def test_every_variant_with_both_files_is_found_and_nothing_else(tmp_path: Path) -> None:
    touch(tmp_path, "video_coop/demo/tiny/demo/test")
    touch(tmp_path, "video_coop/demo/tiny/demo/test+pt+b10+ts")
    touch(tmp_path, "stt/ucf101/best-mean/ucf101/test+ckpt-1.pt")
    touch(tmp_path, "stt/ucf101/best-mean/ucf101/test+b7", names=("metrics.json",))  # half written: no bins
    touch(tmp_path, "stt/ucf101/best-mean/ucf101/test+b10+pt")  # not a split name the workflow writes
    touch(tmp_path, "stt/ucf101/best-mean/ucf101")  # not a result's folder
    found = find_calibration_results(tmp_path)
    assert [(r.model, r.test, r.variant) for r in found] == [
        ("stt/ucf101/best-mean", "ucf101", "test+ckpt-1.pt"),
        ("video_coop/demo/tiny", "demo", "test"),
        ("video_coop/demo/tiny", "demo", "test+pt+b10+ts"),
    ]
    assert found[1] == result_at(tmp_path, "video_coop", "demo", "tiny", "demo", "test")
    assert found[2].label == "video_coop/demo/tiny on demo (test+pt+b10+ts)"
    assert found[0].wildcards() == {
        "method": "stt",
        "train": "ucf101",
        "run": "best-mean",
        "test": "ucf101",
        "split": "test+ckpt-1.pt",
    }
    assert find_calibration_results(tmp_path / "nowhere") == []


def test_summary_rows_name_each_variant_and_its_settings() -> None:
    metrics = [{"model": "m/d/r", "ece": 0.1}, {"model": "m/d/r", "ece": 0.2}]
    rows = summary_rows(["a", "b"], metrics, ["test", "test+tta+v2+ckpt-3.pt+pt"])
    assert [r["variant"] for r in rows] == ["test", "test+tta+v2+ckpt-3.pt+pt"]
    assert (rows[0]["use-augmentation"], rows[0]["num-temporal-views"], rows[0]["checkpoint-file"]) == (
        False,
        None,
        None,
    )
    assert (rows[1]["use-augmentation"], rows[1]["num-temporal-views"], rows[1]["checkpoint-file"]) == (True, 2, "3.pt")
    assert "variant" not in summary_rows(["a"], metrics[:1])[0]  # without variants: the columns as before


def test_notebook_api_reads_every_result_and_draws_chosen_curves(tmp_path: Path) -> None:
    """videoxai.results(): one DataFrame row per result with its settings; plot_reliability draws chosen rows."""
    import videoxai
    from tests.unit.test_calibration_stage import write_predictions
    from videoxai.calibration.stage import calibrate

    preds = write_predictions(tmp_path / "test.parquet", 300, 1.0, 0)
    root = tmp_path / "results"
    for split, bins in (("test", 15), ("test+b10", 10)):
        r = result_at(root, "m", "d", "r", "d", split)
        calibrate(
            preds, r.metrics, r.bins, tmp_path / f"{split}.png", tmp_path / f"{split}.pdf", n_bins=bins, bootstrap=20
        )
    frame = videoxai.results(root)
    assert list(frame["variant"]) == ["test", "test+b10"] and list(frame["n_bins"]) == [15, 10]
    assert (frame["ece_ci_low"] <= frame["ece_debiased"]).all() and (
        frame["ece_debiased"] <= frame["ece_ci_high"]
    ).all()
    out = tmp_path / "chosen.png"
    videoxai.plot_reliability(frame[frame["n_bins"] == 10], out)
    assert out.stat().st_size > 5000 and out.with_suffix(".pdf").is_file()
