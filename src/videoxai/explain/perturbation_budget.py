"""How many masked forwards a perturbation explainer runs per clip, from its options alone (no torch).

The occlusion explainer places its boxes with :func:`starts`, and planning (the explain job's declared runtime)
counts them with :func:`masked_forwards` before any model is loaded: one home for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def starts(size: int, patch: int, stride: int) -> list[int]:
    """Box starts along an axis of ``size``: every ``stride``, the last one ending at the edge."""
    patch = min(patch, size)
    out = list(range(0, size - patch + 1, stride))
    if out[-1] != size - patch:
        out.append(size - patch)
    return out


def side(fraction: float, size: int) -> int:
    """A fraction of a side in pixels: at least 1, at most the side."""
    return max(1, min(size, round(fraction * size)))


def masked_forwards(method: str, options: Mapping[str, Any], frames: int, size: int) -> int:
    """Masked copies per clip of ``frames`` frames of ``size`` x ``size``: occlusion's box positions, RISE's
    ``rise-masks``; 0 for a method that is not a perturbation explainer."""
    if method == "rise":
        return int(options["rise-masks"])
    if method != "occlusion":
        return 0
    t = starts(frames, min(int(options["occlusion-frames"]), frames), int(options["occlusion-frame-stride"]))
    p, s = side(float(options["occlusion-patch"]), size), side(float(options["occlusion-stride"]), size)
    return len(t) * len(starts(size, p, s)) ** 2
