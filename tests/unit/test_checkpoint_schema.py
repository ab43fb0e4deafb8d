"""A malformed checkpoint is an error naming the file and the field, while planning and when resolved.

Cases from issue 17: ``"class_names": 5`` (was ``TypeError: 'int' object is not iterable``), ``"layers": "two"``,
a ``model.safetensors`` of random bytes (passed resolve, failed at extraction); a prompt-tuning run's config and ``.pt``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO, make_workdir, origin_fixtures, run_snakemake
from videoxai.demo.bundled import bundled_checkpoints_root
from videoxai.models.checkpoints.config import (
    CheckpointConfigError,
    checkpoint_problems,
    config_problems,
    read_checkpoint_config,
    weights_problem,
)
from videoxai.models.checkpoints.resolve import resolve_model
from videoxai.preflight import ConfigError, check_data, data_errors

KEY = "video_coop/demo/tiny"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    """A registry holding a copy of the shipped demo checkpoint of KEY."""
    root = tmp_path / "checkpoints"
    shutil.copytree(bundled_checkpoints_root() / KEY, root / KEY)
    return root


def edit_config(folder: Path, change) -> Path:
    path = folder / "config.json"
    cfg = json.loads(path.read_text())
    change(cfg)
    path.write_text(json.dumps(cfg))
    return path


def test_every_shipped_and_prompt_tuning_config_fits_the_schema() -> None:
    configs = sorted(bundled_checkpoints_root().rglob("config.json"))
    assert len(configs) == 3
    for path in configs:
        assert read_checkpoint_config(path)["class_names"]
        assert weights_problem(path.with_name("model.safetensors")) is None
    runs = sorted((origin_fixtures() / "runs").rglob("config.json"))
    assert runs
    for path in runs:
        assert config_problems(json.loads(path.read_text())) == [], path
        assert weights_problem(path.with_name("best.pt")) is None


@pytest.mark.parametrize(
    "change,field,expected",
    [
        (lambda c: c.update(class_names=5), "'class_names' is 5", "a list of"),
        (
            lambda c: c["model"]["tower"].update(layers="two"),
            "'model.tower.layers' is \"two\"",
            "an integer >= 1",
        ),
        (
            lambda c: c["model"]["text"].update(layers=1.5),
            "'model.text.layers' is 1.5",
            "an integer",
        ),
        (
            lambda c: c.update(method=["video_coop"]),
            "'method' is [\"video_coop\"]",
            "a non-empty string",
        ),
        (
            lambda c: c["input_spec"].update(num_frames="8"),
            "'input_spec.num_frames' is \"8\"",
            "an integer >= 1",
        ),
        (
            lambda c: c["input_spec"].update(mean=[0.5, 0.5]),
            "'input_spec.mean'",
            "a list of 3",
        ),
        (lambda c: c.update(class_names=["a", 3]), "'class_names.1' is 3", "string"),
        (lambda c: c.pop("class_names"), "'class_names' missing", "videoxai's format"),
        (
            lambda c: c["model"]["tower"].update(layer=2),
            "'model.tower' has unknown key(s) 'layer'",
            "layers",
        ),
    ],
    ids=[
        "class_names-int",
        "tower-layers-str",
        "text-layers-float",
        "method-list",
        "num_frames-str",
        "mean-2",
        "class-name-int",
        "class_names-missing",
        "tower-unknown-key",
    ],
)
def test_a_malformed_config_fails_resolve_naming_file_and_field(
    registry: Path, change, field: str, expected: str
) -> None:
    path = edit_config(registry / KEY, change)
    with pytest.raises(CheckpointConfigError) as err:
        resolve_model(KEY, registry)
    message = str(err.value)
    assert str(path) in message and field in message and expected in message, message
    assert "\n" not in message  # one problem, one line


def test_every_problem_is_listed_at_once(registry: Path) -> None:
    def change(c: dict) -> None:
        c["class_names"] = 5
        c["model"]["tower"]["layers"] = "two"

    path = edit_config(registry / KEY, change)
    message = str(pytest.raises(CheckpointConfigError, read_checkpoint_config, path).value)
    assert "'class_names' is 5" in message and "'model.tower.layers' is \"two\"" in message


def test_weights_of_random_bytes_fail_resolve_naming_the_file(registry: Path) -> None:
    weights = registry / KEY / "model.safetensors"
    weights.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointConfigError) as err:
        resolve_model(KEY, registry)
    assert str(weights) in str(err.value) and "not a safetensors file" in str(err.value)


def test_cut_short_safetensors_is_caught(registry: Path) -> None:
    weights = registry / KEY / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    assert "cut short" in (weights_problem(weights) or "")


@pytest.mark.parametrize(
    "content,words",
    [
        (b"", "empty"),
        (
            os.urandom(2048).replace(b"\x80", b"\x00").replace(b"PK", b"pk"),
            "not a PyTorch checkpoint",
        ),
    ],
    ids=["empty", "random"],
)
def test_a_pt_that_is_not_a_torch_file_is_caught(tmp_path: Path, content: bytes, words: str) -> None:
    pt = tmp_path / "best.pt"
    pt.write_bytes(content)
    assert words in (weights_problem(pt) or "")


def test_a_zip_that_torch_did_not_write_is_caught(tmp_path: Path) -> None:
    pt = tmp_path / "best.pt"
    with zipfile.ZipFile(pt, "w") as z:
        z.writestr("archive/notes.txt", "hello")
    assert "no data.pkl" in (weights_problem(pt) or "")


def test_a_damaged_torch_archive_is_caught(tmp_path: Path) -> None:
    run = origin_fixtures() / "runs" / "video_coop" / "ucf101" / "best-mean"
    pt = tmp_path / "best.pt"
    data = bytearray((run / "best.pt").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # zeroed inside a stored member: its CRC no longer matches
    pt.write_bytes(bytes(data))
    assert weights_problem(pt) is not None


@pytest.mark.parametrize(
    "change,field",
    [
        ({"clip-model": 5}, "'clip-model' is 5"),
        (
            {"layers-with-summary-to-text": "two"},
            "'layers-with-summary-to-text' is \"two\"",
        ),
        ({"temporal-pooling": "avg"}, "'temporal-pooling' is \"avg\""),
        ({"num-frames": "eight"}, "'num-frames' is \"eight\""),
        (
            {"dataset-config": {"remove-black-strips": "yes"}},
            "'dataset-config.remove-black-strips'",
        ),
    ],
    ids=["clip-model", "summary-layers", "pooling", "num-frames", "black-strips"],
)
def test_a_malformed_prompt_tuning_run_config_is_named(tmp_path: Path, change: dict, field: str) -> None:
    run = origin_fixtures() / "runs" / "video_coop" / "ucf101" / "best-mean"
    cfg = {**json.loads((run / "config.json").read_text()), **change}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    lines = checkpoint_problems(path, run / "best.pt")
    assert len(lines) == 1 and str(path) in lines[0] and field in lines[0], lines


def test_planning_finds_them_without_torch(registry: Path) -> None:
    """preflight.data_errors (run while the workflow plans) reports config and weights, naming both; no torch."""
    folder = registry / KEY
    path = edit_config(folder, lambda c: c.update(class_names=5))
    (folder / "model.safetensors").write_bytes(os.urandom(512))
    config = {
        "datasets": {"demo": {"generate": True, "root": "data/demo", "format": "ucf101"}},
        "split": "test",
    }
    lines = data_errors(config, ["demo"], {KEY: path}, {KEY: folder / "model.safetensors"})
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"model {KEY}: checkpoint config {path}: field 'class_names' is 5")
    assert str(folder / "model.safetensors") in lines[1]
    with pytest.raises(ConfigError, match="class_names"):
        check_data(config, ["demo"], {KEY: path}, {KEY: folder / "model.safetensors"})
    code = (
        "import sys; from videoxai.preflight import data_errors; "
        f"lines = data_errors({config!r}, ['demo'], {{{KEY!r}: {str(path)!r}}}, "
        f"{{{KEY!r}: {str(folder / 'model.safetensors')!r}}}); "
        "assert len(lines) == 2, lines; assert 'torch' not in sys.modules, 'planning imported torch'"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.workflow
def test_snakemake_dry_run_fails_naming_file_and_field(registry: Path, tmp_path: Path) -> None:
    path = edit_config(registry / KEY, lambda c: c["model"]["tower"].update(layers="two"))
    weights = registry / KEY / "model.safetensors"
    work = make_workdir(tmp_path / "work", {"models": [KEY], "checkpoint-paths": {KEY: str(weights)}})
    proc = run_snakemake(work, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert str(path) in out and "'model.tower.layers' is \"two\"" in out, out
    assert not (work / "results").exists()
