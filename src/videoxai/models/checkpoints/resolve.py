"""Model key → checkpoint: find it, fingerprint it, describe it (``resolved.json``).

Finding the files is :mod:`.locate`'s (torch-free, used while the workflow
plans); this module fetches wandb artifacts, fingerprints the weights, reads
the config and loads the model. Keys are validated by
:class:`~videoxai.keys.ModelKey`, so no key can leave the registry root.

Resolving a videoxai checkpoint imports no torch (config, weights header and sha256 are read as files): the
resolve job starts in a fraction of a second. Loading imports the model code when called; a prompt-tuning run is built
while resolving, so its torch and transformers come then.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from videoxai.keys import ModelKey
from videoxai.models.checkpoints.config import check_weights, read_checkpoint_config
from videoxai.models.checkpoints.files import CONFIG_NAME, CheckpointError, read_config
from videoxai.models.checkpoints.files import (
    sha256_file as sha256_file,  # re-exported: fingerprints are part of resolving
)
from videoxai.models.checkpoints.hf_cache import locate_backbone
from videoxai.models.checkpoints.locate import (
    ModelNotFoundError as ModelNotFoundError,  # re-exported: finding is part of resolving
)
from videoxai.models.checkpoints.locate import find_checkpoint as find_checkpoint
from videoxai.models.checkpoints.locate import find_source, registry_dir
from videoxai.models.checkpoints.wandb_artifact import ArtifactSpec, ensure_artifact, is_artifact, read_marker
from videoxai.models.families.custom import build_custom, load_factory
from videoxai.models.families.prompt_tuning.run_folder import (
    RUN_FOLDER_FORMAT,
    backbone_name,
    build_from_run,
    check_run_method,
    is_run_config,
    read_context_state_dict,
    read_run_json,
)
from videoxai.models.families.registry import available_methods, method_class

if TYPE_CHECKING:
    from videoxai.models.base import VideoClassifier

# A prompt-tuning run records no class names (prompt-tuning takes them from the dataset it evaluates). Until
# someone sets them (extraction: the test set's), the model is built for this one placeholder class.
UNSET_CLASS_NAMES = ["unset class names"]


def resolve_model(
    key: str,
    checkpoints_root: str | os.PathLike[str],
    explicit: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
    fetch: bool = True,
    offline: bool | None = None,
    checkpoint_file: str | None = None,
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
    ``checkpoint_file`` names the file of the key's folder to use.

    A prompt-tuning run folder (``config.json`` naming ``clip-model``, beside
    ``best.pt``) resolves with ``format: "prompt-tuning-run"``: ``model_config`` is
    the run config, ``class_names`` is empty (the test set's are used),
    ``backbone`` records the CLIP's name, source, folder, snapshot id and
    each file's sha256, and the model is built once here so a context that
    does not fit its backbone fails now, not on a GPU node.
    """
    return _resolve(key, checkpoints_root, explicit, custom, fetch, offline, checkpoint_file)[0]


def _resolve(
    key: str,
    checkpoints_root: str | os.PathLike[str],
    explicit: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
    fetch: bool = True,
    offline: bool | None = None,
    checkpoint_file: str | None = None,
) -> tuple[dict, VideoClassifier | None]:
    """``resolve_model``, plus the model when resolving had to build it (a prompt-tuning run), else None."""
    mk = ModelKey.parse(key)
    artifact = (explicit or {}).get(key)
    if fetch and is_artifact(artifact):
        ensure_artifact(artifact, registry_dir(mk, checkpoints_root), offline)
    source, weights, config_file = find_source(mk, checkpoints_root, explicit, checkpoint_file)
    # every field's type and the weights file's header, before anything reads them: errors name file and field
    if config_file is not None and config_file.is_file():
        read_checkpoint_config(config_file)
    if weights.is_file():
        check_weights(weights)
    factory = (custom or {}).get(key)
    if factory:
        load_factory(factory)  # importable now, not first at extraction on a GPU node
    elif config_file is not None and config_file.is_file():
        run_config = read_run_json(config_file)
        if is_run_config(run_config):
            resolved, model = _resolve_run_folder(mk, source, weights, config_file, run_config)
            if source == "wandb-artifact":
                resolved["artifact"] = _artifact_record(mk, checkpoints_root, artifact)
            return resolved, model
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
            raise CheckpointError(f"model {key}: the key says method {mk.method!r} but {config_file} says {method!r}")
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
        resolved["artifact"] = _artifact_record(mk, checkpoints_root, artifact)
    return resolved, None


def _artifact_record(mk: ModelKey, checkpoints_root: str | os.PathLike[str], artifact: str) -> dict:
    """The registry marker of a fetched wandb artifact (name, version, digest), or what was placed by hand."""
    return read_marker(registry_dir(mk, checkpoints_root)) or {
        "artifact": str(ArtifactSpec.parse(artifact)),
        "origin": "placed by hand",
    }


