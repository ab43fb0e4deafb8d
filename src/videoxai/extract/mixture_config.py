"""A mixture's config entry and the checks planning makes of it (no numpy, no pyarrow: read while planning).

``mixtures: {mixture/{dataset-train}/{name}: members}``, members a list of model
keys (a uniform-weight ensemble) or ``{model key: weight}``. The method
``mixture`` tells the workflow the key has no checkpoint and no network; the
mixing itself is :mod:`videoxai.extract.mixture`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from videoxai.keys import ModelKey, ModelKeyError

MIXTURE_METHOD = "mixture"


@dataclass(frozen=True)
class Mixture:
    """A mixture's key, its members and their weights (normalised to sum 1, in the members' order)."""

    key: str
    members: tuple[str, ...]
    weights: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "members": list(self.members), "weights": list(self.weights)}


def is_mixture_key(key: str) -> bool:
    return key.split("/", 1)[0] == MIXTURE_METHOD


def parse_mixture(key: str, members: Sequence[str] | Mapping[str, float]) -> Mixture:
    """A config entry ``{key: [member, ...]}`` (uniform) or ``{key: {member: weight}}``; errors name the key."""
    try:
        ModelKey.parse(key)
    except ModelKeyError as e:
        raise ValueError(f"config key 'mixtures': {e}") from None
    if not is_mixture_key(key):
        raise ValueError(f"config key 'mixtures': {key!r} must be keyed mixture/{{dataset-train}}/{{name}}")
    if isinstance(members, Mapping):
        names, raw = list(members), [float(w) for w in members.values()]
    else:
        names, raw = list(members), [1.0] * len(members)
    if not names:
        raise ValueError(f"config key 'mixtures.{key}' has no members; list model keys, or {{model key: weight}}")
    if len(set(names)) != len(names):
        raise ValueError(f"config key 'mixtures.{key}' lists a member twice: {names}")
    bad = [w for w in raw if not math.isfinite(w) or w <= 0]
    if bad:
        raise ValueError(f"config key 'mixtures.{key}': weights must be positive numbers, got {bad}")
    total = float(sum(raw))
    return Mixture(key, tuple(names), tuple(w / total for w in raw))


def parse_mixtures(value: Mapping[str, Any] | None) -> dict[str, Mixture]:
    """Every entry of the config's ``mixtures``."""
    return {k: parse_mixture(k, v) for k, v in (value or {}).items()}


def mixture_errors(
    mixtures: Mapping[str, Mixture], models: Sequence[str], class_names: Mapping[str, Sequence[str] | None]
) -> list[str]:
    """What planning can tell: each member is a configured model (not a mixture), a mixture's key is not also a
    model's, and members whose own class list is known (``class_names``: a checkpoint's; None where a model takes
    the test dataset's classes, or it is not known yet) share it in order."""
    lines = []
    for key, mix in mixtures.items():
        if key in models:
            lines.append(f"config key 'mixtures.{key}': {key} is also listed under 'models'; remove it there")
        missing = [m for m in mix.members if m not in models]
        if missing:
            lines.append(
                f"config key 'mixtures.{key}' names members that are not under 'models': {missing}; add them there "
                f"(a mixture is made from its members' predictions)"
            )
        known = {m: list(class_names[m]) for m in mix.members if class_names.get(m)}
        orders = {tuple(v) for v in known.values()}
        if len(orders) > 1:
            first, *_ = known
            other = next(m for m in known if known[m] != known[first])
            lines.append(
                f"config key 'mixtures.{key}': members {first} and {other} answer with different class lists "
                f"({len(known[first])} and {len(known[other])} classes, or another order); a mixture averages "
                "probabilities class by class, so its members must share one class order"
            )
    return lines
