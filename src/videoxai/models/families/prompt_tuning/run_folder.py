"""Run folders of prompt-tuning's training code, and its ``checkpoint_paths.json``, read as they are.

Prompt-tuning (the public prompt-tuning repository prompt-tuning's analysis scripts come from)
writes one folder per run: ``config.json`` (its run configuration: ``clip-model``,
context length, pooling, ...) beside ``best.pt`` and epoch files ``1.pt``, ...
Each ``.pt`` is a dict ``{context_state_dict, optimizer_state_dict, ...,
config}``; only ``context_state_dict`` (the learned prompts, pooling and STT
layers) is used here, and the CLIP backbone comes from ``clip-model``
(:mod:`.hf_cache`). Class names are not stored: prompt-tuning takes them from the
dataset it evaluates, and so does videoxai (extraction sets the test set's).

``checkpoint_paths.json`` maps ``{method: {dataset: {run: path}}}``; a relative
path is relative to the JSON file's folder, except in prompt-tuning's own copy,
``<repository>/src/configs/methods/checkpoint_paths.json``, where it is
relative to ``<repository>`` (the prompt-tuning runs from its repository root and
reads the paths as written).

This module is the prompt-tuning family's conversion of these foreign
checkpoints: :func:`describe_run` turns a run folder into the fields of a
:class:`~videoxai.models.checkpoints.record.ResolvedModel` (building the model
once, so a context that does not fit its backbone fails while resolving), and
:func:`load_run` builds the model such a record describes.

Finding and reading JSON is torch-free (the workflow plans with it); reading a
``.pt`` and building the model import torch and transformers when called.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videoxai.keys import ModelKey, ModelKeyError
from videoxai.models.checkpoints.config import is_run_folder_config, read_checkpoint_config
from videoxai.models.checkpoints.files import CONFIG_NAME, CheckpointError
from videoxai.models.checkpoints.hf_cache import locate_backbone
from videoxai.models.checkpoints.locate import CheckpointPaths
from videoxai.models.families.prompt_tuning.config import METHODS

if TYPE_CHECKING:
    import torch

    from videoxai.models.base import VideoClassifier
    from videoxai.models.checkpoints.record import ResolvedModel

RUN_FOLDER_FORMAT = "prompt-tuning-run"
UPSTREAM_JSON_PLACE = ("src", "configs", "methods", "checkpoint_paths.json")
RUN_FOLDER_METHODS = METHODS  # the families videoxai rebuilds from a run folder
CONTEXT_KEY = "context_state_dict"
BACKBONE_KEY = "clip-model"
# A prompt-tuning run records no class names (prompt-tuning takes them from the dataset it evaluates). Until
# someone sets them (extraction: the test set's), the model is built for this one placeholder class.
UNSET_CLASS_NAMES = ["unset class names"]

CONVERT_SNIPPET = """\
    import torch  # in a trusted Python session, outside the workflow, once per file you trust:
    ckpt = torch.load("{path}", map_location="cpu", weights_only=False)  # runs the file's pickled code
    state = ckpt["context_state_dict"] if isinstance(ckpt, dict) and "context_state_dict" in ckpt else ckpt.state_dict()
    torch.save({{"context_state_dict": {{k: v.detach().cpu() for k, v in state.items()}}}}, "{converted}")"""

OLD_FORMAT_SNIPPET = """\
    import torch  # in a trusted Python session, outside the workflow, once per file you trust:
    old = torch.load("{path}", map_location="cpu", weights_only=False)  # runs the file's pickled code
    state = {{"context_vectors_text": old["text_context"], "logit_scale": torch.tensor(1 / 0.07).log()}}
    if old.get("vision_context") is not None: state["context_vectors_vision"] = old["vision_context"]
    if old.get("temporal_pooling") is not None:
        state.update({{"temporal_pooling." + k: v for k, v in old["temporal_pooling"].state_dict().items()}})
    torch.save({{"context_state_dict": state}}, "{converted}")
  (that format stored no logit_scale: prompt-tuning's load_context kept its initial value log(1/0.07), as above)"""


# ---------------------------------------------------------------- checkpoint_paths.json (torch-free)


def read_checkpoint_paths(path: str | os.PathLike[str]) -> CheckpointPaths:
    """Prompt-tuning's ``checkpoint_paths.json`` as ``{model key: absolute path}``.

    Relative paths are relative to the file's folder, or, for the file at prompt-tuning's own place in its
    repository (``src/configs/methods/checkpoint_paths.json``), to that repository's root.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint-paths names {path}, which does not exist; give prompt-tuning's checkpoint_paths.json "
            "({method: {dataset: {run: path}}}) or a mapping {model key: path}"
        )
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e
    path = path.absolute()
    in_upstream_repo = path.parts[-len(UPSTREAM_JSON_PLACE) :] == UPSTREAM_JSON_PLACE
    base = path.parents[len(UPSTREAM_JSON_PLACE) - 1] if in_upstream_repo else path.parent
    return CheckpointPaths(flatten_checkpoint_paths(data, base=base, where=str(path)), read_from=str(path))


def flatten_checkpoint_paths(
    data: Any, base: str | os.PathLike[str] | None = None, where: str = "checkpoint-paths"
) -> dict[str, str]:
    """``{method: {dataset: {run: path}}}`` → ``{"method/dataset/run": path}``, checked; paths made absolute to ``base``.

    A ``wandb:`` artifact reference is kept as it is.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must hold a JSON object {{method: {{dataset: {{run: path}}}}}}")
    flat: dict[str, str] = {}
    for method, datasets in data.items():
        if not isinstance(datasets, Mapping):
            raise ValueError(f"{where}: {method!r} must map dataset names to {{run: path}}, got {datasets!r}")
        for dataset, runs in datasets.items():
            if not isinstance(runs, Mapping):
                raise ValueError(f"{where}: {method}/{dataset} must map run ids to paths, got {runs!r}")
            for run, target in runs.items():
                key = f"{method}/{dataset}/{run}"
                try:
                    ModelKey.parse(key)
                except ModelKeyError as e:
                    raise ValueError(f"{where}: {e}") from e
                if not isinstance(target, str) or not target:
                    raise ValueError(f"{where}: {key} must map to a path, got {target!r}")
                flat[key] = _absolute(target, base)
    return flat


def _absolute(target: str, base: str | os.PathLike[str] | None) -> str:
    if target.startswith("wandb:") or base is None:
        return target
    p = Path(target).expanduser()
    return str(p if p.is_absolute() else Path(base) / p)


def explicit_paths(value: str | os.PathLike[str] | Mapping[str, Any] | None) -> CheckpointPaths:
    """The ``checkpoint-paths`` setting as ``{model key: path}``.

    ``value`` is prompt-tuning's ``checkpoint_paths.json`` (a path), a flat
    mapping ``{model key: path}`` (paths as given: relative to the working
    directory), or prompt-tuning's nested form ``{method: {dataset: {run: path}}}``.
    """
    if value is None:
        return CheckpointPaths()
    if isinstance(value, (str, os.PathLike)):
        return read_checkpoint_paths(value)
    if not isinstance(value, Mapping):
        raise ValueError(f"checkpoint-paths must be a JSON file path or a mapping, got {type(value).__name__}")
    if any(isinstance(v, Mapping) for v in value.values()):
        return CheckpointPaths(flatten_checkpoint_paths(value))
    bad = {k: v for k, v in value.items() if not isinstance(v, str)}
    if bad:
        raise ValueError(f"checkpoint-paths: every model key must map to a path, got {bad}")
    return CheckpointPaths(dict(value))


# ---------------------------------------------------------------- run folder config (torch-free)


def run_config_beside(weights: str | os.PathLike[str]) -> dict | None:
    """The prompt-tuning run config next to a weights file, or None when the folder is not a prompt-tuning run."""
    config_path = Path(weights).parent / CONFIG_NAME
    if not config_path.is_file():
        return None
    config = read_checkpoint_config(config_path)
    return config if is_run_folder_config(config) else None


def check_run_method(key: ModelKey, config_path: Path) -> str:
    """The method of a prompt-tuning run: the key's first part (as prompt-tuning's ``load_model_from_keys``), if rebuilt here."""
    if key.method not in RUN_FOLDER_METHODS:
        raise CheckpointError(
            f"model {key}: {config_path} is a run of prompt-tuning's training code, but its method {key.method!r} "
            f"(the key's first part) is not one videoxai rebuilds: {', '.join(RUN_FOLDER_METHODS)}. "
            "Fix: use one of these methods in the model key (the key's method must be the run's method), "
            "or wrap the model with a custom factory (custom: {key: 'package.module:factory'})"
        )
    return key.method


def backbone_name(config: Mapping[str, Any], config_path: Path) -> str:
    """The run's ``clip-model``, checked to be a non-empty string."""
    name = config.get(BACKBONE_KEY)
    if not isinstance(name, str) or not name:
        raise CheckpointError(
            f"{config_path}: {BACKBONE_KEY} must name the CLIP backbone (a Hugging Face id such as "
            f"'openai/clip-vit-base-patch16', or a local folder), got {name!r}"
        )
    return name


# ---------------------------------------------------------------- the .pt and the model (torch when called)


def read_context_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """``context_state_dict`` of a prompt-tuning ``.pt``, loaded with ``weights_only=True`` (never runs code)."""
    import torch

    from videoxai.models.checkpoints.weights import load_pickle

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    converted = path.with_name(path.stem + ".converted.pt")
    obj = load_pickle(path, _refused)
    if not isinstance(obj, dict) or CONTEXT_KEY not in obj:
        have = sorted(map(str, obj))[:8] if isinstance(obj, dict) else type(obj).__name__
        hint = (
            OLD_FORMAT_SNIPPET.format(path=path, converted=converted)
            if isinstance(obj, dict) and "text_context" in obj
            else CONVERT_SNIPPET.format(path=path, converted=converted)
        )
        raise CheckpointError(
            f"{path} holds no {CONTEXT_KEY!r} (it has: {have}); a prompt-tuning run's .pt is the dict its "
            f"CoOpModel.save_context writes. Pick the run's best.pt or an epoch file, or convert the file "
            f"once, knowingly, outside the workflow:\n" + hint
        )
    state = obj[CONTEXT_KEY]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: {CONTEXT_KEY!r} must map parameter names to tensors")
    return state


def _refused(path: Path, error: Exception) -> str:
    """Why a run's ``.pt`` was not unpickled, and how to convert it once, knowingly."""
    converted = path.with_name(path.stem + ".converted.pt")
    return (
        f"refused to load {path}: it pickles Python objects beyond tensors and plain containers (an older "
        f"format that saved a module object, or not a checkpoint at all), and loading it could run code. "
        f"If you trust the file, convert it once, knowingly, outside the workflow:\n"
        + CONVERT_SNIPPET.format(path=path, converted=converted)
        + "\n  For the oldest format ({'text_context', 'temporal_pooling': <module>}) use instead:\n"
        + OLD_FORMAT_SNIPPET.format(path=path, converted=converted)
        + f"\n  Then point checkpoint-paths (or checkpoint-file) at {converted.name}. Detail: {_unpickling_detail(error)}"
    )


def _unpickling_detail(error: Exception) -> str:
    """The line of torch's long weights-only message that names what was refused."""
    text = str(error)
    marker = "WeightsUnpickler error:"
    line = text.split(marker, 1)[1].strip() if marker in text else text.strip()
    return line.split("\n")[0].split(" Please use")[0]


def load_backbone(path: str | os.PathLike[str]):
    """A transformers ``CLIPModel`` from a located backbone folder, float32, eval mode; no network."""
    from transformers import CLIPModel

    try:
        clip = CLIPModel.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot load the CLIP backbone from {path}: {e}") from e
    return clip.float().eval()


def build_from_run(
    key: str,
    run_config: dict,
    context_state: dict[str, torch.Tensor],
    backbone_path: str | os.PathLike[str],
    class_names: Sequence[str],
    *,
    weights: str | os.PathLike[str],
    config_path: str | os.PathLike[str],
) -> VideoClassifier:
    """Prompt-tuning's model of ``run_config`` with its learned context loaded, in eval mode.

    A context that does not fit (another ``clip-model``, another context
    length) is a :class:`CheckpointError` naming the ``.pt``, its config and the fix.
    """
    from videoxai.models.families.prompt_tuning import build_prompt_tuning_model

    clip = load_backbone(backbone_path)
    try:
        model = build_prompt_tuning_model(run_config, list(class_names), clip, method=ModelKey.parse(key).method)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"model {key}: cannot build the prompt-tuning model from {config_path}: {e}") from e
    try:
        model.load_context_state_dict(context_state)
    except (CheckpointError, RuntimeError) as e:
        raise CheckpointError(
            f"model {key}: the learned context in {weights} does not fit the model built from {config_path} "
            f"with backbone {run_config.get(BACKBONE_KEY)!r} ({backbone_path}): {e}. Fix: {BACKBONE_KEY} in "
            "config.json must name the CLIP the run was trained with (its widths decide these shapes), and the "
            "config must be the run's own."
        ) from e
    return model.eval()


