"""Per-job logging: every rule writes what it did, where, and under which scheduler job."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import videoxai

log = logging.getLogger("videoxai")


@contextlib.contextmanager
def job_logging(log_path: str | os.PathLike[str] | None, rule: str) -> Iterator[logging.Logger]:
    """Log to the rule's log file and to stderr; record host and ``SLURM_JOB_ID``.

    The SLURM job id in each log is how a cluster run proves every job ran
    under the scheduler. A failure's traceback lands in the log before the
    exception propagates, so ``snakemake`` can point at it.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    log.setLevel(logging.INFO)
    logging.captureWarnings(True)
    start, cpu_start = time.perf_counter(), cpu_seconds()
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
    except BaseException:
        log.exception("rule %s failed after %.1f s", rule, time.perf_counter() - start)
        raise
    else:
        # CPU beside wall time: a job whose processes keep several cores busy (the demo data's generators, decoding
        # workers) does more work than its wall time says; benchmarks/overhead.py reads both
        log.info("rule %s done in %.1f s (%.1f s of CPU)", rule, time.perf_counter() - start, cpu_seconds() - cpu_start)
    finally:
        for h in handlers:
            log.removeHandler(h)
            h.close()


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended (worker pools, once joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


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
