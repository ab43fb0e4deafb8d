"""Per-job logging: every rule writes what it did, where, and under which scheduler job."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import re
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import videoxai

log = logging.getLogger("videoxai")


PEAK_LINE = "rule {rule} peak memory {peak} MB (own {own}, children {child}; declared mem_mb {declared})"
"""The job log's memory line, in MB (benchmarks and tests read it with :func:`logged_peaks`; :class:`MemoryPeak`)."""
PEAK_RE = re.compile(r"rule (\w+) peak memory (\d+) MB \(own (\d+), children (\d+); declared mem_mb (\w+)\)")


@contextlib.contextmanager
def job_logging(
    log_path: str | os.PathLike[str] | None, rule: str, mem_mb: int | None = None
) -> Iterator[logging.Logger]:
    """Log to the rule's log file and to stderr; record host and ``SLURM_JOB_ID``.

    The SLURM job id in each log is how a cluster run proves every job ran
    under the scheduler. A failure's traceback lands in the log file before
    the exception propagates, and only there: stderr gets one line naming the
    error and the log, and the job's process prints no second traceback when
    it dies of that exception (:func:`_quiet_excepthook`; Snakemake shows the
    log of a failed job, ``show-failed-logs``). Without a log file stderr gets
    the logged traceback, and again no second one. At the end (done
    or failed) the job's peak memory is logged beside ``mem_mb``, the memory
    the rule declared (the job's ``resources.mem_mb``), so a run shows how
    honest each declaration was (:data:`PEAK_LINE`, :func:`peak_memory_mb`).
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    for h in handlers:
        h.setFormatter(_NoTraceback(fmt) if log_path and h is handlers[0] else fmt)
        log.addHandler(h)
    log.setLevel(logging.INFO)
    logging.captureWarnings(True)
    start, cpu_start = time.perf_counter(), cpu_seconds()
    peak = MemoryPeak()
    peak.start()
    log.info(
        "rule %s on %s (pid %d, SLURM_JOB_ID=%s, videoxai %s, python %s)",
        rule,
        platform.node(),
        os.getpid(),
        os.environ.get("SLURM_JOB_ID", "none"),
        videoxai.__version__,
        platform.python_version(),
    )
    try:
        yield log
    except BaseException as e:
        where = f" (traceback in {log_path})" if log_path else ""
        log.exception("rule %s failed after %.1f s: %s%s", rule, time.perf_counter() - start, _one_line(e), where)
        sys.excepthook = _quiet_excepthook(e, sys.excepthook)
        raise
    else:
        # CPU beside wall time: a job whose processes keep several cores busy (the demo data's generators, decoding
        # workers) does more work than its wall time says; benchmarks/overhead.py reads both
        log.info("rule %s done in %.1f s (%.1f s of CPU)", rule, time.perf_counter() - start, cpu_seconds() - cpu_start)
    finally:
        peak.stop()
        log.info(
            PEAK_LINE.format(rule=rule, peak=peak.total_mb, own=peak.own_mb, child=peak.children_mb, declared=mem_mb)
        )
        for h in handlers:
            log.removeHandler(h)
            h.close()


class _NoTraceback(logging.Formatter):
    """A formatter that leaves a record's traceback out (the log file has it; the terminal gets one line)."""

    def __init__(self, inner: logging.Formatter):
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return self.inner.format(record)


def _one_line(error: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _quiet_excepthook(logged: BaseException, previous: Callable[..., Any]) -> Callable[..., None]:
    """An excepthook that prints nothing for the exception the job log already holds, and defers for any other.

    A job's process dies of it right after :func:`job_logging` logged it: Python would print its traceback a
    second time (a third with Snakemake's ``show-failed-logs``).
    """

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if value is not logged:
            previous(kind, value, tb)

    return hook


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended (worker pools, once joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class MemoryPeak:
    """The most memory a job's processes held at once: this process and its children (DataLoader workers).

    This process's own peak is the kernel's high-water mark (``ru_maxrss``,
    exact). Children are sampled every ``interval`` seconds from ``/proc``:
    their *private* pages only, since a forked worker shares the parent's
    pages (torch, the model) and its resident size would count them twice.
    ``total_mb`` is the larger of the own peak and the largest sampled sum
    (own resident + children private): what a memory limit (``mem_mb``,
    SLURM's ``--mem``) has to allow, short of children's peaks shorter than
    the interval. Without ``/proc`` (not Linux) only the own peak is known.
    """

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="videoxai-memory", daemon=True)
        self._sampled_kb = 0
        self._children_kb = 0

    def start(self) -> None:
        if Path("/proc/self/status").is_file():
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        try:
            own = _status_kb(os.getpid(), "VmRSS:")
            children = sum(_private_kb(pid) for pid in _descendants(os.getpid()))
        except OSError:
            return
        self._sampled_kb = max(self._sampled_kb, own + children)
        self._children_kb = max(self._children_kb, children)

    @property
    def own_mb(self) -> int:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
        return round(kb / 1024)

    @property
    def children_mb(self) -> int:
        return round(self._children_kb / 1024)

    @property
    def total_mb(self) -> int:
        return max(self.own_mb, round(self._sampled_kb / 1024))


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def _private_kb(pid: int) -> int:
    """A process's private resident pages (not shared with any other process), kB; 0 once it has ended."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return sum(
        int(line.split()[1]) for line in text.splitlines() if line.startswith(("Private_Clean:", "Private_Dirty:"))
    )


def _descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (``/proc/PID/task/TID/children``)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            out += kids
            todo += kids
    return out


def logged_peaks(logs: str | os.PathLike[str]) -> list[dict]:
    """Every job log's memory line under the folder ``logs``: log path, rule, peak and declared ``mem_mb``."""
    out = []
    for path in sorted(Path(logs).rglob("*.log")):
        m = PEAK_RE.search(path.read_text(errors="replace"))
        if m:
            declared = None if m.group(5) == "None" else int(m.group(5))
            out.append({"log": str(path), "rule": m.group(1), "peak_mb": int(m.group(2)), "declared_mb": declared})
    return out


def exit_finished_job() -> NoReturn:
    """End a finished model job's process now, without the interpreter's teardown.

    Why: after a torch job's last line, Python spends 0.4 s freeing torch's registries object by object, and
    0.35 s more once torchcodec has registered its operators: a core held while Snakemake waits for the exit,
    in every model job. Nothing is left to do by then: every output was closed and renamed into place
    (:mod:`videoxai.io`), ``job_logging`` closed the log, and DataLoader workers ended with their loop; the
    standard streams are flushed here. Call it only as a job script's last statement, under
    ``if __name__ == "__main__":`` (a test that runs the script in its own process must go on): a failure raises
    before it and exits the ordinary way, with its traceback.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
