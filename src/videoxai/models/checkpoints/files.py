"""A checkpoint folder's layout, and which weights file of it is used (no torch import).

Two layouts are read: videoxai's own (``config.json`` beside
``model.safetensors``) and the run folders prompt-tuning's training code writes
(``config.json`` beside ``best.pt`` and epoch files ``1.pt``, ``2.pt``, ...).
The file used from a folder (:func:`find_weights`):

1. the file named for the key (workflow ``checkpoint-file: {key: "3.pt"}``), if any;
2. ``model.safetensors``;
3. ``best.pt`` (prompt-tuning's best-by-validation checkpoint; epoch files beside it are ignored);
4. the folder's only weights file.

Several candidates and none of the above is an error that lists them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
BEST_NAME = "best.pt"
# The weights files a checkpoint may hold: the one list every reader, locator and check uses.
SAFETENSORS_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")  # torch.save files, read with weights_only=True
WEIGHT_SUFFIXES = (SAFETENSORS_SUFFIX, *PICKLE_SUFFIXES)


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be used (corrupted, wrong format, mismatched)."""


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks (weights files can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def weight_files(directory: Path) -> list[Path]:
    """Every weights file directly in ``directory``, sorted by name."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def find_weights(directory: Path, name: str | None = None) -> Path | None:
    """The weights file of a checkpoint folder by the rule above, or None when it holds none.

    ``name`` picks a file of the folder explicitly (e.g. a prompt-tuning epoch file ``"3.pt"``).
    """
    if name is not None:
        chosen = directory / name
        if Path(name).name != name or not chosen.is_file():
            have = ", ".join(p.name for p in weight_files(directory)) or "no weights files"
            raise CheckpointError(
                f"checkpoint-file {name!r} is not a file of {directory} (it holds: {have}); "
                "name one of them, or drop the checkpoint-file entry to use the default"
            )
        return chosen
    for preferred in (WEIGHTS_NAME, BEST_NAME):
        if (directory / preferred).is_file():
            return directory / preferred
    found = weight_files(directory)
    if len(found) > 1:
        raise CheckpointError(
            f"{directory} holds several weights files ({', '.join(p.name for p in found)}) and no "
            f"{WEIGHTS_NAME} or {BEST_NAME}; pick one in the workflow config with "
            f"checkpoint-file: {{<model key>: {found[-1].name!r}}} (or give its path in checkpoint-paths)"
        )
    return found[0] if found else None
