"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import make_workdir


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return make_workdir(tmp_path)
