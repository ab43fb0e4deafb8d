"""Atomic writes: temporaries no user would name, cleaned by the next write; the user's umask on files and folders;
a content record beside every output under results/ and figures/, checked by the reader."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from videoxai import checksums
from videoxai.io import (
    atomic_path,
    is_temporary,
    make_temp_dir,
    read_json,
    stale_temporaries,
    write_json,
    write_text,
)
from videoxai.rebuild import BrokenFileError


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


def test_temporary_is_hidden_recognisable_and_keeps_the_suffix(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "metrics.json"
    with atomic_path(out) as tmp:
        assert tmp.parent == out.parent
        assert tmp.name.startswith(".metrics.json.videoxai-tmp-") and tmp.suffix == ".json"
        assert is_temporary(tmp) and stale_temporaries(out) == [tmp]
        assert not out.exists()
        tmp.write_text("{}")
    assert out.read_text() == "{}"
    assert stale_temporaries(out) == []


def test_failure_leaves_neither_file_nor_temporary(tmp_path: Path) -> None:
    out = tmp_path / "a.txt"
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_stale_temporaries_of_that_output_only_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    stale = tmp_path / ".a.json.videoxai-tmp-0123456789abcdef.json"
    other = tmp_path / ".a.b.json.videoxai-tmp-0123456789abcdef.json"  # another output's temporary: not ours
    unrelated = tmp_path / ".a.json.notes"
    users = tmp_path / ".a.json.tmp-0123abcd.json"  # named like an earlier version's temporary: a user's own file
    for p in (stale, other, unrelated, users):
        p.write_text("x")
    write_text(out, "new")
    assert not stale.exists()
    assert other.exists() and unrelated.exists() and users.read_text() == "x"
    assert not is_temporary(users)
    assert out.read_text() == "new"


def test_files_and_folders_get_the_umask(tmp_path: Path, umask_022) -> None:
    from videoxai import io

    old, io._UMASK = io._UMASK, 0o022
    try:
        out = tmp_path / "new" / "deeper" / "x.json"
        write_json(out, {"a": 1})
        assert _mode(out) == 0o644
        assert _mode(out.parent) == 0o755
        with atomic_path(tmp_path / "y.bin") as tmp:
            assert _mode(tmp) == 0o644  # even a temporary a kill leaves behind is not 0600
        folder = make_temp_dir(tmp_path / "dataset")
        assert _mode(folder) == 0o755 and is_temporary(folder)
    finally:
        io._UMASK = old


def test_make_temp_dir_removes_a_killed_builds_folder(tmp_path: Path) -> None:
    first = make_temp_dir(tmp_path / "demo")
    (first / "clip.avi").write_bytes(b"half")
    second = make_temp_dir(tmp_path / "demo")
    assert not first.exists() and second.is_dir()


def test_read_json_names_a_broken_file(tmp_path: Path) -> None:
    bad = tmp_path / "results" / "x.json"
    bad.parent.mkdir()
    bad.write_text('{"a": 1')
    with pytest.raises(BrokenFileError, match="x.json: not valid JSON") as e:
        read_json(bad)
    assert isinstance(e.value, ValueError)  # callers that catch ValueError keep working


def test_sigkill_leaves_a_temporary_that_the_next_write_removes(tmp_path: Path) -> None:
    """A real writer killed with SIGKILL mid-write: no final file, a hidden temporary, gone after the rerun."""
    out = tmp_path / "big.bin"
    script = textwrap.dedent(
        f"""
        import sys, time
        from videoxai.io import atomic_path
        with atomic_path({str(out)!r}) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(b"x" * 1000)
                fh.flush()
                print("writing", flush=True)
                time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    assert not checksums.record_path(out).exists()
    left = stale_temporaries(out)
    assert len(left) == 1 and left[0].stat().st_size == 1000
    write_text(out, "done")
    assert out.read_text() == "done" and stale_temporaries(out) == []


def test_read_yaml_equals_pyyaml_safe_load_on_the_shipped_files() -> None:
    """The C loader (when PyYAML has libyaml) reads every shipped config and schema as ``yaml.safe_load`` does."""
    import yaml

    from tests.helpers import REPO
    from videoxai.io import read_yaml

    files = sorted((REPO / "src" / "videoxai" / "schemas").glob("*.yaml")) + sorted((REPO / "config").glob("*.yaml"))
    assert files
    for path in files:
        assert read_yaml(path) == yaml.safe_load(path.read_text()), path


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in tmp_path, as a job does in the workflow's folder (results/ and figures/ are its outputs)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_an_output_gets_a_record_of_its_content_and_a_file_elsewhere_none(in_tmp: Path) -> None:
    out = Path("results/calibration/metrics.json")
    write_json(out, {"ece": 0.1})
    made = checksums.read_record(out)
    assert made["sha256"] == checksums.sha256_file(out) and made["size"] == out.stat().st_size
    assert made["key"] == checksums.stat_key(out.stat())  # the file as it is in place, after the rename
    assert checksums.record_path(out).name == ".metrics.json.checksum.json"
    assert checksums.read_record(checksums.record_path(out)) is None  # a record has no record of its own
    write_json("notes/x.json", {"a": 1})
    assert checksums.read_record("notes/x.json") is None


def test_the_record_names_the_jobs_rule_and_input_hashes(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a Snakemake script job the preamble defines ``snakemake`` in ``__main__``: its inputs are recorded."""
    import types

    write_json("results/models/m/resolved.json", {"sha256": "x"})
    Path("data").mkdir()
    Path("data/DONE.json").write_text("{}")
    job = types.SimpleNamespace(input=["results/models/m/resolved.json", "data/DONE.json", "data"], rule="extract")
    monkeypatch.setattr(sys.modules["__main__"], "snakemake", job, raising=False)
    write_text("results/predictions/p.txt", "rows")
    made = checksums.read_record("results/predictions/p.txt")
    assert made["rule"] == "extract"
    assert made["inputs"] == {  # folders are left out
        "data/DONE.json": checksums.sha256_file("data/DONE.json"),
        "results/models/m/resolved.json": checksums.sha256_file("results/models/m/resolved.json"),
    }


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.replace(b"0.1", b"0.2"),  # a flipped digit: same size
        lambda b: b[:-2] + b"\n",  # cut short
        lambda b: b'{"ece": 0.7}\n',  # another run's valid file
    ],
    ids=["digit", "cut", "other-file"],
)
def test_read_json_names_a_file_that_is_not_what_was_written(in_tmp: Path, change) -> None:
    out = Path("results/calibration/metrics.json")
    write_json(out, {"ece": 0.1})
    st = out.stat()
    out.write_bytes(change(out.read_bytes()))
    os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))  # mtime kept, as `touch -r` would
    with pytest.raises(BrokenFileError, match="metrics.json") as e:
        read_json(out)
    assert "--forcerun results/calibration/metrics.json" in str(e.value)


def test_a_damaged_record_is_named(in_tmp: Path) -> None:
    out = Path("results/a.json")
    write_json(out, [1])
    checksums.record_path(out).write_text("{")
    with pytest.raises(BrokenFileError, match="checksum record .* is damaged"):
        read_json(out)
