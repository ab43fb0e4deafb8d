"""Bootstrap resampling of a metric suite, and intervals from the resampled values.

Resamples are drawn as integer count vectors (how often each sample is drawn,
``N`` draws with replacement), so a resampled metric is the same estimator with
weights: no copy of the data per resample, one batch of resamples at a time.
All metrics share the same resamples (a paired bootstrap); the intervals drawn
from them are in :mod:`videoxai.calibration.intervals`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from videoxai.calibration.names import METRICS

# resampled values held at once: bounds memory to a few times this many float64s
_BATCH_ELEMENTS = 2_000_000


def resample_counts(n: int, resamples: int, seed: int, batch: int | None = None) -> Iterator[np.ndarray]:
    """Batches of ``(b, n)`` int64 counts: row ``j`` says how often each sample is in resample ``j``.

    Deterministic for a given ``(n, resamples, seed)``: the draws come from one
    ``numpy.random.default_rng(seed)`` stream, batch after batch.
    """
    rng = np.random.default_rng(seed)
    batch = batch or max(1, _BATCH_ELEMENTS // max(n, 1))
    for start in range(0, resamples, batch):
        b = min(batch, resamples - start)
        draws = rng.integers(0, n, size=(b, n))
        flat = (draws + np.arange(b)[:, None] * n).ravel()
        yield np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.int64)


def bootstrap(suite: Any, resamples: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Each value ``suite.evaluate`` returns, on ``resamples`` bootstrap resamples (the same ones for all).

    ``suite`` is a :class:`~videoxai.calibration.suite.MetricSuite` (any convention),
    or anything with ``n`` and ``evaluate(weights)``.
    """
    values: dict[str, list[np.ndarray]] = {k: [] for k in METRICS}
    for counts in resample_counts(suite.n, resamples, seed):
        for k, v in suite.evaluate(counts).items():
            values.setdefault(k, []).append(np.asarray(v))
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in values.items()}
