"""Each explainer's own options and their defaults, by config name (no torch import).

The workflow reads this table on every ``snakemake`` start to pass each
explain job only the options its method uses (so changing one reruns only
that method); the explainer classes take their ``options`` from it.

``conventions: seed`` (see :mod:`videoxai.explain.seed`) has its own table:
the origin's rollout variants all take ``head-fusion`` (``mean`` | ``max``)
and ``discard-ratio``; ``use-cls-token`` is videoxai's option (the origin has
none) and keeps its meaning. Methods the origin lacks (``grad-rollout``) run
as under ``standard``.
"""

from __future__ import annotations

from typing import Any

CONVENTIONS = ("standard", "seed")

METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    "attention-rollout": {"head-fusion": "mean", "discard-ratio": 0.0, "use-cls-token": True},
    "attention-rollout-cls": {"head-fusion": "mean", "eps": 1e-6},
    "attention-rollout-cls-weighted": {"head-fusion": "mean", "discard-ratio": 0.0},
    "grad-cam": {},
    "grad-rollout": {},
}

SEED_METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    "attention-rollout": {"head-fusion": "mean", "discard-ratio": 0.0, "use-cls-token": True},
    "attention-rollout-cls": {"head-fusion": "mean", "discard-ratio": 0.0},
    "attention-rollout-cls-weighted": {"head-fusion": "mean", "discard-ratio": 0.0},
    "grad-cam": {},
}


def check_convention(convention: str) -> str:
    if convention not in CONVENTIONS:
        raise ValueError(f"conventions must be one of {list(CONVENTIONS)}, got {convention!r}")
    return convention


def effective_convention(method: str, convention: str) -> str:
    """The convention ``method`` runs under: ``seed`` only where the origin has that method."""
    return "seed" if check_convention(convention) == "seed" and method in SEED_METHOD_OPTIONS else "standard"


def method_options(method: str, convention: str = "standard") -> dict[str, Any]:
    """The options (config names -> defaults) ``method`` takes under ``convention``."""
    table = SEED_METHOD_OPTIONS if effective_convention(method, convention) == "seed" else METHOD_OPTIONS
    if method not in table:
        raise ValueError(f"unknown explainer-method {method!r}: choose from {sorted(METHOD_OPTIONS)}")
    return table[method]
