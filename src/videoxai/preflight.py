"""Checks that run while the workflow plans, before any job: a bad config fails in a second, not in a job.

Two kinds, both torch-free (planning must stay fast, see ``tests/workflow``):

* :func:`config_errors` checks the config against its JSON schema and says
  each problem in one line that names the key and its valid values (the
  schema library's own message prints the whole schema and config);
* :func:`data_errors` checks what needs only the config, the datasets'
  annotation files and the checkpoints' ``config.json``: a dataset root that
  does not exist, ``num-frames`` a model cannot take, ``num-spatial-views`` a model
  cannot take (3 crops are the prompt-tuning pipeline's), ``classes-to-map``
  larger than the number of classes in the split, class names the dataset
  does not have; a checkpoint ``config.json`` that does not fit its schema
  (:mod:`videoxai.models.config_schema`) or a weights file whose header is
  broken. Without it these fail inside a job, after that job's earlier
  outputs were deleted.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .io import read_yaml
from .models.config_schema import resolve_ref


class ConfigError(ValueError):
    """The configuration cannot work; the message lists every problem, one line each."""


# ---------------------------------------------------------------------------------------------- schema


def load_schema(path: str | os.PathLike[str]) -> dict[str, Any]:
    return read_yaml(path)


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def describe(schema: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    """What a schema accepts, in a few words: its values, or its type and bounds."""
    schema = resolve_ref(schema, root)
    if "enum" in schema:
        return "one of: " + ", ".join(str(v) for v in schema["enum"] if v is not True)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [resolve_ref(s, root) for s in schema[key]]
            singles = [describe(s, root) for s in branches if s.get("type") != "array" or "items" not in s]
            lists = [describe(s["items"], root) for s in branches if s.get("type") == "array" and "items" in s]
            words = [d.removeprefix("one of: ") for d in singles]
            words += ["a list of them" if d in singles else f"a list of ({d})" for d in lists]
            return ", or ".join(words)
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    words = {
        "integer": "an integer",
        "number": "a number",
        "string": "a string",
        "boolean": "true or false",
        "null": "null",
        "object": "a mapping",
        "array": "a list",
    }
    parts = []
    for kind in kinds:
        text = words.get(kind, str(kind))
        if kind in ("integer", "number"):
            bounds = [
                f">= {schema['minimum']}" if "minimum" in schema else "",
                f"> {schema['exclusiveMinimum']}" if "exclusiveMinimum" in schema else "",
                f"<= {schema['maximum']}" if "maximum" in schema else "",
                f"< {schema['exclusiveMaximum']}" if "exclusiveMaximum" in schema else "",
            ]
            text += " " + " and ".join(b for b in bounds if b) if any(bounds) else ""
        if kind == "array" and "items" in schema:
            text += f" of ({describe(schema['items'], root)})"
        parts.append(text)
    return " or ".join(parts) or "see the schema"


def _key(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _explain(error: Any, root: Mapping[str, Any]) -> list[str]:
    path = list(error.absolute_path)
    key = _key(path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties") or {})
        lines = []
        for extra in sorted(set(error.instance) - set(allowed)):
            close = difflib.get_close_matches(str(extra), allowed, n=2)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            where = f"under '{key}' " if path else ""
            valid = ", ".join(allowed) if allowed else "none"
            lines.append(f"unknown config key '{_key([*path, extra])}' {where}- {hint}valid keys: {valid}")
        return lines
    if error.validator == "required":
        return [
            f"config key '{_key([*path, m])}' is required" for m in error.validator_value if m not in error.instance
        ]
    if error.validator == "propertyNames":
        return [f"config key '{key}': {error.message}"]
    expected = describe(error.schema, root)
    found = _short(error.instance)
    if error.validator in (
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "uniqueItems",
        "minProperties",
        "pattern",
        "minLength",
        "maxItems",
    ):
        return [
            f"config key '{key}': {error.message}"
            + (f" ({error.schema['description']})" if "description" in error.schema else "")
        ]
    return [f"config key '{key}' is {found}; valid values: {expected}"]


def config_errors(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """One line per problem of ``config`` against ``schema`` (empty when it is valid)."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    lines: list[str] = []
    for error in sorted(validator.iter_errors(dict(config)), key=lambda e: [str(p) for p in e.absolute_path]):
        for line in _explain(error, schema):
            if line not in lines:
                lines.append(line)
    return lines


