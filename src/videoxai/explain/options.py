"""Each explainer's own options and their defaults, by config name (no torch import).

The workflow reads this table on every ``snakemake`` start to pass each
explain job only the options its method uses (so changing one reruns only
that method); the explainer classes take their ``options`` from it.
"""

from __future__ import annotations

from typing import Any

METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    "attention-rollout": {"head-fusion": "mean", "discard-ratio": 0.0, "use-cls-token": True},
    "attention-rollout-cls": {"head-fusion": "mean", "eps": 1e-6},
    "attention-rollout-cls-weighted": {"head-fusion": "mean", "discard-ratio": 0.0},
    "grad-cam": {},
    "grad-rollout": {},
}
