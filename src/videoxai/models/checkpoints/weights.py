"""Checkpoints as ``model.safetensors`` + ``config.json``; loading never runs code.

Weights are read with safetensors, or with ``torch.load(weights_only=True)``
for ``.pt``/``.pth``/``.ckpt``/``.bin`` files (:func:`load_pickle`, the one
reader of a pickled weights file, prompt-tuning's ``.pt`` included): a pickle
that would construct arbitrary objects is refused by PyTorch's restricted
unpickler, and we turn that into a :class:`UnsafeCheckpointError` that says so.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from videoxai.io import atomic_path, write_json
from videoxai.models.base import VideoClassifier
from videoxai.models.checkpoints.config import read_checkpoint_config
from videoxai.models.checkpoints.files import (  # re-exported: the checkpoint format's names
    CONFIG_NAME,
    PICKLE_SUFFIXES,
    SAFETENSORS_SUFFIX,
    WEIGHT_SUFFIXES,
    WEIGHTS_NAME,
    CheckpointError,
    find_weights,
)
from videoxai.models.families.registry import build_model

FORMAT = "videoxai-checkpoint"
FORMAT_VERSION = 1


class UnsafeCheckpointError(CheckpointError):
    """A pickled checkpoint holds objects that would execute code when loaded; it was not loaded."""


def save_checkpoint(model: VideoClassifier, directory: str | os.PathLike[str], extra: dict | None = None) -> Path:
    """Write ``config.json`` then ``model.safetensors`` (each atomically); return the weights path."""
    directory = Path(directory)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "method": model.method,
        "weights": WEIGHTS_NAME,
        **model.get_config(),
    }
    if extra:
        config["extra"] = extra
    write_json(directory / CONFIG_NAME, config)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = directory / WEIGHTS_NAME
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt", "method": model.method})
    return weights


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Tensors of a weights file, loaded without executing code; clear errors otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint weights file not found: {path}")
    if path.suffix == SAFETENSORS_SUFFIX:
        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{path} is not a readable safetensors file (truncated or corrupted?): {e}") from e
    if path.suffix not in PICKLE_SUFFIXES:
        raise CheckpointError(f"unknown weights format {path.suffix!r} for {path}; expected one of {WEIGHT_SUFFIXES}")
    return _unwrap_state_dict(load_pickle(path), path)


def _refused(path: Path, error: Exception) -> str:
    return (
        f"refused to load {path}: it contains pickled Python objects beyond tensors and plain containers "
        f"(loading it could run code). Re-save the weights as safetensors or a plain state_dict. Detail: {error}"
    )


def load_pickle(path: str | os.PathLike[str], refused: Callable[[Path, Exception], str] = _refused) -> Any:
    """What a ``torch.save`` file holds, unpickled with ``weights_only=True`` (tensors and plain containers only).

    A file that would run code is an :class:`UnsafeCheckpointError` whose message ``refused(path, error)`` says
    what to do about it; a damaged one a :class:`CheckpointError`.
    """
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise UnsafeCheckpointError(refused(path, e)) from e
    except Exception as e:  # zip/pickle framing errors
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (truncated or corrupted?): {e}") from e


def _unwrap_state_dict(obj: object, path: Path) -> dict[str, torch.Tensor]:
    # common training-script layouts: {"state_dict": ...}, {"model": ...}
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a state_dict (a mapping of parameter names to tensors)")
    return obj


def load_weights_into(model: VideoClassifier, weights: str | os.PathLike[str]) -> VideoClassifier:
    """Load a weights file into ``model`` strictly (every parameter accounted for)."""
    state = read_state_dict(weights)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            f"{weights} does not match the {model.method} model built from its config: "
            f"missing {result.missing_keys[:8]}, unexpected {result.unexpected_keys[:8]}"
        )
    return model


def load_checkpoint(path: str | os.PathLike[str]) -> VideoClassifier:
    """Rebuild a model from a checkpoint folder (or a weights file with ``config.json`` beside it), in eval mode."""
    path = Path(path)
    if path.is_dir():
        weights = find_weights(path)
        if weights is None:
            raise FileNotFoundError(f"no weights file ({', '.join(WEIGHT_SUFFIXES)}) in checkpoint folder {path}")
        config_path = path / CONFIG_NAME
    else:
        weights, config_path = path, path.parent / CONFIG_NAME
    if not config_path.is_file():
        raise FileNotFoundError(f"checkpoint {weights} has no {CONFIG_NAME} beside it ({config_path})")
    return build_with_weights(read_checkpoint_config(config_path), weights)


def build_with_weights(config: Mapping[str, Any], weights: str | os.PathLike[str]) -> VideoClassifier:
    """Build the model a videoxai ``config`` describes (its family's builder) and load ``weights`` into it; eval mode."""
    method = config.get("method")
    if not method:
        raise CheckpointError(f"the config of {weights} names no method (the model's family decides it)")
    try:
        model = build_model(method, config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"cannot build a {method} model from its config: {e}") from e
    try:
        load_weights_into(model, weights)
    except RuntimeError as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{weights} does not fit the model its config describes: {e}") from e
    return model.eval()
