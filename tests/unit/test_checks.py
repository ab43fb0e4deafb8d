"""A file that looks finished but is not (cut short, zero-filled, another format) is caught and names itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from videoxai.checks import (
    BrokenFileError,
    broken_outputs,
    check_file,
    check_heatmaps,
    check_mp4,
    check_predictions,
    is_product,
    problems,
    rebuild_all_command,
    rebuild_command,
)
from videoxai.explain.store import (
    HeatmapSet,
    load_clip_list,
    load_heatmaps,
    load_maps,
    save_heatmaps,
)
from videoxai.extract.predictions import PredictionWriter, load_predictions

CLASSES = ["a", "b", "c"]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path, as the workflow does in its working directory (results/ and figures/ are its outputs)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_predictions(path: Path, n: int = 40) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    w = PredictionWriter(path, len(CLASSES), {"class_names": CLASSES, "model_key": "m/d/r"})
    rng = np.random.default_rng(0)
    for start in range(0, n, 10):
        k = range(start, start + 10)
        w.write(
            {
                "sample_id": [f"clip{i}" for i in k],
                "label": [i % 3 for i in k],
                "label_name": [CLASSES[i % 3] for i in k],
                "pred": [0] * 10,
                "confidence": [0.5] * 10,
                "logits": rng.normal(size=(10, 3)).tolist(),
                "frame_indices": [[0, 1]] * 10,
                "padded": [False] * 10,
                "status": ["ok"] * 10,
                "error": [""] * 10,
            }
        )
    w.close()
    return path


def write_heatmaps(path: Path, n: int = 2) -> Path:
    clips = [{"sample_id": f"c{i}", "class_index": 0, "sample_index": i} for i in range(n)]
    save_heatmaps(
        path,
        HeatmapSet(
            np.full((n, 4, 3, 3), 0.5, np.float16),
            np.ones((n, 4), np.float32),
            np.zeros((n, 4, 8, 8, 3), np.uint8),
            clips,
            {"method": "grad-cam"},
        ),
    )
    return path


def write_mp4(path: Path) -> Path:
    from videoxai.render.video import encode_mp4

    encode_mp4((np.full((16, 16, 3), i * 20, np.uint8) for i in range(6)), path, fps=4)
    return path


def cut(path: Path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def zero_tail(path: Path, n: int = 64) -> None:
    """Same size, last bytes zeroed: what a full disk on another host or a sparse copy leaves."""
    data = bytearray(path.read_bytes())
    data[-n:] = b"\0" * n
    path.write_bytes(bytes(data))


def test_whole_files_pass(in_tmp: Path) -> None:
    paths = [
        write_predictions(in_tmp / "results/predictions/m/d/r/demo/test.parquet"),
        write_heatmaps(in_tmp / "results/explain/h/heatmaps.safetensors"),
        write_mp4(in_tmp / "figures/v.mp4"),
    ]
    (in_tmp / "results/x.json").write_text("{}")
    paths.append(in_tmp / "results/x.json")
    assert problems(paths, deep=True) == []
    assert broken_outputs(["results", "figures"]) == []


@pytest.mark.parametrize("damage", [cut, zero_tail], ids=["cut-short", "zero-tail"])
def test_broken_predictions_are_named_with_the_command_that_rebuilds_them(in_tmp: Path, damage) -> None:
    path = write_predictions(Path("results/predictions/m/d/r/demo/test.parquet"))
    damage(path)
    with pytest.raises(BrokenFileError) as e:
        load_predictions(path)
    msg = str(e.value)
    assert str(path) in msg
    assert rebuild_command(path) in msg
    assert f"snakemake --cores all --forcerun {path}" in msg


def test_predictions_without_their_metadata_are_broken(in_tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = in_tmp / "results/predictions/p.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"sample_id": ["a"], "label": [0]}), path)
    with pytest.raises(BrokenFileError, match="lacks column"):
        check_predictions(path)


def grow(path: Path) -> None:
    """Bytes appended: a copy that wrote one file over another, longer one."""
    path.write_bytes(path.read_bytes() + b"\0" * 100)


# (A zeroed tail of a safetensors file stays valid when it falls in tensor data: no checksum covers it.)
@pytest.mark.parametrize("damage", [cut, grow], ids=["cut-short", "grown"])
def test_broken_heatmaps_are_named_by_every_reader(in_tmp: Path, damage) -> None:
    path = write_heatmaps(Path("results/explain/m/heatmaps.safetensors"))
    assert len(load_heatmaps(path, 1)) == 1
    damage(path)
    for read in (load_heatmaps, load_clip_list, load_maps):
        with pytest.raises(BrokenFileError, match="heatmaps.safetensors") as e:
            read(path)
        assert rebuild_command(path) in str(e.value)


def test_heatmaps_missing_a_tensor_are_broken(in_tmp: Path) -> None:
    from safetensors.numpy import save_file

    path = in_tmp / "heatmaps.safetensors"
    save_file({"heatmaps": np.zeros((1, 2, 3, 3), np.float16)}, str(path), metadata={"clips": "[]", "params": "{}"})
    with pytest.raises(BrokenFileError, match="lacks tensor 'temporal_importance'"):
        check_heatmaps(path)


def test_random_bytes_are_not_safetensors(in_tmp: Path) -> None:
    path = in_tmp / "results" / "model.safetensors"
    path.parent.mkdir()
    path.write_bytes(os.urandom(4096))
    with pytest.raises(BrokenFileError):
        check_file(path)


def test_mp4_cut_short_or_empty_is_caught_cheaply_and_deeply(in_tmp: Path) -> None:
    path = write_mp4(in_tmp / "figures/v.mp4")
    check_mp4(path, deep=True)
    cut(path, 0.8)
    with pytest.raises(BrokenFileError, match="runs past the end"):
        check_mp4(path)
    path.write_bytes(b"")
    with pytest.raises(BrokenFileError, match="empty"):
        check_mp4(path)


def test_mp4_with_garbage_frames_fails_the_deep_check(in_tmp: Path) -> None:
    path = write_mp4(in_tmp / "figures/v.mp4")
    data = bytearray(path.read_bytes())
    # overwrite the coded frames (the mdat payload) but keep every box's size: only decoding can tell
    start = data.find(b"mdat") + 4
    data[start:] = os.urandom(len(data) - start)
    path.write_bytes(bytes(data))
    check_mp4(path)  # the structure still looks whole
    with pytest.raises(BrokenFileError):
        check_mp4(path, deep=True)


def test_png_pdf_json(in_tmp: Path) -> None:
    from PIL import Image

    png = in_tmp / "figures/a.png"
    png.parent.mkdir()
    Image.new("RGB", (4, 4)).save(png)
    check_file(png, deep=True)
    cut(png, 0.7)
    pdf = in_tmp / "figures/a.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
    check_file(pdf)
    js = in_tmp / "results/a.json"
    js.parent.mkdir()
    js.write_text(json.dumps({"a": [1, 2]})[:-3])
    found = dict(problems([png, pdf, js, in_tmp / "results/none.json"]))
    assert set(found) == {str(png), str(js), str(in_tmp / "results/none.json")}
    assert found[str(in_tmp / "results/none.json")] == "missing"


def test_scan_skips_temporaries_and_finds_broken_outputs(in_tmp: Path) -> None:
    good = write_predictions(Path("results/predictions/m/d/r/demo/test.parquet"))
    bad = write_predictions(Path("results/predictions/m/d/r/demo/val.parquet"))
    cut(bad)
    (good.parent / ".test.parquet.tmp-0123abcd.parquet").write_bytes(b"half")
    assert [p for p, _ in broken_outputs(["results"])] == [str(bad)]


def test_only_workflow_outputs_get_the_rebuild_command(in_tmp: Path) -> None:
    assert is_product("results/a.json") and is_product(in_tmp / "figures" / "b.png")
    assert not is_product("checkpoints/x/model.safetensors") and not is_product("/elsewhere/results/a.json")
    bad = in_tmp / "checkpoints" / "config.json"
    bad.parent.mkdir()
    bad.write_text("{")
    with pytest.raises(BrokenFileError, match="replace it with a good copy"):
        check_file(bad)


def test_a_file_in_a_folder_output_is_rebuilt_with_its_folder(in_tmp: Path) -> None:
    folder = in_tmp / "figures" / "x" / "video_samples"
    folder.mkdir(parents=True)
    (folder / ".snakemake_timestamp").touch()
    video = folder / "class_0_sample_0.mp4"
    assert rebuild_command(video) == f"snakemake --cores all --forcerun {folder}"
    assert rebuild_all_command([video, folder / "class_1_sample_0.mp4", "results/a b.json"]) == (
        f"snakemake --cores all --forcerun {folder} 'results/a b.json'"
    )
