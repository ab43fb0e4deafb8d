"""Model key → checkpoint: find it, fingerprint it, describe it (``resolved.json``).

Finding the files is :mod:`.locate`'s (torch-free, used while the workflow
plans); this module fetches wandb artifacts, fingerprints the weights, reads
the config and loads the model. Keys are validated by
:class:`~videoxai.keys.ModelKey`, so no key can leave the registry root.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..keys import ModelKey
from .base import VideoClassifier
from .checkpoint import load_model, load_weights_into, read_config
from .custom import build_custom, load_factory
from .layout import CONFIG_NAME, CheckpointError
from .locate import (
    ModelNotFoundError as ModelNotFoundError,  # re-exported: finding is part of resolving
)
from .locate import find_checkpoint as find_checkpoint
from .locate import find_source, registry_dir
from .registry import available_methods, method_class
from .wandb_artifact import ArtifactSpec, ensure_artifact, is_artifact, read_marker


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


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
    source, weights, config_file = find_source(mk, checkpoints_root, explicit)
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
