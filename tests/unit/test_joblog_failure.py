"""A failing job shows its traceback once: in its log file, with one line on stderr (issue #27: it was printed twice)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

SCRIPT = """
from videoxai.joblog import job_logging
with job_logging({log!r}, "explain_clips"):
    raise ValueError("grad-cam under conventions: prompt-tuning gives NaN maps\\nsecond line")
"""


def _run(tmp_path: Path, log: str | None) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(log=log)], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def test_a_failing_job_prints_its_traceback_once_in_its_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "job.log"
    proc = _run(tmp_path, str(log))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr, proc.stderr
    failed = [line for line in proc.stderr.splitlines() if "failed after" in line]
    assert len(failed) == 1, proc.stderr
    want = (
        r"rule explain_clips failed after \d+\.\d s: ValueError: grad-cam under conventions: prompt-tuning gives NaN "
        rf"maps \(traceback in {re.escape(str(log))}\)$"
    )
    assert re.search(want, failed[0]), failed[0]
    assert log.read_text().count("Traceback (most recent call last)") == 1


def test_without_a_log_file_stderr_gets_the_traceback_once(tmp_path: Path) -> None:
    proc = _run(tmp_path, None)
    assert proc.returncode == 1
    assert proc.stderr.count("Traceback (most recent call last)") == 1, proc.stderr
    assert proc.stderr.count("ValueError: grad-cam under conventions") == 2  # the one line, and the traceback's end


def test_another_exception_still_gets_its_traceback(tmp_path: Path) -> None:
    """The quiet hook is only for the exception the log holds: anything raised later prints as usual."""
    code = (
        SCRIPT.format(log=str(tmp_path / "job.log")).replace('raise ValueError("grad-cam', 'raise ValueError("grad-cam')
        + "\n"
    )
    code = (
        "try:\n" + "".join("    " + line + "\n" for line in code.strip().splitlines()) + "except ValueError:\n"
        "    pass\nraise KeyError('later')\n"
    )
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and "KeyError: 'later'" in proc.stderr and "Traceback" in proc.stderr, proc.stderr