def check_config(config: Mapping[str, Any], schema_path: str | os.PathLike[str]) -> None:
    """Raise :class:`ConfigError` listing every schema problem of ``config``, one short line each."""
    lines = config_errors(config, load_schema(schema_path))
    if lines:
        raise ConfigError(_format(lines, f"every key and its meaning: {schema_path}"))


def _format(lines: Sequence[str], footer: str) -> str:
    return "invalid configuration:\n" + "".join(f"  - {line}\n" for line in lines) + footer


# ------------------------------------------------------------------------------------------ data checks


def checkpoint_num_frames(config_file: str | os.PathLike[str] | None) -> int | None:
    """The frame count a checkpoint's ``config.json`` fixes (videoxai's ``input_spec.num_frames``), if it says."""
    if config_file is None or not Path(config_file).is_file():
        return None
    try:
        cfg = json.loads(Path(config_file).read_text(encoding="utf-8"))
        n = cfg["input_spec"]["num_frames"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a malformed checkpoint config is resolve's to report, with its own message
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def split_classes(dataset: Mapping[str, Any], split: str) -> tuple[list[str], set[str]]:
    """(class names, names with at least one clip in ``split``) from the annotation files alone.

    The embedded demo, before it is generated, has its fixed classes, every one
    present (each split holds at least one clip per class).
    """
    root = Path(dataset["root"])
    if dataset.get("generate") and not root.is_dir():
        from videoxai.demo.dataset import DEMO_CLASSES

        return list(DEMO_CLASSES), set(DEMO_CLASSES)
    info = split_info(dataset, split)
    names = list(info.class_names)
    present = {names[s.label] for s in info.samples if 0 <= s.label < len(names)}
    return names, present


def split_info(dataset: Mapping[str, Any], split: str) -> Any:
    """The split's :class:`~videoxai.data.splits.SplitInfo` from its annotation files, quietly (no torch)."""
    from videoxai.data.datasets import load_split_info

    common = {"name", "format", "root", "split-id", "generate", "ground-truth"}  # as extraction's open_split
    opts = {k: v for k, v in dataset.items() if k not in common}
    quiet = logging.getLogger("videoxai.data")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # clips missing on disk are the extraction log's to report
    try:
        return load_split_info(dataset["format"], Path(dataset["root"]), split, dataset.get("split-id", 1), **opts)
    finally:
        quiet.setLevel(level)


def data_errors(
    config: Mapping[str, Any],
    tests: Sequence[str],
    checkpoint_configs: Mapping[str, str | os.PathLike[str] | None],
    checkpoint_weights: Mapping[str, str | os.PathLike[str] | None] | None = None,
) -> list[str]:
    """Problems the config has with its data and models, found from annotations and checkpoint configs only.

    ``checkpoint_configs`` maps each model key to its checkpoint's ``config.json`` (None when not known yet,
    e.g. a demo model still to be trained, or a torch hub model); each is checked against the checkpoint config
    schema. ``checkpoint_weights`` maps keys to their weights files, whose headers are read (never unpickled).
    """
    from .models.config_schema import checkpoint_problems

    lines: list[str] = []
    weights = checkpoint_weights or {}
    for key in dict.fromkeys([*checkpoint_configs, *weights]):
        lines += [f"model {key}: {line}" for line in checkpoint_problems(checkpoint_configs.get(key), weights.get(key))]
    datasets = config["datasets"]
    for name in tests:
        d = datasets[name]
        if not d.get("generate") and not Path(d["root"]).is_dir():
            lines.append(
                f"config key 'datasets.{name}.root': {d['root']} does not exist or is not a folder "
                f"(dataset-test uses '{name}'); give the folder that holds the dataset"
            )
        ann = d.get("annotations")
        if ann is not None and not Path(ann).exists():
            lines.append(f"config key 'datasets.{name}.annotations': {ann} does not exist")

    num_frames = config.get("num-frames")
    if num_frames is not None:
        for key, cfg_file in checkpoint_configs.items():
            fixed = checkpoint_num_frames(cfg_file)
            if fixed is not None and fixed != num_frames:
                lines.append(
                    f"config key 'num-frames' is {num_frames}, but model {key} takes exactly {fixed} frames "
                    f"({cfg_file}); valid values: {fixed}"
                )
    spatial = config.get("num-spatial-views")
    if spatial is not None and spatial != 1:
        for key, cfg_file in checkpoint_configs.items():
            if checkpoint_num_frames(cfg_file) is not None:  # a videoxai checkpoint: the standard pipeline
                lines.append(
                    f"config key 'num-spatial-views' is {spatial}, but model {key} takes one spatial view (only "
                    f"prompt-tuning runs crop 3; {cfg_file}); valid values: null, 1"
                )
    if lines:
        return lines  # the class checks below read the datasets: only once they are there

    base_split = config["split"]
    wanted = config.get("classes-to-map")
    mix = config.get("classes-to-mix")
    named = [
        *(wanted if isinstance(wanted, list) else []),
        *(c for pair in (mix if isinstance(mix, list) else []) for c in pair),
    ]
    if not (isinstance(wanted, int) or named):
        return lines
    for name in tests:
        try:
            names, present = split_classes(dict(datasets[name], name=name), base_split)
        except Exception:
            continue
        # with a class mapping for (test, train), selection may name the models' training classes instead
        mapped = set()
        for train_map in (config.get("class-mapping") or {}).get(name, {}).values():
            if isinstance(train_map, Mapping):
                mapped |= set(train_map.values())
            elif isinstance(train_map, str) and Path(train_map).is_file():
                try:
                    from videoxai.data.names import read_class_mapping

                    mapped |= set(read_class_mapping(train_map).values())
                except Exception:
                    pass
        if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > len(present):
            lines.append(
                f"config key 'classes-to-map' is {wanted}, but the {base_split} split of '{name}' has clips of "
                f"only {len(present)} classes; valid values: 1 to {len(present)}, or a list of class names"
            )
        valid = set(names) | mapped
        shown = sorted(valid)
        listing = ", ".join(shown[:40]) + (f", ... ({len(shown)} in all)" if len(shown) > 40 else "")
        for which, given in (("classes-to-map", wanted), ("classes-to-mix", mix)):
            flat = (
                given
                if which == "classes-to-map"
                else [c for pair in given for c in pair]
                if isinstance(given, list)
                else []
            )
            unknown = list(dict.fromkeys(c for c in (flat if isinstance(flat, list) else []) if c not in valid))
            if unknown:
                said = ", ".join(
                    repr(c) + "".join(f" (did you mean {h!r}?)" for h in difflib.get_close_matches(c, shown, n=1))
                    for c in unknown
                )
                lines.append(
                    f"config key '{which}' names classes '{name}' does not have: {said}; valid names: {listing}"
                )
        absent = [c for c in (wanted if isinstance(wanted, list) else []) if c in names and c not in present]
        if absent:
            lines.append(
                f"config key 'classes-to-map' names classes with no clips in the {base_split} split of '{name}': {absent}"
            )
    return lines


def check_data(
    config: Mapping[str, Any],
    tests: Sequence[str],
    checkpoint_configs: Mapping[str, str | os.PathLike[str] | None],
    checkpoint_weights: Mapping[str, str | os.PathLike[str] | None] | None = None,
) -> None:
    """Raise :class:`ConfigError` listing what :func:`data_errors` finds."""
    lines = data_errors(config, tests, checkpoint_configs, checkpoint_weights)
    if lines:
        raise ConfigError(_format(lines, "fix these in the config (or the checkpoint files named); nothing was run"))
