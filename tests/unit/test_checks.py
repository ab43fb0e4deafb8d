"""A file that looks finished but is not (cut short, zero-filled, another format), or is whole but not what was
written (another run's file, a flipped byte), is caught and names itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from videoxai import checksums
from videoxai.checks import check_file, check_mp4, problems
from videoxai.explain.store import (
    HeatmapSet,
    check_heatmaps,
    load_clip_list,
    load_heatmaps,
    load_maps,
    save_heatmaps,
)
from videoxai.extract.predictions import PredictionWriter, check_predictions, load_predictions
from videoxai.io import atomic_path
from videoxai.outdated import damaged_outputs
from videoxai.rebuild import BrokenFileError, is_product, rebuild_all_command, rebuild_command

CLASSES = ["a", "b", "c"]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path, as the workflow does in its working directory (results/ and figures/ are its outputs)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_predictions(path: Path, n: int = 40) -> Path:
    """As extraction writes them: streamed to a temporary, renamed into place, recorded."""
    with atomic_path(path) as tmp:
        _write_predictions(tmp, n)
    return path


def _write_predictions(path: Path, n: int) -> None:
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


def unrecorded(path: Path) -> Path:
    """The file without its content record (written by an earlier version): only its structure can be checked."""
    checksums.record_path(path).unlink()
    return path


def keep_mtime(change):
    """``change`` applied with the file's mtime put back, as ``touch -r`` would."""

    def changed(path: Path, *args) -> None:
        st = path.stat()
        change(path, *args)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    changed.__name__ = change.__name__
    return changed


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
    assert damaged_outputs(["results", "figures"]) == []


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
    path = unrecorded(write_mp4(in_tmp / "figures/v.mp4"))
    check_mp4(path, deep=True)
    cut(path, 0.8)
    with pytest.raises(BrokenFileError, match="runs past the end"):
        check_mp4(path)
    path.write_bytes(b"")
    with pytest.raises(BrokenFileError, match="empty"):
        check_mp4(path)


def test_mp4_with_garbage_frames_fails_the_deep_check(in_tmp: Path) -> None:
    path = unrecorded(write_mp4(in_tmp / "figures/v.mp4"))
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


def test_scan_skips_temporaries_and_finds_damaged_outputs(in_tmp: Path) -> None:
    good = write_predictions(Path("results/predictions/m/d/r/demo/test.parquet"))
    bad = write_predictions(Path("results/predictions/m/d/r/demo/val.parquet"))
    cut(bad)
    (good.parent / ".test.parquet.videoxai-tmp-0123456789abcdef.parquet").write_bytes(b"half")
    assert [p for p, _ in damaged_outputs(["results"])] == [str(bad)]


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


# ------------------------------------------------------------------------------- content records (issue 26)


def flip(path: Path, where: float = 0.5) -> None:
    """One byte changed in the middle of the file, its size kept."""
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x5A
    path.write_bytes(bytes(data))


def test_another_models_predictions_copied_over_with_the_mtime_kept_are_named(in_tmp: Path) -> None:
    """A valid Parquet of the wrong content: the structure is whole, the content record says it is not ours."""
    path = write_predictions(Path("results/predictions/m/d/r/demo/test.parquet"), n=40)
    other = write_predictions(Path("results/predictions/o/d/r/demo/test.parquet"), n=30)
    keep_mtime(lambda p: p.write_bytes(other.read_bytes()))(path)
    with pytest.raises(BrokenFileError, match=r"were written \(changed or replaced since\)") as e:
        load_predictions(path)
    assert f"--forcerun {path}" in str(e.value)
    assert [p for p, _ in damaged_outputs(["results"])] == [str(path)]


@pytest.mark.parametrize("where", [0.3, 0.97], ids=["data", "metadata"])
def test_a_flipped_byte_in_predictions_is_caught_by_planning_and_reader(in_tmp: Path, where: float) -> None:
    path = write_predictions(Path("results/predictions/m/d/r/demo/test.parquet"))
    keep_mtime(flip)(path, where)
    cache = checksums.HashCache(None)
    found = dict(damaged_outputs(["results"], cache))
    assert "its content is not what was written" in found[str(path)]
    assert cache.hashed == 1  # only the changed file was read
    with pytest.raises(BrokenFileError, match="its content is not what was written"):
        load_predictions(path)


def test_page_checksums_catch_a_flipped_byte_without_a_record(in_tmp: Path) -> None:
    """A file copied without its record (or from before records): Parquet's own page CRCs still catch a flip."""
    path = unrecorded(write_predictions(Path("results/predictions/m/d/r/demo/test.parquet"), n=400))
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata.row_group(0).column(5)  # logits
    start = (meta.dictionary_page_offset or meta.data_page_offset) + meta.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BrokenFileError, match="cannot be read"):
        load_predictions(path)
    assert str(path) in dict(problems([path], deep=True))


