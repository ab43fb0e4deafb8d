"""A split's video manifest changes exactly when a listed clip's content (or the listing) does (issue 26)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from videoxai import checksums
from videoxai.checksums import HashCache
from videoxai.data.manifest import refresh_manifest, write_manifest
from videoxai.demo.dataset import write_demo_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "demo"
    write_demo_dataset(root, n_train=8, n_test=8, frames=4, size=32)
    return root


@pytest.fixture
def work(dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the dataset in a working folder with its manifest written, as rule video_manifest does."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(dataset, tmp_path / "data")
    cache = HashCache(CACHE)
    write_manifest(MANIFEST, ENTRY, "test", cache)
    cache.save()
    return tmp_path


MANIFEST = "results/datasets/demo/test.manifest.json"
CACHE = ".snakemake/videoxai/hashes.json"
ENTRY = {"name": "demo", "format": "ucf101", "root": "data"}


def clips(path: str = MANIFEST) -> dict[str, list]:
    return {c[0]: c[1:] for c in json.loads(Path(path).read_text())["clips"]}


def a_clip(work: Path, n: int = 0) -> Path:
    return work / "data" / sorted(clips())[n]


def test_the_manifest_lists_every_clip_with_its_hash_and_is_recorded(work: Path) -> None:
    listed = clips()
    assert len(listed) == 8
    name = sorted(listed)[0]
    label, size, digest = listed[name]
    assert size == (work / "data" / name).stat().st_size and digest == checksums.sha256_file(work / "data" / name)
    assert checksums.read_record(MANIFEST)["sha256"] == checksums.sha256_file(MANIFEST)


def test_nothing_changed_rewrites_nothing_and_reads_no_clip(work: Path) -> None:
    before = os.stat(MANIFEST).st_mtime_ns
    cache = HashCache(CACHE)
    assert refresh_manifest(MANIFEST, ENTRY, "test", cache) is False
    assert cache.hashed == 0 and os.stat(MANIFEST).st_mtime_ns == before


def test_a_touched_clip_is_read_again_but_changes_nothing(work: Path) -> None:
    os.utime(a_clip(work))
    cache = HashCache(CACHE)
    assert refresh_manifest(MANIFEST, ENTRY, "test", cache) is False
    assert cache.hashed == 1


def test_a_clip_replaced_with_its_mtime_kept_changes_that_clip_only(work: Path) -> None:
    before = clips()
    target, other = a_clip(work, 0), a_clip(work, 1)
    st = target.stat()
    target.write_bytes(other.read_bytes())  # another clip's content under this name
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert refresh_manifest(MANIFEST, ENTRY, "test", HashCache(CACHE)) is True
    after = clips()
    changed = [k for k in before if before[k] != after[k]]
    assert changed == [str(target.relative_to(work / "data"))]


def test_a_removed_clip_and_a_changed_listing_change_the_manifest(work: Path) -> None:
    gone = a_clip(work, 2)
    gone.unlink()
    assert refresh_manifest(MANIFEST, ENTRY, "test", HashCache(CACHE)) is True
    assert clips()[str(gone.relative_to(work / "data"))][1:] == [None, None]
    listing = work / "data" / "testlist01.txt"
    listing.write_text("".join(listing.read_text().splitlines(True)[:4]))
    assert refresh_manifest(MANIFEST, ENTRY, "test", HashCache(CACHE)) is True
    assert len(clips()) == 4


def test_verify_reads_every_clip_a_manifest_lists(work: Path) -> None:
    """`verify` does not trust the planning cache: a clip changed since the manifest was written is named."""
    from videoxai.data.manifest import changed_clips
    from videoxai.verify import find_problems

    assert changed_clips(MANIFEST) == [] and find_problems([MANIFEST]) == []
    target = a_clip(work, 3)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x5A
    target.write_bytes(bytes(data))
    name = str(target.relative_to(work / "data"))
    assert changed_clips(MANIFEST) == [name]
    assert find_problems([MANIFEST]) == [(MANIFEST, f"lists 1 clip(s) that changed since it was written (e.g. {name})")]
