"""Model key → checkpoint: find it, fingerprint it, describe it (a :class:`.record.ResolvedModel`, ``resolved.json``).

Finding the files is :mod:`.locate`'s (torch-free, used while the workflow
plans); this module fetches wandb artifacts, reads the checkpoint's
``config.json`` once (schema-checked, :mod:`.config`), lets the registry
decide the family (:func:`videoxai.models.families.registry.family_of`),
has that family describe it (a prompt-tuning run folder is converted by
:mod:`videoxai.models.families.prompt_tuning.run_folder`, torch hub weights by
the torchvision family), fingerprints the weights and loads the model. Keys are
validated by :class:`~videoxai.keys.ModelKey`, so no key can leave the registry root.

Resolving a videoxai checkpoint imports no torch (config, weights header and sha256 are read as files): the
resolve job starts in a fraction of a second. A prompt-tuning run is built while resolving (a context that does
not fit its backbone fails then, not on a GPU node), so its torch and transformers come then; that model is
the one :func:`load_key` returns, never built twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videoxai.keys import ModelKey
from videoxai.models.checkpoints.config import check_weights, is_run_folder_config, read_checkpoint_config
from videoxai.models.checkpoints.files import CONFIG_NAME, CheckpointError
from videoxai.models.checkpoints.files import (
    sha256_file as sha256_file,  # re-exported: fingerprints are part of resolving
)
from videoxai.models.checkpoints.hf_cache import recorded_weights
from videoxai.models.checkpoints.locate import (
    ModelNotFoundError as ModelNotFoundError,  # re-exported: finding is part of resolving
)
from videoxai.models.checkpoints.locate import find_checkpoint as find_checkpoint
from videoxai.models.checkpoints.locate import find_source, registry_dir
from videoxai.models.checkpoints.record import ResolvedModel
from videoxai.models.checkpoints.wandb_artifact import ArtifactSpec, ensure_artifact, is_artifact, read_marker
from videoxai.models.families.custom import load_custom, load_factory
from videoxai.models.families.prompt_tuning.run_folder import (
    RUN_FOLDER_FORMAT,
    describe_run,
    explicit_paths,
    load_run,
)
from videoxai.models.families.registry import CUSTOM, available_methods, family_of

if TYPE_CHECKING:
    from videoxai.models.base import VideoClassifier


def resolve(
    key: str,
    checkpoints_root: str | os.PathLike[str],
    explicit: dict[str, str] | None = None,
    custom: dict[str, str] | None = None,
    fetch: bool = True,
    offline: bool | None = None,
    checkpoint_file: str | None = None,
) -> ResolvedModel:
    """Find the checkpoint of ``key`` and describe it: the record the resolve job writes as ``resolved.json``.

    The record holds ``key``, ``source`` (``explicit`` | ``registry`` |
    ``torch-hub`` | ``wandb-artifact``), ``checkpoint`` (absolute weights
    path), ``sha256`` (of the weights), ``config_file`` (None for hub
    weights), ``method`` (the family's method, or ``custom``),
    ``class_names``, ``model_config`` (the whole checkpoint config),
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


def resolve_model(key: str, checkpoints_root: str | os.PathLike[str], *args: Any, **kwargs: Any) -> dict:
    """:func:`resolve` (the same arguments) as ``resolved.json``'s JSON object."""
    return resolve(key, checkpoints_root, *args, **kwargs).to_dict()


def _resolve(
    key: str,
    checkpoints_root: str | os.PathLike[str],
    explicit: dict[str, str] | None,
    custom: dict[str, str] | None,
    fetch: bool,
    offline: bool | None,
    checkpoint_file: str | None,
) -> tuple[ResolvedModel, VideoClassifier | None]:
    """:func:`resolve`, plus the model when resolving had to build it (a prompt-tuning run), else None."""
    mk = ModelKey.parse(key)
    artifact = (explicit or {}).get(key)
    if fetch and is_artifact(artifact):
        ensure_artifact(artifact, registry_dir(mk, checkpoints_root), offline)
    source, weights, config_file = find_source(mk, checkpoints_root, explicit, checkpoint_file)
    factory = (custom or {}).get(key)
    config = _read_checkpoint(mk, source, weights, config_file, factory)
    family = _family(mk, config, config_file, factory)
    fields, model = _describe(family, mk, config, config_file, weights, factory)
    record = ResolvedModel(
        key=str(mk),
        source=source,
        checkpoint=str(weights.absolute()),
        sha256=sha256_file(weights),
        config_file=str(config_file.absolute()) if config_file else None,
        artifact=_artifact_record(mk, checkpoints_root, artifact) if source == "wandb-artifact" else None,
        **fields,
    )
    return record, model


def _read_checkpoint(
    mk: ModelKey, source: str, weights: Path, config_file: Path | None, factory: str | None
) -> dict[str, Any]:
    """The checkpoint's config, parsed once and checked against the schema; the weights header checked too.

    Torch hub weights come without one: the torchvision family supplies it. A custom factory is imported
    now, so a typo fails here, not first at extraction on a GPU node.
    """
    config = read_checkpoint_config(config_file) if config_file is not None and config_file.is_file() else None
    if weights.is_file():
        check_weights(weights)
    if factory:
        load_factory(factory)
    if config is not None:
        return config
    if source == "torch-hub":
        from videoxai.models.families.torchvision_video import hub_config

        return hub_config(mk.method)
    raise CheckpointError(
        f"model {mk}: found weights {weights} but no {CONFIG_NAME} beside them; "
        "config.json names the method, class names and model configuration"
    )


def _family(mk: ModelKey, config: Mapping[str, Any], config_file: Path | None, factory: str | None) -> str:
    """The registry's family for the checkpoint, or an error naming the key, the file and the fix."""
    method = config.get("method")
    family = family_of(method, config, factory)
    fix_custom = f"custom: {{{str(mk)!r}: 'package.module:factory'}}"
    if family is None and method == CUSTOM:
        raise CheckpointError(
            f"model {mk}: {config_file} asks for a custom model, but a checkpoint cannot name code to import; "
            f"name the factory in the workflow config ({fix_custom})"
        )
    if family is None and method is None:
        raise CheckpointError(
            f"model {mk}: {config_file} names no method; give 'method' (one of: {', '.join(available_methods())}), "
            f"or build the model with your own factory ({fix_custom} in the workflow config)"
        )
    if family is None:
        raise CheckpointError(
            f"model {mk}: {config_file} names method {method!r}, which is not registered "
            f"(known: {', '.join(available_methods())})"
        )
    if family != CUSTOM and method is not None and mk.method in available_methods() and mk.method != method:
        raise CheckpointError(f"model {mk}: the key says method {mk.method!r} but {config_file} says {method!r}")
    return family


def _describe(
    family: str,
    mk: ModelKey,
    config: dict[str, Any],
    config_file: Path | None,
    weights: Path,
    factory: str | None,
) -> tuple[dict[str, Any], VideoClassifier | None]:
    """The family's fields of the record (method, class names, input spec, config, ...), and any model it built."""
    if is_run_folder_config(config) and family != CUSTOM:
        assert config_file is not None  # a run config is read from a file
        return describe_run(mk, config, config_file, weights)
    if "class_names" not in config:
        raise CheckpointError(f"{config_file} lacks required field(s) ['class_names']")
    fields: dict[str, Any] = {
        "method": CUSTOM if family == CUSTOM else config["method"],
        "class_names": list(config["class_names"]),
        "input_spec": config.get("input_spec"),
        "model_config": config,
    }
    if family == CUSTOM:
        fields["factory"] = factory
    return fields, None


def _artifact_record(mk: ModelKey, checkpoints_root: str | os.PathLike[str], artifact: str) -> dict:
    """The registry marker of a fetched wandb artifact (name, version, digest), or what was placed by hand."""
    return read_marker(registry_dir(mk, checkpoints_root)) or {
        "artifact": str(ArtifactSpec.parse(artifact)),
        "obtained": "placed by hand",
    }


def load_resolved(
    resolved: ResolvedModel | Mapping[str, Any], verify: bool = True, class_names: Sequence[str] | None = None
) -> VideoClassifier:
    """The model a resolved record (or ``resolved.json``'s object) describes, built by its family, in eval mode.

    With ``verify`` the weights' sha256 (and a prompt-tuning run's backbone
    weights') must still match: a checkpoint replaced after resolution fails
    loudly instead of silently mixing results. ``class_names`` builds a
    prompt-tuning run's model for these classes (else a placeholder class that
    extraction replaces with the test set's).
    """
    from videoxai.models.checkpoints.weights import build_with_weights

    record = resolved if isinstance(resolved, ResolvedModel) else ResolvedModel.from_dict(resolved)
    if verify:
        _verify_files(record)
    if record.format == RUN_FOLDER_FORMAT:
        return load_run(record, class_names)
    if record.family == CUSTOM:
        return load_custom(record.factory or "", record.model_config, record.checkpoint)
    return build_with_weights(record.model_config, record.checkpoint)


def _verify_files(record: ResolvedModel) -> None:
    """The weights (and a prompt-tuning run's backbone weights) are the files that were resolved."""
    _verify(Path(record.checkpoint), record.sha256, record.key)
    if record.backbone is not None:
        folder = Path(record.backbone["path"])
        for path in recorded_weights(record.backbone):
            _verify(path, record.backbone["files"][str(path.relative_to(folder))], record.key)


def _verify(path: Path, expected: str, key: str) -> None:
    if not path.is_file():
        raise CheckpointError(f"{path}, resolved for {key}, no longer exists: rerun the resolve step")
    digest = sha256_file(path)
    if digest != expected:
        raise CheckpointError(
            f"{path} changed since it was resolved for {key} "
            f"(sha256 {digest[:12]}… != {expected[:12]}…): rerun the resolve step"
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
    """``videoxai.load_model``: a model key → its model in eval mode, resolved as the workflow does, built once.

    Without ``checkpoints_root``, the registry folder ``checkpoints`` is used, else ``fallback_root``
    when it holds the key (``videoxai.load_model`` passes the demo checkpoints shipped with the package).
    """
    explicit = explicit_paths(checkpoint_paths)
    root = _registry_root(key, explicit, checkpoints_root, fallback_root)
    record, model = _resolve(key, root, explicit, None, True, None, checkpoint_file)
    if record.format == RUN_FOLDER_FORMAT and not class_names:
        raise ValueError(
            f"model {key} is a prompt-tuning run ({record.config_file}), which records no class names: "
            "pass class_names=[...] in the order its logits should have (prompt-tuning's UCF101/HMDB51 loaders "
            "sort the class folder names)"
        )
    if model is None:  # resolving built none: load it as the workflow's jobs do
        model = load_resolved(record, verify=False, class_names=class_names)
    if class_names is not None and list(model.class_names) != list(class_names):
        setter = getattr(model, "set_class_names", None)
        if setter is None:
            raise ValueError(
                f"model {key} knows its own {len(model.class_names)} classes and cannot take other class names; "
                "call load_model without class_names"
            )
        setter(list(class_names))
    return model.eval()


def _registry_root(
    key: str,
    explicit: Mapping[str, str],
    checkpoints_root: str | os.PathLike[str] | None,
    fallback_root: str | os.PathLike[str] | None,
) -> str | os.PathLike[str]:
    """As the workflow: the given root, else the registry folder ``checkpoints``, else the fallback when it holds the key."""
    if checkpoints_root is not None:
        return checkpoints_root
    root = "checkpoints"
    mk = ModelKey.parse(key)
    if (
        fallback_root is not None
        and key not in explicit
        and not registry_dir(mk, root).exists()
        and registry_dir(mk, fallback_root).is_dir()
    ):
        return fallback_root
    return root