@pytest.mark.parametrize("where", [0.5, 0.9])
def test_a_flipped_byte_in_heatmaps_is_named_by_every_reader(in_tmp: Path, where: float) -> None:
    """Inside the tensor data no structure can tell; the record can."""
    path = write_heatmaps(Path("results/explain/m/heatmaps.safetensors"))
    keep_mtime(flip)(path, where)
    for read in (load_heatmaps, load_clip_list, load_maps):
        with pytest.raises(BrokenFileError, match="its content is not what was written") as e:
            read(path)
        assert rebuild_command(path) in str(e.value)
    assert [p for p, _ in damaged_outputs(["results"])] == [str(path)]


def test_a_flipped_byte_in_a_video_is_found_while_planning(in_tmp: Path) -> None:
    path = write_mp4(Path("figures/x/video_samples/class_0_sample_0.mp4"))
    keep_mtime(flip)(path, 0.8)
    found = dict(damaged_outputs(["figures"]))
    assert "its content is not what was written" in found[str(path)]
    with pytest.raises(BrokenFileError, match="its content is not what was written"):
        check_mp4(path)


def test_planning_reads_no_file_whose_stat_is_unchanged(in_tmp: Path) -> None:
    """The cheap path: an intact output whose stat key is its record's is not read; a touch makes it read once."""
    paths = [
        write_predictions(Path("results/predictions/m/d/r/demo/test.parquet")),
        write_heatmaps(Path("results/explain/m/heatmaps.safetensors")),
    ]
    cache = checksums.HashCache(in_tmp / "cache.json")
    assert damaged_outputs(["results"], cache) == [] and cache.hashed == 0
    os.utime(paths[0])  # same content, new mtime and ctime
    assert damaged_outputs(["results"], cache) == [] and cache.hashed == 1
    cache.save()
    again = checksums.HashCache(in_tmp / "cache.json")
    assert damaged_outputs(["results"], again) == [] and again.hashed == 0  # the cache remembers it


def test_a_file_made_from_another_input_is_stale(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Provenance: the bins were made from a predictions file; another one (with its own record) replaced it."""
    import sys
    import types

    from videoxai.io import write_json

    pred = write_predictions(Path("results/predictions/m/d/r/demo/test.parquet"))
    job = types.SimpleNamespace(input=[str(pred)], rule="calibrate")
    monkeypatch.setattr(sys.modules["__main__"], "snakemake", job, raising=False)
    write_json("results/calibration/m/metrics.json", {"ece": 0.1})
    monkeypatch.setattr(sys.modules["__main__"], "snakemake", None)
    assert damaged_outputs(["results"]) == []
    write_predictions(pred, n=20)  # rewritten (a new record too): what was made from it is stale
    found = dict(damaged_outputs(["results"]))
    assert list(found) == ["results/calibration/m/metrics.json"]
    assert f"was made from another {pred} than the one there now" in found["results/calibration/m/metrics.json"]


def test_a_damaged_record_is_reported(in_tmp: Path) -> None:
    path = write_predictions(Path("results/predictions/m/d/r/demo/test.parquet"))
    checksums.record_path(path).write_text("not json")
    assert "checksum record" in dict(damaged_outputs(["results"]))[str(path)]
    with pytest.raises(BrokenFileError, match="checksum record"):
        load_predictions(path)


def test_verify_lists_missing_records_stale_files_and_only_the_root_of_damage(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """verify: a file without a record is listed (it cannot be vouched for); of a damaged input and the file made
    from it, only the input (rebuilding it rebuilds the other); a file whose input changed is stale."""
    import sys
    import types

    from videoxai.io import write_json
    from videoxai.verify import find_problems

    pred = write_predictions(Path("results/predictions/m/d/r/demo/test.parquet"))
    job = types.SimpleNamespace(input=[str(pred)], rule="c")
    monkeypatch.setattr(sys.modules["__main__"], "snakemake", job, raising=False)
    write_json("results/calibration/m/metrics.json", {"ece": 0.1})
    monkeypatch.setattr(sys.modules["__main__"], "snakemake", None)
    write_json("results/calibration/n/metrics.json", {"ece": 0.2})
    files = [str(pred), "results/calibration/m/metrics.json", "results/calibration/n/metrics.json"]
    assert find_problems(files) == []
    unrecorded(Path("results/calibration/n/metrics.json"))
    keep_mtime(flip)(pred, 0.3)
    found = dict(find_problems(files))
    assert list(found) == [str(pred), "results/calibration/n/metrics.json"]
    assert found["results/calibration/n/metrics.json"].startswith("has no checksum record")
    write_predictions(pred, n=20)  # rebuilt, differently: what was made from the old one is stale now
    found = dict(find_problems(files))
    assert list(found) == ["results/calibration/m/metrics.json", "results/calibration/n/metrics.json"]
    assert found["results/calibration/m/metrics.json"].startswith(f"was made from another {pred}")