def _resolve_run_folder(
    mk: ModelKey, source: str, weights: Path, config_file: Path, run_config: dict
) -> tuple[dict, VideoClassifier]:
    """``resolve_model`` for a run folder of prompt-tuning's training code (see there)."""
    method = check_run_method(mk, config_file)
    context = read_context_state_dict(weights)
    backbone = locate_backbone(backbone_name(run_config, config_file))
    model = build_from_run(
        str(mk), run_config, context, backbone.path, UNSET_CLASS_NAMES, weights=weights, config_path=config_file
    )
    resolved = {
        "key": str(mk),
        "source": source,
        "format": RUN_FOLDER_FORMAT,
        "checkpoint": str(weights.absolute()),
        "sha256": sha256_file(weights),
        "config_file": str(config_file.absolute()),
        "method": method,
        "class_names": [],
        "input_spec": model.input_spec.to_dict(),
        "model_config": run_config,
        "backbone": backbone.record(),
    }
    return resolved, model


def _hub_config(arch: str) -> dict:
    from videoxai.models.families.torchvision_video import ARCHS, kinetics400_classes

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


def load_resolved(resolved: dict, verify: bool = True, class_names: Sequence[str] | None = None) -> VideoClassifier:
    """The model a ``resolve_model`` result describes, in eval mode.

    With ``verify`` the weights' sha256 (and a prompt-tuning run's backbone
    weights') must still match: a checkpoint replaced after resolution fails
    loudly instead of silently mixing results. ``class_names`` builds an
    prompt-tuning run's model for these classes (else a placeholder class that
    extraction replaces with the test set's).
    """
    from videoxai.models.checkpoints.weights import load_model, load_weights_into

    weights = Path(resolved["checkpoint"])
    if verify:
        _verify(weights, resolved["sha256"], resolved["key"])
    if resolved.get("format") == RUN_FOLDER_FORMAT:
        return _load_run_folder(resolved, verify, class_names)
    if resolved["method"] == "custom":
        model = build_custom(resolved["factory"], resolved["model_config"])
        return load_weights_into(model, weights).eval()
    method_class(resolved["method"])  # clear error for an unknown method before building
    return load_model(resolved["model_config"], weights)


def _verify(path: Path, expected: str, key: str) -> None:
    if not path.is_file():
        raise CheckpointError(f"{path}, resolved for {key}, no longer exists: rerun the resolve step")
    digest = sha256_file(path)
    if digest != expected:
        raise CheckpointError(
            f"{path} changed since it was resolved for {key} "
            f"(sha256 {digest[:12]}… != {expected[:12]}…): rerun the resolve step"
        )


def _load_run_folder(resolved: dict, verify: bool, class_names: Sequence[str] | None) -> VideoClassifier:
    backbone = resolved["backbone"]
    folder = Path(backbone["path"])
    if verify:
        for name, digest in backbone["files"].items():
            if name.endswith((".safetensors", ".bin")):
                _verify(folder / name, digest, resolved["key"])
    return build_from_run(
        resolved["key"],
        resolved["model_config"],
        read_context_state_dict(resolved["checkpoint"]),
        folder,
        list(class_names or resolved["class_names"] or UNSET_CLASS_NAMES),
        weights=resolved["checkpoint"],
        config_path=resolved["config_file"],
    )


def load_key(
    key: str,
    *,
    checkpoint_paths: str | os.PathLike[str] | dict | None = None,
    checkpoints_root: str | os.PathLike[str] | None = None,
    class_names: Sequence[str] | None = None,
    checkpoint_file: str | None = None,
    fallback_root: str | os.PathLike[str] | None = None,
) -> VideoClassifier:
    """``videoxai.load_model``: a model key → its model in eval mode, resolved as the workflow does.

    Without ``checkpoints_root``, the registry folder ``checkpoints`` is used, else ``fallback_root``
    when it holds the key (``videoxai.load_model`` passes the demo checkpoints shipped with the package).
    """
    from videoxai.models.families.prompt_tuning.run_folder import explicit_paths

    explicit = explicit_paths(checkpoint_paths)
    root = checkpoints_root
    if root is None:
        # as the workflow: the registry folder "checkpoints", else the fallback (the shipped demo checkpoints)
        root = "checkpoints"
        if (
            fallback_root is not None
            and key not in explicit
            and not registry_dir(ModelKey.parse(key), root).exists()
            and (registry_dir(ModelKey.parse(key), fallback_root).is_dir())
        ):
            root = fallback_root
    resolved, model = _resolve(key, root, explicit, checkpoint_file=checkpoint_file)
    if resolved.get("format") == RUN_FOLDER_FORMAT and not class_names:
        raise ValueError(
            f"model {key} is a prompt-tuning run ({resolved['config_file']}), which records no class names: "
            "pass class_names=[...] in the order its logits should have (prompt-tuning's UCF101/HMDB51 loaders "
            "sort the class folder names)"
        )
    if model is None:  # resolving built none: load it as the workflow's jobs do
        model = load_resolved(resolved, verify=False, class_names=class_names)
    if class_names is not None and list(model.class_names) != list(class_names):
        setter = getattr(model, "set_class_names", None)
        if setter is None:
            raise ValueError(
                f"model {key} knows its own {len(model.class_names)} classes and cannot take other class names; "
                "call load_model without class_names"
            )
        setter(list(class_names))
    return model.eval()
