"""The tiny demo checkpoints shipped with the package (one per prompt-tuning family, trained on the demo dataset).

Layout is the checkpoint registry's: ``{root}/{method}/demo/tiny/`` with
``model.safetensors``, ``config.json`` and ``train_report.json``, under
``videoxai/demo/checkpoints/`` (package data). The demo workflow uses this
folder for the demo keys unless ``train-demo-models`` asks for training, and
``videoxai.load_model`` falls back to it; :mod:`videoxai.demo.train`
reproduces them.
"""

from __future__ import annotations

from pathlib import Path

BUNDLED_KEYS = ("video_coop/demo/tiny", "dual_coop/demo/tiny", "stt/demo/tiny")


def bundled_checkpoints_root() -> Path:
    """Folder holding the shipped demo checkpoints in registry layout."""
    return Path(__file__).resolve().parent / "checkpoints"
