"""A checkpoint's ``config.json`` and weights header, checked before anything builds a model (no torch import).

A malformed checkpoint used to fail deep inside a job (``"class_names": 5`` as
``TypeError: 'int' object is not iterable``; a ``model.safetensors`` of random
bytes only at extraction). Here both are read the cheap way, while the workflow
plans (:func:`videoxai.preflight.data_errors`) and again when a model is
resolved, and every problem is one line naming the file and the field:

* ``config.json`` against ``videoxai/schemas/checkpoint_config.schema.yaml``:
  videoxai's own format (``method``, ``class_names``, ``model``, ``input_spec``)
  or a prompt-tuning run's configuration (``clip-model`` and the fields its models read);
* the weights file's header: a ``.safetensors`` header whose tensors fit the file
  (:func:`videoxai.checks.safetensors_header`), a ``.pt`` that is a torch zip
  archive (or a legacy pickle) — never unpickled here.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from videoxai.conventions import RENAMED
from videoxai.io import read_yaml
from videoxai.models.checkpoints.files import PICKLE_SUFFIXES, SAFETENSORS_SUFFIX, CheckpointError
from videoxai.schemas import CHECKPOINT_CONFIG_SCHEMA
from videoxai.schemas.describe import WORDS, describe

SCHEMA_PATH = CHECKPOINT_CONFIG_SCHEMA
_WORDS = {**WORDS, "object": "a JSON object"}  # a config.json is JSON
_PICKLE_PROTOCOL = 0x80  # the first byte of a pickle of protocol 2 or later (torch's legacy format)


class CheckpointConfigError(CheckpointError):
    """A checkpoint's config.json or weights file is malformed; the message names the file and each field."""


@cache
def load_checkpoint_schema(
    path: str | os.PathLike[str] = SCHEMA_PATH,
) -> dict[str, Any]:
    """The checkpoint config schema (read once per process)."""
    try:
        return read_yaml(path)
    except OSError as e:
        raise FileNotFoundError(
            f"the checkpoint config schema {path} cannot be read ({e}); it ships with the videoxai package "
            "(reinstall it: pip install .)"
        ) from e


def is_run_folder_config(config: Mapping[str, Any]) -> bool:
    """A prompt-tuning run configuration names its backbone (``clip-model``) and no videoxai ``method``."""
    return "clip-model" in config and "method" not in config


def config_problems(config: Any, schema: Mapping[str, Any] | None = None) -> list[str]:
    """One line per field of a parsed ``config.json`` that does not fit its format (empty when it fits)."""
    from jsonschema import Draft202012Validator

    root = dict(schema or load_checkpoint_schema())
    if not isinstance(config, Mapping):
        return [f"must hold a JSON object, not {type(config).__name__}"]
    which = "prompt-tuning-run" if is_run_folder_config(config) else "videoxai"
    validator = Draft202012Validator({**root["$defs"][which], "$defs": root["$defs"]})
    lines: list[str] = []
    for error in sorted(
        validator.iter_errors(dict(config)),
        key=lambda e: [str(p) for p in e.absolute_path],
    ):
        field = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = [m for m in error.validator_value if m not in error.instance]
            where = f" under '{field}'" if field else ""
            line = f"field(s) {', '.join(repr(m) for m in missing)} missing{where}"
            if which == "videoxai" and "class_names" in missing:
                line += " (videoxai's format: 'method', 'class_names'; a prompt-tuning run's: 'clip-model')"
        elif error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties") or {})
            extra = sorted(set(error.instance) - set(allowed))
            line = f"field '{field}' has unknown key(s) {', '.join(repr(x) for x in extra)}; valid keys: {', '.join(allowed)}"
        elif field.endswith("pipeline") and error.validator == "enum" and error.instance in RENAMED:
            line = f"field '{field}' is {error.instance!r}, which is now called {RENAMED[error.instance]!r}: set it to {RENAMED[error.instance]}"
        else:
            text = json.dumps(error.instance, default=str)
            found = text if len(text) <= 60 else text[:57] + "..."
            line = f"field '{field}' is {found}; valid values: {describe(error.schema, root, _WORDS)}"
        if line not in lines:
            lines.append(line)
    return lines


def read_checkpoint_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``config.json`` parsed and checked against the schema; :class:`CheckpointConfigError` names file and fields.

    The one reader of a checkpoint's ``config.json``: resolving reads it once and keeps the dict in
    ``resolved.json``, so no later job parses the file again.
    """
    path = Path(path)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise CheckpointConfigError(f"{path} is not valid JSON: {e}") from e
    lines = config_problems(config)
    if lines:
        raise CheckpointConfigError(_format(path, lines))
    return config


def weights_problem(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with a weights file's header, or None when it reads as its suffix says (nothing is unpickled)."""
    from videoxai.checks import BrokenFileError, safetensors_header

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        return f"cannot be read ({e.strerror})"
    if path.suffix == SAFETENSORS_SUFFIX:
        try:
            header = safetensors_header(path)
        except BrokenFileError as e:
            return e.problem
        if not [k for k in header if k != "__metadata__"]:
            return "holds no tensors"
        return None
    if path.suffix in PICKLE_SUFFIXES:
        if size == 0:
            return "is empty (0 bytes)"
        if zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as z:
                    names = z.namelist()
                    bad = z.testzip() if size < 64 << 20 else None  # CRCs of a small file; a large one by its index
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                return f"is a damaged zip archive ({e})"
            if bad is not None:
                return f"is a damaged torch archive (member {bad} fails its checksum)"
            if not any(n.endswith("data.pkl") for n in names):
                return "is a zip archive but not one torch.save wrote (no data.pkl in it)"
            return None
        with open(path, "rb") as fh:
            first = fh.read(1)
        if first and first[0] == _PICKLE_PROTOCOL:
            return None  # torch's legacy (pre-1.6) format: a pickle stream, loaded with weights_only=True later
        return "is neither a torch.save zip archive nor a pickle: not a PyTorch checkpoint"
    return None  # another weights format: the adapter that reads it says what is wrong


def check_weights(path: str | os.PathLike[str]) -> None:
    """Raise :class:`CheckpointConfigError` when a weights file's header is not what its suffix says."""
    problem = weights_problem(path)
    if problem is not None:
        raise CheckpointConfigError(
            f"checkpoint weights {path} {_verb(problem)}; replace it with the file training wrote (copy it again, "
            "or re-download it)"
        )


def checkpoint_problems(
    config_file: str | os.PathLike[str] | None, weights: str | os.PathLike[str] | None
) -> list[str]:
    """Every problem of a checkpoint's config.json and weights file, each line naming the file (for planning)."""
    lines: list[str] = []
    if config_file is not None and Path(config_file).is_file():
        try:
            read_checkpoint_config(config_file)
        except CheckpointConfigError as e:
            lines.append(str(e))
    if weights is not None and Path(weights).is_file():
        problem = weights_problem(weights)
        if problem is not None:
            lines.append(f"checkpoint weights {weights} {_verb(problem)}; replace it with the file training wrote")
    return lines


def _verb(problem: str) -> str:
    return problem if problem.startswith(("is ", "holds ", "cannot ")) else f"is broken: {problem}"


def _format(path: Path, lines: list[str]) -> str:
    if len(lines) == 1:
        return f"checkpoint config {path}: {lines[0]}"
    return f"checkpoint config {path}:\n" + "\n".join(f"    - {line}" for line in lines)
