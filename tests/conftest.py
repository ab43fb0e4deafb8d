"""Shared fixtures, and the rule that a test needing something from the host may skip, except in CI.

A test that needs a program or privilege the machine may lack (Chromium,
a SLURM cluster, root, FFmpeg's libraries) carries ``@pytest.mark.needs("what")`` and skips with
the reason where it is missing: ``make test`` passes for an ordinary user on
a laptop or a cluster login node. Under ``CI=true`` (``.ci/run`` sets it) such
a skip is reported as a failure instead, so CI cannot silently lose coverage.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CI, make_workdir


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs(what): needs something from the host (chromium, slurm, root, ffmpeg); skipped with the reason where it is "
        "missing, but a failure under CI=true",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("needs")
    if not (CI and marker and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    what = ", ".join(map(str, marker.args)) or "something from the host"
    report.outcome = "failed"
    report.longrepr = (
        f"CI=true, and this test needs {what} but was skipped: {reason.removeprefix('Skipped: ')}\n"
        "CI must run it: give the CI machine what it needs (as root, `make test` installs Chromium and SLURM), "
        "or unset CI to allow the skip."
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return make_workdir(tmp_path)
