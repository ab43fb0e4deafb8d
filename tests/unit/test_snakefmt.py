"""The rules are as snakefmt writes them (make lint checks it too; pyproject.toml holds its settings)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CI, REPO


def test_the_rules_are_snakefmt_clean() -> None:
    snakefmt = shutil.which("snakefmt", path=str(Path(sys.executable).parent)) or shutil.which("snakefmt")
    if snakefmt is None:
        if CI:
            pytest.fail("CI=true and snakefmt is not installed (it is in the test extras)")
        pytest.skip("snakefmt is not installed: pip install -e '.[test]'")
    proc = subprocess.run([snakefmt, "--check", "workflow"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"run `snakefmt workflow`:\n{proc.stderr[-3000:]}"
