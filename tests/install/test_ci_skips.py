"""tests/conftest.py: a test marked ``needs(...)`` may skip for a user, but under CI=true its skip is a failure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO

CASES = """
import pytest

@pytest.mark.needs("chromium")
@pytest.mark.skipif(True, reason="no Chromium here")
def test_marked_skipif():
    pass

@pytest.fixture
def cluster():
    pytest.skip("SLURM packages cannot be installed here")

@pytest.mark.needs("slurm")
def test_marked_skip_in_fixture(cluster):
    pass

@pytest.mark.needs("root")
def test_marked_runs():
    pass

def test_unmarked_skip():
    pytest.skip("wandb is not installed")

@pytest.mark.needs("chromium")
@pytest.mark.xfail(reason="known", run=False)
def test_marked_xfail():
    pass
"""


def outcomes(tmp_path: Path, ci: str | None) -> tuple[dict[str, str], str]:
    (tmp_path / "test_cases.py").write_text(CASES)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "-v",
            "-rfEs",
            "--rootdir",
            str(tmp_path),
            "test_cases.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = dict(re.findall(r"^test_cases\.py::(\w+) (PASSED|FAILED|SKIPPED|ERROR|XFAIL)", proc.stdout, re.MULTILINE))
    return found, proc.stdout


def test_skips_are_skips_for_a_user(tmp_path: Path) -> None:
    found, out = outcomes(tmp_path, None)
    assert found == {
        "test_marked_skipif": "SKIPPED",
        "test_marked_skip_in_fixture": "SKIPPED",
        "test_marked_runs": "PASSED",
        "test_unmarked_skip": "SKIPPED",
        "test_marked_xfail": "XFAIL",
    }, out


@pytest.mark.parametrize("ci", ["true", "1"])
def test_needed_skips_fail_in_ci(tmp_path: Path, ci: str) -> None:
    found, out = outcomes(tmp_path, ci)
    assert found == {
        "test_marked_skipif": "ERROR",  # skipped at setup: reported as an error of the setup
        "test_marked_skip_in_fixture": "ERROR",
        "test_marked_runs": "PASSED",
        "test_unmarked_skip": "SKIPPED",  # not a host requirement: still a skip
        "test_marked_xfail": "XFAIL",
    }, out
    assert "CI=true, and this test needs chromium but was skipped: no Chromium here" in out
    assert "this test needs slurm but was skipped: SLURM packages cannot be installed here" in out
