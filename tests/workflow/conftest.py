"""Fixtures shared by the workflow tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import TINY_DEMO, make_workdir, run_snakemake


@pytest.fixture(scope="session")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished run of the tiny demo (tests.helpers.TINY_DEMO), made once for the whole session: never modify it."""
    work = make_workdir(tmp_path_factory.mktemp("finished"), TINY_DEMO)
    proc = run_snakemake(work, "--cores", "2", timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work


@pytest.fixture
def run(finished: Path, tmp_path: Path) -> Path:
    """A copy of the finished tiny demo run (mtimes kept, so it is up to date), for a test to damage."""
    dest = tmp_path / "run"
    shutil.copytree(finished, dest, symlinks=True)
    return dest
