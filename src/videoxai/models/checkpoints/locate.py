"""Where a model key's checkpoint is, without loading anything (no torch import).

The workflow asks this while it builds its job graph, on every ``snakemake``
start, so this module and what it imports stay free of torch and
torchvision: finding files must not cost seconds of imports. Loading is
:mod:`.checkpoint`'s and :mod:`.resolve`'s job.

Where: an explicit path given for the key (a weights file or a checkpoint
folder) is the only place looked for that key, so a typo never silently falls
back to another checkpoint; an explicit ``wandb:entity/project/name:alias``
means that artifact, fetched into (and then read from) the key's registry
folder (:mod:`.wandb_artifact`); otherwise the local registry
``{checkpoints_root}/{method}/{train}/{run}/`` (and, for torchvision's
architectures trained on ``kinetics400``, torch hub's cache).

Which file of a folder is used is :func:`.files.find_weights`'s rule
(``model.safetensors``, else a prompt-tuning run's ``best.pt``, else the only
one); ``checkpoint_file`` (the workflow's ``checkpoint-file: {key: name}``)
picks another file of the key's folder, e.g. a prompt-tuning epoch file ``3.pt``.
The explicit paths may come from prompt-tuning's ``checkpoint_paths.json``
(:func:`videoxai.models.families.prompt_tuning.run_folder.explicit_paths`), which
returns them as :class:`CheckpointPaths`: a key missing from them is reported
with the file and the runs it does hold for the key's method and dataset.
A prompt-tuning run's CLIP backbone is found in the Hugging Face cache by
:mod:`.hf_cache`.
"""

from __future__ import annotations

import os
from pathlib import Path

from videoxai.keys import ModelKey
from videoxai.models.checkpoints.files import CONFIG_NAME, WEIGHT_SUFFIXES, find_weights
from videoxai.models.checkpoints.wandb_artifact import (
    ArtifactSpec,
    ArtifactUnavailableError,
    cached_artifact,
    is_artifact,
    unavailable_message,
)
from videoxai.models.families.registry import TORCHVISION_METHODS


class ModelNotFoundError(FileNotFoundError):
    """No checkpoint for a model key in any configured place."""


class CheckpointPaths(dict[str, str]):
    """The ``checkpoint-paths`` setting as ``{model key: path}``, remembering the file it was read from (if any)."""

    def __init__(self, paths: dict[str, str] | None = None, read_from: str | None = None):
        super().__init__(paths or {})
        self.read_from = read_from  # the checkpoint_paths.json file; None for a mapping given inline


def _paths_lacking(key: ModelKey, explicit: dict[str, str] | None) -> str:
    """The not-found line for checkpoint-paths when it has no entry for ``key``: which runs it holds instead."""
    read_from = getattr(explicit, "read_from", None)
    name = f"checkpoint-paths {read_from}" if read_from else "checkpoint-paths"
    if not explicit:
        return f"{name}: {'no entries' if read_from else 'not set'}"
    prefix = f"{key.method}/{key.train}/"
    runs = sorted(k.removeprefix(prefix) for k in explicit if k.startswith(prefix))
    held = (
        f"its {key.method}/{key.train} runs: {', '.join(runs)}" if runs else f"no {key.method}/{key.train} runs in it"
    )
    return f"{name}: no entry for {key} ({held})"


def registry_dir(key: ModelKey, checkpoints_root: str | os.PathLike[str]) -> Path:
    """``{root}/{method}/{train}/{run}``, checked to stay inside ``root``."""
    root = Path(checkpoints_root).absolute()
    path = root / key.method / key.train / key.run
    if os.path.commonpath([root, path]) != str(root):  # unreachable for a parsed key; kept as a guard
        raise ValueError(f"model key {key} leads outside the checkpoint registry {root}")
    return path


def find_checkpoint(
    key: str,
    checkpoints_root: str | os.PathLike[str],
    explicit: dict[str, str] | None = None,
    checkpoint_file: str | None = None,
) -> Path:
    """The weights file of ``key`` without loading anything (for a workflow's input function)."""
    return find_source(ModelKey.parse(key), checkpoints_root, explicit, checkpoint_file)[1]


def _candidate(path: Path, name: str | None = None) -> tuple[Path, Path] | None:
    """(weights, config) of a folder or a weights file, or None when absent.

    ``name`` picks a file of the folder (of a file's folder, for an explicit file).
    """
    if path.is_file() and name is not None and path.name != name:
        path = path.parent
    if path.is_dir():
        weights = find_weights(path, name)
        return (weights, path / CONFIG_NAME) if weights else None
    if path.is_file():
        return path, path.parent / CONFIG_NAME
    return None


def find_source(
    mk: ModelKey,
    checkpoints_root: str | os.PathLike[str],
    explicit: dict[str, str] | None,
    checkpoint_file: str | None = None,
) -> tuple[str, Path, Path | None]:
    """(source, weights, config path) of the first place holding weights; else ModelNotFoundError.

    ``checkpoint_file`` names the file to use in the key's folder (see :func:`find_checkpoint`).
    """
    key = str(mk)
    places: list[tuple[str, Path]]
    looked: list[str]
    if explicit and is_artifact(explicit.get(key)):
        # the artifact's files live in the key's registry folder once fetched
        spec, folder = (
            ArtifactSpec.parse(explicit[key]),
            registry_dir(mk, checkpoints_root),
        )
        # a download of another artifact there is an error, not a match
        cached_artifact(spec, folder)
        found = _candidate(folder, checkpoint_file)
        if found is None:
            raise ArtifactUnavailableError(f"model {key}: " + unavailable_message(spec, folder, "not fetched yet"))
        return ("wandb-artifact", *found)
    if explicit and key in explicit:
        # an explicit path is the user's intent: never fall back to the registry silently
        places = [("explicit", Path(explicit[key]).expanduser())]
        looked = []
    else:
        places = [("registry", registry_dir(mk, checkpoints_root))]
        if (
            mk.method in TORCHVISION_METHODS and mk.train == "kinetics400"
        ):  # torchvision's own Kinetics-400 weights, offline (torchvision imported only here)
            from videoxai.models.families.torchvision_video import hub_weights_path

            places.append(("torch-hub", hub_weights_path(mk.method)))
        looked = [_paths_lacking(mk, explicit)]
    for source, place in places:
        if source == "torch-hub":
            if place.is_file():
                return source, place, None
            looked.append(f"{source}: {place} (does not exist; download {place.name} from torchvision's weights URL)")
            continue
        found = _candidate(place, checkpoint_file)
        if found is not None:
            return (source, *found)
        why = f"no weights file {'/'.join('*' + s for s in WEIGHT_SUFFIXES)}" if place.is_dir() else "does not exist"
        read_from = getattr(explicit, "read_from", None) if source == "explicit" else None
        named = f", named in checkpoint-paths {read_from}" if read_from else ""
        looked.append(f"{source}: {place} ({why}{named})")
    raise ModelNotFoundError(
        f"no checkpoint for model {key}. Looked in:\n  " + "\n  ".join(looked) + "\n"
        f"Put model.safetensors + config.json (or a prompt-tuning run folder: config.json + best.pt) in "
        f"{registry_dir(mk, checkpoints_root)}, or give an explicit path for {key!r} in checkpoint-paths "
        "(a mapping, or prompt-tuning's checkpoint_paths.json)."
    )
