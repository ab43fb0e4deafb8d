"""A model job's cores: decoding workers never outnumber what Snakemake gave the job."""

from __future__ import annotations

import pytest

from videoxai.setup.threads import split_threads


@pytest.mark.parametrize(
    ("threads", "num_workers", "expected"),
    [
        (1, 2, (0, 1)),  # one core: decode in the job's own process
        (2, 2, (1, 1)),  # two cores: one worker, one torch thread (was three busy processes)
        (3, 2, (2, 1)),  # the rule's own ask, num-workers + 1
        (8, 2, (2, 6)),  # --set-threads beyond it: the rest goes to torch
        (4, 0, (0, 4)),
        (0, 2, (0, 1)),  # never below one thread
    ],
)
def test_split_threads(threads: int, num_workers: int, expected: tuple[int, int]) -> None:
    workers, torch_threads = split_threads(threads, num_workers)
    assert (workers, torch_threads) == expected
    assert workers + torch_threads == max(1, threads)
