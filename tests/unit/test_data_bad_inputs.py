"""The issue's list of bad inputs, each a real file, through every available backend.

Each must become a status=error item with a short reason, or a padded /
plain ok clip; nothing may raise out of the dataset.
"""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from videoxai.data.datasets import Sample
from videoxai.data.decode import available_backends
from videoxai.data.loader import ClipDataset
from videoxai.models.base import InputSpec

SPEC = InputSpec(num_frames=8, size=32)


def _encode(
    path: Path,
    n: int,
    width: int,
    height: int,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    gray: bool = False,
    container_options: dict | None = None,
    smooth: bool = False,
) -> Path:
    rng = np.random.default_rng(n + width)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        if n == 0:
            out.start_encoding()
        for t in range(n):
            if smooth:  # cheap to encode at 4K
                img = np.broadcast_to(
                    ((np.arange(width) + 8 * t) % 256).astype(np.uint8)[None, :, None], (height, width, 3)
                )
            else:
                img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(
                img[..., 0].copy() if gray else np.ascontiguousarray(img), format="gray" if gray else "rgb24"
            )
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _cut(src: Path, dst: Path, nbytes: int) -> Path:
    dst.write_bytes(src.read_bytes()[:nbytes])
    return dst


def _garbage_payload(src: Path, dst: Path) -> Path:
    """Keep the AVI structure, overwrite every video chunk's payload: the file opens, no frame decodes."""
    data = bytearray(src.read_bytes())
    movi = data.find(b"movi")
    i = movi
    while (i := data.find(b"00dc", i + 1)) >= 0:
        size = struct.unpack("<I", data[i + 4 : i + 8])[0]
        if 0 < size and i + 8 + size <= len(data) and data.rfind(b"idx1", 0, i) < 0:
            data[i + 8 : i + 8 + size] = b"\xff" * size
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    good_mp4_end = _encode(d / "good_end.mp4", 40, 64, 48)
    good_mp4_front = _encode(d / "good_front.mp4", 40, 64, 48, container_options={"movflags": "faststart"})
    good_avi = _encode(d / "good.avi", 40, 64, 48, codec="mpeg4")
    empty = d / "empty.avi"
    empty.write_bytes(b"")
    noise = d / "random.mp4"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    return {
        "good_mp4": good_mp4_end,
        "empty_file": empty,
        "header_1kb_mp4": _cut(good_mp4_front, d / "header.mp4", 1024),
        "header_1kb_avi": _cut(good_avi, d / "header.avi", 1024),
        "random_bytes": noise,
        "truncated_mp4_index_at_end": _cut(good_mp4_end, d / "trunc_end.mp4", good_mp4_end.stat().st_size // 2),
        "truncated_mp4_index_at_front": _cut(good_mp4_front, d / "trunc_front.mp4", good_mp4_front.stat().st_size // 2),
        "truncated_avi": _cut(good_avi, d / "trunc.avi", good_avi.stat().st_size // 2),
        "missing_file": d / "not_there.mp4",
        "zero_frames_mp4": _encode(d / "zero.mp4", 0, 64, 48),
        "zero_frames_avi": _encode(d / "zero.avi", 0, 64, 48, codec="mpeg4"),
        "zero_decodable_frames": _garbage_payload(good_avi, d / "garbage_frames.avi"),
        "fewer_frames_than_asked": _encode(d / "short.mp4", 3, 64, 48),
        "odd_width_height": _encode(d / "odd.avi", 10, 63, 47, codec="ffvhuff", pix_fmt="gbrp"),
        "odd_width_height_h264": _encode(d / "odd.mp4", 10, 63, 47, pix_fmt="yuv444p"),
        "grayscale": _encode(d / "gray.mp4", 10, 64, 48, pix_fmt="gray", gray=True),
        "4k": _encode(d / "4k.mp4", 8, 3840, 2160, smooth=True),
        "spaces_non_ascii_path": _encode(d / "dir with space é" / "vidé 日本 x.mp4", 10, 64, 48),
    }


# what each input must give: ("ok", padded) or ("error", a word the reason must contain, or None)
EXPECTED: dict[str, tuple[str, object]] = {
    "good_mp4": ("ok", False),
    "empty_file": ("error", "empty file"),
    "header_1kb_mp4": ("error", None),
    "header_1kb_avi": ("error", None),
    "random_bytes": ("error", None),
    "truncated_mp4_index_at_end": ("error", None),
    "truncated_mp4_index_at_front": ("error", None),
    "truncated_avi": ("error", "truncated"),
    "missing_file": ("error", "file not found"),
    "zero_frames_mp4": ("error", None),
    "zero_frames_avi": ("error", None),
    "zero_decodable_frames": ("error", None),
    "fewer_frames_than_asked": ("ok", True),
    "odd_width_height": ("ok", False),
    "odd_width_height_h264": ("ok", False),
    "grayscale": ("ok", False),
    "4k": ("ok", False),
    "spaces_non_ascii_path": ("ok", False),
}


@pytest.mark.parametrize("backend", available_backends())
def test_every_bad_input_becomes_an_error_row_or_a_flagged_clip(files: dict[str, Path], backend: str) -> None:
    names = list(EXPECTED)
    rows = [Sample(name, files[name], 0, "x") for name in names]
    dataset = ClipDataset(rows, SPEC, return_frames=True, decoder=backend)
    for i, name in enumerate(names):
        item = dataset[i]  # must not raise
        status, detail = EXPECTED[name]
        assert item["status"] == status, (backend, name, item["error"])
        assert item["video"].shape == (8, 3, 32, 32)
        assert item["frames"].shape == (8, 32, 32, 3)
        if status == "error":
            reason = item["error"]
            assert reason and len(reason) <= 120 and "\n" not in reason, (backend, name, reason)
            if detail is not None:
                assert detail in reason, (backend, name, reason)
            assert not item["video"].any() and item["frame_indices"] == [-1] * 8
        else:
            assert item["error"] == ""
            assert item["padded"] is detail, (backend, name)
            assert torch.isfinite(item["video"]).all()


def test_grayscale_gives_three_equal_channels(files: dict[str, Path]) -> None:
    item = ClipDataset([Sample("g", files["grayscale"], 0, "x")], SPEC, return_frames=True, decoder="pyav")[0]
    frames = item["frames"]
    assert torch.equal(frames[..., 0], frames[..., 1]) and torch.equal(frames[..., 1], frames[..., 2])


def test_4k_is_resized_to_the_spec(files: dict[str, Path]) -> None:
    item = ClipDataset([Sample("4k", files["4k"], 0, "x")], InputSpec(num_frames=4, size=64), return_frames=True)[0]
    assert item["status"] == "ok" and item["frames"].shape == (4, 64, 64, 3)


# ------------------------------------------------------------------ bad listings, checkpoints, factories (issue 26)


def _ucf(root: Path, lines: list[str]) -> Path:
    """A UCF101-layout listing (no videos needed: only annotation files are read)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "classInd.txt").write_text("1 Jump\n2 Run\n")
    (root / "testlist01.txt").write_text("".join(f"{line}\n" for line in lines))
    return root


def test_a_split_listing_every_clip_twice_counts_each_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from videoxai.data.datasets import load_split_info

    clips = ["Jump/v_Jump_g01_c01.avi", "Run/v_Run_g01_c01.avi", "Run/v_Run_g02_c01.avi"]
    root = _ucf(tmp_path / "ucf", clips + clips)
    with caplog.at_level("WARNING", logger="videoxai.data"):
        info = load_split_info("ucf101", root, "test")
    assert [s.sample_id for s in info.samples] == clips
    assert len(info.duplicates) == 3
    assert "testlist01.txt:1, again at testlist01.txt:4" in info.duplicates[0]
    warned = [r.getMessage() for r in caplog.records if "already listed" in r.getMessage()]
    assert len(warned) == 1 and "3 entries list a clip already listed" in warned[0]


def test_a_clip_under_two_labels_is_refused_naming_both_lines(tmp_path: Path) -> None:
    from videoxai.data.datasets import DatasetError, load_split_info

    root = tmp_path / "csv"
    root.mkdir()
    (root / "test.csv").write_text("path,label\na.mp4,Jump\nb.mp4,Run\nc.mp4,Run\na.mp4,Run\n")
    with pytest.raises(DatasetError) as e:
        load_split_info("csv", root, "test")
    assert str(e.value) == (
        "clip 'a.mp4' is listed under two labels, 'Jump' (test.csv:2) and 'Run' (test.csv:5): a clip has one label; "
        "remove the wrong line"
    )


def test_planning_refuses_a_clip_under_two_labels_and_warns_once_of_repeats(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from videoxai.preflight import data_errors

    csv_root = tmp_path / "csv"
    csv_root.mkdir()
    (csv_root / "test.csv").write_text("a.mp4,Jump\na.mp4,Run\n")
    ucf = _ucf(tmp_path / "ucf", ["Jump/v_Jump_g01_c01.avi"] * 2)
    config = {
        "datasets": {"c": {"format": "csv", "root": str(csv_root)}, "u": {"format": "ucf101", "root": str(ucf)}},
        "split": "test",
    }
    lines = data_errors(config, ["c", "u"], {}, {}, splits=["test"])
    assert lines == [
        "dataset 'c', test split: clip 'a.mp4' is listed under two labels, 'Jump' (test.csv:1) and 'Run' "
        "(test.csv:2): a clip has one label; remove the wrong line"
    ]
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "videoxai: dataset 'u', test split: 1 entries list a clip already listed, each counted once: "
        "e.g. Jump/v_Jump_g01_c01.avi (testlist01.txt:1, again at testlist01.txt:2)"
    ]


class _RunsCode:
    """What a hostile checkpoint pickles: loading it would call os.system."""

    def __reduce__(self):
        import os

        return (os.system, ("echo this ran",))


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_a_checkpoint_that_would_run_code_is_refused_while_planning(tmp_path: Path, zipped: bool) -> None:
    from videoxai.pickles import code_globals
    from videoxai.preflight import data_errors

    safe, hostile = tmp_path / "safe.pt", tmp_path / "hostile.pt"
    state = {"w": torch.zeros(2), "b": torch.nn.Parameter(torch.ones(1, dtype=torch.float16)), "n": {1, 2}}
    torch.save({"state_dict": state, "epoch": 3, "z": 1j}, safe, _use_new_zipfile_serialization=zipped)
    torch.save({"w": torch.zeros(2), "x": _RunsCode()}, hostile, _use_new_zipfile_serialization=zipped)
    assert code_globals(safe) == []
    torch.load(safe, weights_only=True)  # torch agrees it is safe
    assert code_globals(hostile) == ["posix.system"]
    with pytest.raises(Exception, match="unsupported GLOBAL posix.system"):
        torch.load(hostile, weights_only=True)  # and that this one is not
    config = {"datasets": {}, "split": "test"}
    lines = data_errors(config, [], {"m/d/r": None}, {"m/d/r": hostile})
    assert lines == [
        f"model m/d/r: checkpoint weights {hostile} would run code when loaded (its pickle calls posix.system); it is "
        "never loaded that way: save the model's tensors alone (its state_dict, or safetensors) and use that file"
    ]
    assert "weights_only" not in lines[0]


def test_prompt_tuning_checkpoints_are_safe_to_plan() -> None:
    """No false alarm on real checkpoints: every .pt of the prompt-tuning fixtures passes the pickle check."""
    from tests.helpers import origin_fixtures
    from videoxai.pickles import checkpoint_globals, code_globals

    pts = sorted(origin_fixtures().rglob("*.pt"))
    assert pts
    for pt in pts:
        assert checkpoint_globals(pt), pt
        assert code_globals(pt) == [], pt


@pytest.mark.parametrize(
    "spec,said",
    [
        ("os:system", "names 'os' of Python's standard library"),
        ("json:dumps", "names 'json' of Python's standard library"),
        ("no_such_module_x:f", "names module 'no_such_module_x', which cannot be imported here"),
        ("factories_x:missing", "names 'missing', which module 'factories_x'"),
        ("factories_x:two", "is a function of 2 required arguments"),
        ("factories_x:none", "is a function that takes no argument"),
    ],
)
def test_custom_factories_are_checked_while_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str, said: str
) -> None:
    from videoxai.preflight import custom_factory_errors

    (tmp_path / "factories_x.py").write_text(
        "import sys\nsys.exit('planning ran the module')\n"
        "def build(config):\n    pass\n"
        "def two(a, b):\n    pass\n"
        "def none():\n    pass\n"
        "class Model:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    lines = custom_factory_errors(
        {"custom": {"m/d/r": spec, "m/d/s": "factories_x:build", "m/d/t": "factories_x:Model"}}
    )
    assert len(lines) == 1 and lines[0].startswith(f"config key 'custom.m/d/r': {spec!r} {said}"), lines
