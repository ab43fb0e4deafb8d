"""A checkpoint folder's layout: ``config.json`` beside one weights file (no torch import)."""

from __future__ import annotations

from pathlib import Path

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
WEIGHT_SUFFIXES = (".safetensors",) + PICKLE_SUFFIXES


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be used (corrupted, wrong format, mismatched)."""


def find_weights(directory: Path) -> Path | None:
    """The weights file of a checkpoint folder: ``model.safetensors`` first, else the single other candidate."""
    preferred = directory / WEIGHTS_NAME
    if preferred.is_file():
        return preferred
    found = sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES
    )
    if len(found) > 1:
        raise CheckpointError(
            f"{directory} holds several weights files ({', '.join(p.name for p in found)}); "
            f"keep one or name it explicitly"
        )
    return found[0] if found else None
