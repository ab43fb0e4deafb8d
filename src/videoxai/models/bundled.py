"""The tiny demo checkpoints shipped with the package (one per seed family, trained on the demo dataset).

Layout is the checkpoint registry's: ``{root}/{method}/demo/tiny/`` with
``model.safetensors``, ``config.json`` and ``train_report.json``. The demo
workflow can use this folder as its ``checkpoints-root`` (or copy it), so the
default run analyses all three families without training; ``train_demo``
reproduces them.
"""

from __future__ import annotations

from pathlib import Path

BUNDLED_KEYS = ("video_coop/demo/tiny", "dual_coop/demo/tiny", "stt/demo/tiny")


def bundled_checkpoints_root() -> Path:
    """Folder holding the shipped demo checkpoints in registry layout."""
    return Path(__file__).resolve().parent / "demo_checkpoints"
