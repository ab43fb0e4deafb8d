"""Model key → checkpoint: find it, fingerprint it, describe it (``resolved.json``).

Where: an explicit path given for the key (a weights file or a checkpoint
folder) is the only place looked for that key, so a typo never silently falls
back to another checkpoint; an explicit ``wandb:entity/project/name:alias``
means that artifact, fetched into (and then read from) the key's registry
folder (:mod:`.wandb_artifact`); otherwise the local registry
``{checkpoints_root}/{method}/{train}/{run}/``. Nothing found → an error that
names the key and every place looked. Keys are validated by
:class:`~videoxai.keys.ModelKey`, so no key can leave the registry root.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..keys import ModelKey
from .base import VideoClassifier
from .checkpoint import (
    CONFIG_NAME,
    WEIGHT_SUFFIXES,
    CheckpointError,
    find_weights,
    load_model,
    load_weights_into,
    read_config,
)
from .custom import build_custom, load_factory
from .registry import available_methods, method_class
from .wandb_artifact import (
    ArtifactSpec,
    ArtifactUnavailableError,
    cached_artifact,
    ensure_artifact,
    is_artifact,
    read_marker,
    unavailable_message,
)


class ModelNotFoundError(FileNotFoundError):
    """No checkpoint for a model key in any configured place."""


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def registry_dir(key: ModelKey, checkpoints_root: str | os.PathLike[str]) -> Path:
    """``{root}/{method}/{train}/{run}``, checked to stay inside ``root``."""
    root = Path(checkpoints_root).absolute()
    path = root / key.method / key.train / key.run
    if os.path.commonpath([root, path]) != str(
        root
    ):  # unreachable for a parsed key; kept as a guard
        raise ValueError(
            f"model key {key} leads outside the checkpoint registry {root}"
        )
    return path


def find_checkpoint(
    key: str,
    checkpoints_root: str | os.PathLike[str],
    explicit: dict[str, str] | None = None,
) -> Path:
    """The weights file of ``key`` without loading anything (for a workflow's input function)."""
    return _find(ModelKey.parse(key), checkpoints_root, explicit)[1]


def _candidate(path: Path) -> tuple[Path, Path] | None:
    """(weights, config) of a folder or a weights file, or None when absent."""
    if path.is_dir():
        weights = find_weights(path)
        return (weights, path / CONFIG_NAME) if weights else None
    if path.is_file():
        return path, path.parent / CONFIG_NAME
    return None


def resolve_model(
    key: str,
    checkpoints_root: str | os.PathLike[str],
    explicit: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
    fetch: bool = True,
    offline: bool | None = None,
) -> dict:
    """Find the checkpoint of ``key`` and describe it as a JSON-able dict.

    Returns ``key``, ``source`` (``explicit`` | ``registry`` | ``torch-hub`` |
    ``wandb-artifact``), ``checkpoint`` (absolute weights path), ``sha256``
    (of the weights), ``config_file`` (None for hub weights), ``method`` (the
    adapter), ``class_names``, ``model_config`` (the whole checkpoint config),
    ``input_spec``, for custom models ``factory``, and for wandb artifacts
    ``artifact`` (the registry marker: name, version, digest, files).

    ``custom`` maps model keys to ``package.module:factory`` (from the
    workflow config): those keys are built by the user's factory. With
    ``fetch``, a wandb artifact not yet in the registry is downloaded
    (``offline`` None follows ``WANDB_MODE``); without, it must be there.
    """
    mk = ModelKey.parse(key)
    artifact = (explicit or {}).get(key)
    if fetch and is_artifact(artifact):
        ensure_artifact(artifact, registry_dir(mk, checkpoints_root), offline)
    source, weights, config_file = _find(mk, checkpoints_root, explicit)
    factory = (custom or {}).get(key)
    if factory:
        load_factory(factory)  # importable now, not first at extraction on a GPU node
    if source == "torch-hub":
        config = _hub_config(mk.method)
    elif not config_file.is_file():
        raise CheckpointError(
            f"model {key}: found weights {weights} but no {CONFIG_NAME} beside them; "
            "config.json names the method, class names and model configuration"
        )
    else:
        config = read_config(config_file, require_method=not factory)
    method = "custom" if factory else config["method"]
    if method == "custom" and not factory:
        raise CheckpointError(
            f"model {key}: {config_file} asks for a custom model, but a checkpoint cannot name code to import; "
            f"name the factory in the workflow config (custom: {{{key!r}: 'package.module:factory'}})"
        )
    known = available_methods()
    if method != "custom":
        if method not in known:
            raise CheckpointError(
                f"model {key}: {config_file} names method {method!r}, which is not registered (known: {', '.join(known)})"
            )
        if mk.method in known and mk.method != method:
            raise CheckpointError(
                f"model {key}: the key says method {mk.method!r} but {config_file} says {method!r}"
            )
    resolved = {
        "key": str(mk),
        "source": source,
        "checkpoint": str(weights.absolute()),
        "sha256": sha256_file(weights),
        "config_file": str(config_file.absolute()) if config_file else None,
        "method": method,
        "class_names": list(config["class_names"]),
        "input_spec": config.get("input_spec"),
        "model_config": config,
    }
    if factory:
        resolved["factory"] = factory
    if source == "wandb-artifact":
        marker = read_marker(registry_dir(mk, checkpoints_root))
        resolved["artifact"] = marker or {
            "artifact": str(ArtifactSpec.parse(artifact)),
            "origin": "placed by hand",
        }
    return resolved


def _hub_config(arch: str) -> dict:
    from .torchvision_video import ARCHS, kinetics400_classes

    a = ARCHS[arch]
    return {
        "method": arch,
        "class_names": kinetics400_classes(arch),
        "model": {},
        "input_spec": {
            "num_frames": a.num_frames,
            "size": a.size,
            "mean": a.mean,
            "std": a.std,
            "fixed_size": a.fixed_size,
        },
    }


def _find(
    mk: ModelKey,
    checkpoints_root: str | os.PathLike[str],
    explicit: dict[str, str] | None,
) -> tuple[str, Path, Path | None]:
    """(source, weights, config path) of the first place holding weights; else ModelNotFoundError."""
    key = str(mk)
    places: list[tuple[str, Path]]
    if explicit and is_artifact(explicit.get(key)):
        # the artifact's files live in the key's registry folder once fetched
        spec, folder = (
            ArtifactSpec.parse(explicit[key]),
            registry_dir(mk, checkpoints_root),
        )
        # a download of another artifact there is an error, not a match
        cached_artifact(spec, folder)
        found = _candidate(folder)
        if found is None:
            raise ArtifactUnavailableError(
                f"model {key}: " + unavailable_message(spec, folder, "not fetched yet")
            )
        return ("wandb-artifact", *found)
    if explicit and key in explicit:
        # an explicit path is the user's intent: never fall back to the registry silently
        places = [("explicit", Path(explicit[key]).expanduser())]
    else:
        places = [("registry", registry_dir(mk, checkpoints_root))]
        from .torchvision_video import ARCHS, hub_weights_path

        if (
            mk.method in ARCHS and mk.train == "kinetics400"
        ):  # torchvision's own Kinetics-400 weights, offline
            places.append(("torch-hub", hub_weights_path(mk.method)))
    looked = []
    for source, place in places:
        if source == "torch-hub":
            if place.is_file():
                return source, place, None
            looked.append(
                f"{source}: {place} (does not exist; download {place.name} from torchvision's weights URL)"
            )
            continue
        found = _candidate(place)
        if found is not None:
            return (source, *found)
        why = (
            f"no weights file {'/'.join('*' + s for s in WEIGHT_SUFFIXES)}"
            if place.is_dir()
            else "does not exist"
        )
        looked.append(f"{source}: {place} ({why})")
    raise ModelNotFoundError(
        f"no checkpoint for model {key}. Looked in:\n  " + "\n  ".join(looked) + "\n"
        f"Put model.safetensors + config.json in {registry_dir(mk, checkpoints_root)}, "
        f"or give an explicit path for {key!r}."
    )


def load_resolved(resolved: dict, verify: bool = True) -> VideoClassifier:
    """The model a ``resolve_model`` result describes, in eval mode.

    With ``verify`` the weights' sha256 must still match: a checkpoint
    replaced after resolution fails loudly instead of silently mixing results.
    """
    weights = Path(resolved["checkpoint"])
    if verify:
        digest = sha256_file(weights)
        if digest != resolved["sha256"]:
            raise CheckpointError(
                f"{weights} changed since it was resolved for {resolved['key']} "
                f"(sha256 {digest[:12]}… != {resolved['sha256'][:12]}…): rerun the resolve step"
            )
    if resolved["method"] == "custom":
        model = build_custom(resolved["factory"], resolved["model_config"])
        return load_weights_into(model, weights).eval()
    method_class(
        resolved["method"]
    )  # clear error for an unknown method before building
    return load_model(resolved["model_config"], weights)
