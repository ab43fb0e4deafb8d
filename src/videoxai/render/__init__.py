"""videoxai.render: colour maps, overlays, browser-playable videos, attention-map strips, galleries.

Names are imported on first use, so a job that needs only the gallery (or only a colour table) does not pay for
PyAV and matplotlib. Nothing here imports torch. ``aggregate_stats`` and ``spatial_entropy`` live in
:mod:`videoxai.explain.summary` (the explanation summary) and are re-exported for existing callers.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "COLORMAPS": "videoxai.render.colormap",
    "apply_colormap": "videoxai.render.colormap",
    "lut": "videoxai.render.colormap",
    "write_gallery": "videoxai.render.gallery",
    "overlay": "videoxai.render.overlay",
    "render_clip": "videoxai.render.stage",
    "render_folder": "videoxai.render.stage",
    "encode_mp4": "videoxai.render.video",
    "aggregate_stats": "videoxai.explain.summary",
    "spatial_entropy": "videoxai.explain.summary",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'videoxai.render' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
