"""How a model job spends the cores Snakemake gave it: decoding workers, then torch threads.

A job holds exactly ``threads`` cores (its rule's ``threads:``, capped by ``--cores``, or ``--set-threads``).
Worker processes that the scheduler did not count would share those cores with the model and slow both:
on a 2-core machine, ``num-workers: 2`` beside the main process was three busy processes on two cores
(extraction 4.1 s of in-job time where one worker takes 3.5 s). So the workers get all but one of the job's
cores, at most ``num-workers``, and torch's intra-op threads the rest (at least one).
"""

from __future__ import annotations


def split_threads(threads: int, num_workers: int) -> tuple[int, int]:
    """``(decoding workers, torch threads)`` for a job given ``threads`` cores and the ``num-workers`` setting."""
    threads = max(1, int(threads))
    workers = max(0, min(int(num_workers), threads - 1))
    return workers, threads - workers
