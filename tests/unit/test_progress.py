"""Progress lines: first batch, then every N seconds, then the end; rate and time left from a known clock."""

from __future__ import annotations

import logging

from videoxai.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_lines_come_after_the_first_batch_then_every_interval_then_at_the_end(caplog) -> None:
    clock = Clock()
    log = logging.getLogger("videoxai.test.progress")
    p = Progress(3783, "extract", log, every=30.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="videoxai.test.progress"):
        clock.t += 10
        p.update(16)  # first batch: logged
        clock.t += 10
        p.update(16)  # 10 s later: not yet
        clock.t += 25
        p.update(16)  # 35 s after the first line: logged
        clock.t = 100.0 + 3783 / 1.2
        p.done = 3783
        p.finish()
    assert [r.getMessage() for r in caplog.records] == [
        "extract: 16/3783 clips (0%), 1.6 clips/s, 39 min left",
        "extract: 48/3783 clips (1%), 1.07 clips/s, 58 min left",
        "extract: 3783/3783 clips (100%), 1.2 clips/s, 53 min in all",
    ]


def test_hours_are_written_as_hours() -> None:
    clock = Clock()
    p = Progress(10_000, "extract", logging.getLogger("x"), clock=clock)
    clock.t += 36
    p.done = 10
    assert p.line() == "extract: 10/10000 clips (0%), 0.278 clips/s, 9 h 59 min left"


def test_one_batch_holding_every_clip_gives_one_line(caplog) -> None:
    clock = Clock()
    log = logging.getLogger("videoxai.test.progress")
    p = Progress(4, "explain grad-cam", log, clock=clock)
    with caplog.at_level(logging.INFO, logger="videoxai.test.progress"):
        clock.t += 8
        p.update(4)
        p.finish()
    assert [r.getMessage() for r in caplog.records] == ["explain grad-cam: 4/4 clips (100%), 0.5 clips/s, 8 s in all"]


def test_a_phase_that_ends_before_after_seconds_says_nothing_and_a_long_one_speaks(caplog) -> None:
    """Issue #23: the evaluation phases of an explain job log only when they are long (minutes at ViT-B/16 size)."""
    clock = Clock()
    log = logging.getLogger("videoxai.test.progress")
    with caplog.at_level(logging.INFO, logger="videoxai.test.progress"):
        short = Progress(8, "evaluate: deletion/insertion", log, after=30.0, clock=clock)
        for _ in range(8):
            clock.t += 2
            short.update(1)
        short.finish()
        assert caplog.records == []
        long = Progress(8, "evaluate: deletion/insertion", log, after=30.0, clock=clock)
        for _ in range(8):
            clock.t += 240
            long.update(1)
        long.finish()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "evaluate: deletion/insertion: 1/8 clips (12%), 0.00417 clips/s, 28 min left"
    assert lines[-1] == "evaluate: deletion/insertion: 8/8 clips (100%), 0.00417 clips/s, 32 min in all"
    assert len(lines) == 8
