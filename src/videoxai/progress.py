"""Progress of long work as log lines: clips done, rate and time left.

A UCF101 test split is hours of extraction on a CPU; a terminal or a SLURM log
that says nothing between "extracting N clips" and "wrote" cannot be told from
a hung job. Lines go to the job's log (and so to stderr: the terminal, or the
SLURM log), after the first batch, then at most every ``every`` seconds, and at
the end; no carriage-return bars, which turn a log file into one long line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


def _duration(seconds: float) -> str:
    """``42 s``, ``3 min``, ``2 h 05 min``: as precise as a plan needs."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours, rest = divmod(int(round(minutes)), 60)
    return f"{hours} h {rest:02d} min"


class Progress:
    """Counts finished items of ``total`` and logs ``done/total, rate, time left`` now and then."""

    def __init__(
        self,
        total: int,
        what: str,
        log: logging.Logger,
        *,
        unit: str = "clips",
        every: float = 30.0,
        after: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        """``after``: no line until that many seconds have passed (a phase inside a job that is usually short
        stays quiet; the closing line comes only if an earlier one did)."""
        self.total, self.what, self.log, self.unit, self.every, self.clock = total, what, log, unit, every, clock
        self.after = after
        self.done = 0
        self.start = clock()
        self._last: float | None = None
        self._logged = -1  # items done at the last line logged

    def update(self, n: int) -> None:
        """``n`` more items finished; logs when it is time (the first update, then every ``every`` seconds)."""
        self.done += n
        now = self.clock()
        if now - self.start < self.after:
            return
        if self._last is None or now - self._last >= self.every:
            self._last, self._logged = now, self.done
            self.log.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        """``extract: 120/3783 clips (3%), 1.85 clips/s, 33 min left``."""
        now = self.clock() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        text = f"{self.what}: {self.done}/{self.total} {self.unit}{share}, {rate:.3g} {self.unit}/s"
        if 0 < self.done < self.total and rate > 0:
            text += f", {_duration((self.total - self.done) / rate)} left"
        elif self.done >= self.total:
            text += f", {_duration(elapsed)} in all"
        return text

    def finish(self) -> None:
        """The closing line, unless the last line logged already said as much (one batch held every item)."""
        if self.after and self._last is None:
            return  # a short phase: nothing was said, nothing to close
        if self._logged != self.done:
            self._logged = self.done
            self.log.info("%s", self.line())