# ---------------------------------------------------------------- the family's conversion of a run folder


def describe_run(key: ModelKey, run_config: dict, config_path: Path, weights: Path) -> tuple[dict, VideoClassifier]:
    """The prompt-tuning fields of a run folder's resolved record, and the model built once to check it fits.

    ``method`` is the key's (as prompt-tuning's ``load_model_from_keys``), ``class_names`` empty (the test
    set's are used), ``backbone`` the located CLIP's record (name, source, folder, snapshot, each file's sha256).
    """
    method = check_run_method(key, config_path)
    context = read_context_state_dict(weights)
    backbone = locate_backbone(backbone_name(run_config, config_path))
    model = build_from_run(
        str(key),
        run_config,
        context,
        backbone.path,
        UNSET_CLASS_NAMES,
        weights=weights,
        config_path=config_path,
    )
    fields = {
        "format": RUN_FOLDER_FORMAT,
        "method": method,
        "class_names": [],
        "input_spec": model.input_spec.to_dict(),
        "model_config": run_config,
        "backbone": backbone.record(),
    }
    return fields, model


def load_run(record: ResolvedModel, class_names: Sequence[str] | None = None) -> VideoClassifier:
    """The model of a resolved run folder, for ``class_names`` (else the record's, else a placeholder class)."""
    if record.backbone is None or record.config_file is None:
        raise CheckpointError(f"the record of {record.key} names no backbone or config file: rerun the resolve step")
    return build_from_run(
        record.key,
        record.model_config,
        read_context_state_dict(record.checkpoint),
        record.backbone["path"],
        list(class_names or record.class_names or UNSET_CLASS_NAMES),
        weights=record.checkpoint,
        config_path=record.config_file,
    )
