"""What an explainer records for a model it cannot explain: a mixture of other models has no network of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def skipped_notice(mixture: Mapping[str, Any], explainer: str) -> dict[str, Any]:
    """The ``skipped.json`` of ``explainer`` on a mixture: who was skipped, why, and what to explain instead."""
    members = list(mixture["members"])
    return {
        "model": mixture["key"],
        "explainer": explainer,
        "skipped": True,
        "reason": (
            f"{mixture['key']} is a mixture of {', '.join(members)}: its predictions are computed from theirs and "
            f"it has no network for {explainer} to explain; explain its members instead"
        ),
        "members": members,
        "weights": list(mixture["weights"]),
    }
