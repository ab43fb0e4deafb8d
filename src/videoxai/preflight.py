"""Checks that run while the workflow plans, before any job: a bad config fails in a second, not in a job.

Two kinds, both torch-free (planning must stay fast, see ``tests/workflow``):

* :func:`config_errors` checks the config against its JSON schema and says
  each problem in one line that names the key and its valid values (the
  schema library's own message prints the whole schema and config);
* :func:`data_errors` checks what needs only the config, the datasets'
  annotation files and the checkpoint files, one function per check: a dataset
  root that does not exist, ``num-frames`` or ``num-spatial-views`` a model
  cannot take (3 crops are the prompt-tuning pipeline's),
  ``classes-to-map`` larger than the number of classes in the split, class
  names the dataset does not have, a clip listed under two labels; a checkpoint
  ``config.json`` that does not fit its schema
  (:mod:`videoxai.models.checkpoints.config`), a weights file whose header is
  broken, a ``.pt`` whose pickle would run code (:mod:`videoxai.pickles`); a
  ``custom`` factory that is not one (read from its source, never run).
  Without it these fail inside a job, after that job's earlier outputs were
  deleted.

:func:`config_file_problem` checks the config file itself before Snakemake's YAML loader reads it.
"""

from __future__ import annotations

import ast
import difflib
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from videoxai.conventions import RENAMED
from videoxai.io import read_yaml
from videoxai.schemas.describe import describe


class ConfigError(ValueError):
    """The configuration cannot work; the message lists every problem, one line each."""


# ---------------------------------------------------------------------------------------------- schema


def load_schema(path: str | os.PathLike[str]) -> dict[str, Any]:
    return read_yaml(path)


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


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
    if key == "conventions" and error.instance in RENAMED:
        return [
            f"config key 'conventions' is {error.instance!r}, which is now called {RENAMED[error.instance]!r}: "
            f"set conventions: {RENAMED[error.instance]}"
        ]
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


# A config is a few kB of YAML; Snakemake's YAML loader takes seconds per MB (minutes for a 50 MB value).
MAX_CONFIG_BYTES = 1 << 20


def config_file_problem(path: str | os.PathLike[str]) -> str | None:
    """What keeps a config file from being read as YAML quickly (too large, not text), in one line; None if fine.
    Checked before Snakemake's loader reads it, whose errors are a traceback (or minutes of parsing)."""
    try:
        size = os.stat(path).st_size
        if size > MAX_CONFIG_BYTES:
            return (
                f"config file {path} is {size / 1e6:.1f} MB; a config is a few kB of YAML (long class lists and "
                f"mappings go in files it names): at most {MAX_CONFIG_BYTES >> 20} MB is read"
            )
        data = Path(path).read_bytes()
    except OSError as e:
        return f"config file {path} cannot be read ({e.strerror})"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return (
            f"config file {path} is not YAML text (not UTF-8 at byte {e.start}); give a config like config/config.yaml"
        )
    nul = data.find(b"\0")
    if nul >= 0:
        return f"config file {path} is not YAML text (a NUL byte at {nul}); give a config like config/config.yaml"
    return None


def check_config(config: Mapping[str, Any], schema_path: str | os.PathLike[str]) -> None:
    """Raise :class:`ConfigError` listing every schema problem of ``config``, one short line each."""
    lines = config_errors(config, load_schema(schema_path))
    if lines:
        raise ConfigError(_format(lines, f"every key and its meaning: {schema_path}"))


def _format(lines: Sequence[str], footer: str) -> str:
    return "invalid configuration:\n" + "".join(f"  - {line}\n" for line in lines) + footer


# ------------------------------------------------------------------------------------------ data checks
# One function per check, each returning its lines; data_errors runs them in order.


def checkpoint_errors(
    configs: Mapping[str, str | os.PathLike[str] | None], weights: Mapping[str, str | os.PathLike[str] | None]
) -> list[str]:
    """Each model's checkpoint ``config.json`` against its schema, and its weights file's header (never unpickled)."""
    from videoxai.models.checkpoints.config import checkpoint_problems

    lines: list[str] = []
    for key in dict.fromkeys([*configs, *weights]):
        lines += [f"model {key}: {line}" for line in checkpoint_problems(configs.get(key), weights.get(key))]
    return lines


def code_running_checkpoint_errors(weights: Mapping[str, str | os.PathLike[str] | None]) -> list[str]:
    """A ``.pt`` whose pickle names what torch's safe loader refuses (code it would run): refused now, naming the
    file and the fix, instead of at extraction with torch's advice to load it unsafely."""
    from videoxai.pickles import code_globals

    lines = []
    for key, path in weights.items():
        if path is None or not str(path).endswith((".pt", ".pth", ".ckpt", ".bin")) or not Path(path).is_file():
            continue
        names = code_globals(path)
        if names:
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            lines.append(
                f"model {key}: checkpoint weights {path} would run code when loaded (its pickle calls {shown}); "
                "it is never loaded that way: save the model's tensors alone (its state_dict, or safetensors) "
                "and use that file"
            )
    return lines


def explainer_errors(config: Mapping[str, Any], configs: Mapping[str, str | os.PathLike[str] | None]) -> list[str]:
    """An explainer the chosen ``conventions`` cannot define on a model (prompt-tuning's Grad-CAM on prompt-tuning's own
    models): one line naming the list to change, instead of explain jobs that each fail after the model ran."""
    from videoxai.explain.options import undefined_reason

    methods = config.get("explainer-method") or []
    methods = [methods] if isinstance(methods, str) else list(methods)
    convention = config.get("conventions", "standard")
    lines = []
    for method in methods:
        by_reason: dict[str, list[str]] = {}
        for key, cfg_file in configs.items():
            family = checkpoint_family(key, cfg_file, config)
            why = undefined_reason(method, convention, family, prompts_in_frame_attention(key, cfg_file))
            if why is not None:
                by_reason.setdefault(why, []).append(key)
        for why, keys in by_reason.items():
            kept = [m for m in methods if m != method]
            lines.append(
                f"config key 'explainer-method': {method} is not defined under conventions: {convention} for "
                f"{', '.join(keys)} (prompt-tuning's own model{'s' if len(keys) > 1 else ''}: {why}); "
                f"set explainer-method: [{', '.join(kept)}], or conventions: standard"
            )
    return lines


def dataset_root_errors(config: Mapping[str, Any], tests: Sequence[str]) -> list[str]:
    """Each test dataset's root is a folder (or the demo, still to be written)."""
    return [
        f"config key 'datasets.{name}.root': {config['datasets'][name]['root']} does not exist or is not a folder "
        f"(dataset-test uses '{name}'); give the folder that holds the dataset"
        for name in tests
        if not config["datasets"][name].get("generate") and not Path(config["datasets"][name]["root"]).is_dir()
    ]


def annotation_file_errors(config: Mapping[str, Any], tests: Sequence[str]) -> list[str]:
    """Each test dataset's ``annotations`` file, where it names one, exists."""
    return [
        f"config key 'datasets.{name}.annotations': {ann} does not exist"
        for name in tests
        if (ann := config["datasets"][name].get("annotations")) is not None and not Path(ann).exists()
    ]


def num_frames_errors(config: Mapping[str, Any], configs: Mapping[str, str | os.PathLike[str] | None]) -> list[str]:
    """``num-frames`` (null, one integer, or per model key) against the frames each checkpoint's ``config.json``
    lets its model take (:mod:`videoxai.setup.frames`): one line per model that cannot take them."""
    from videoxai.setup.frames import frame_support, plan_frames

    value = config.get("num-frames")
    lines = []
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in configs]
        if unknown:
            lines.append(
                f"config key 'num-frames' names models not in 'models': {unknown}; valid keys: {sorted(configs)}"
            )
    for key, cfg_file in configs.items():
        problem = plan_frames(key, value, frame_support(cfg_file)).problem
        if problem:
            lines.append(problem)
    return lines


def num_spatial_views_errors(
    config: Mapping[str, Any], configs: Mapping[str, str | os.PathLike[str] | None]
) -> list[str]:
    """``num-spatial-views`` 3 against the videoxai checkpoints, which take one spatial view (only prompt-tuning
    runs crop 3)."""
    spatial = config.get("num-spatial-views")
    if spatial is None or spatial == 1:
        return []
    return [
        f"config key 'num-spatial-views' is {spatial}, but model {key} takes one spatial view (only prompt-tuning "
        f"runs crop 3; {cfg_file}); valid values: null, 1"
        for key, cfg_file in configs.items()
        if checkpoint_num_frames(cfg_file) is not None  # a videoxai checkpoint: the standard pipeline
    ]


def custom_factory_errors(config: Mapping[str, Any]) -> list[str]:
    """Each ``custom`` factory names a module the jobs can import and, in it, a function or class of the user's
    that takes the checkpoint config (found by reading the module's source: planning runs none of its code)."""
    lines = []
    for key, spec in (config.get("custom") or {}).items():
        problem = factory_problem(spec)
        if problem is not None:
            lines.append(f"config key 'custom.{key}': {spec!r} {problem}")
    return lines


def split_errors(config: Mapping[str, Any], tests: Sequence[str], splits: Sequence[str]) -> list[str]:
    """Each split a job reads can be listed: its annotation files read, every clip under one label (a listing
    error names the file and line; a clip listed twice under one label is counted once, with a warning line)."""
    from videoxai.data.splits import DatasetError

    lines = []
    for name in tests:
        for split in splits:
            try:
                info = load_split(config, name, split)
            except DatasetError as e:
                lines.append(f"dataset '{name}', {split} split: {e}")
                continue
            except Exception:
                continue  # a root or annotation problem: dataset_root_errors / annotation_file_errors say it
            if info is not None and info.duplicates:
                print(f"videoxai: dataset '{name}', {split} split: {info.duplicates_line()}", file=sys.stderr)
    return lines


def _test_classes(config: Mapping[str, Any], tests: Sequence[str]) -> Iterator[tuple[str, list[str], set[str]]]:
    """(test dataset, its class names, the names with clips in the config's split) for each readable test split."""
    for name in tests:
        try:
            names, present = split_classes(dict(config["datasets"][name], name=name), config["split"])
        except Exception:
            continue  # a root or listing problem: dataset_root_errors and split_errors say it
        yield name, names, present


def class_count_errors(config: Mapping[str, Any], tests: Sequence[str]) -> list[str]:
    """``classes-to-map`` as a number: at most the number of classes with clips in each test split."""
    wanted, base_split = config.get("classes-to-map"), config["split"]
    if not isinstance(wanted, int) or isinstance(wanted, bool):
        return []
    return [
        f"config key 'classes-to-map' is {wanted}, but the {base_split} split of '{name}' has clips of "
        f"only {len(present)} classes; valid values: 1 to {len(present)}, or a list of class names"
        for name, _, present in _test_classes(config, tests)
        if wanted > len(present)
    ]


def class_name_errors(config: Mapping[str, Any], tests: Sequence[str]) -> list[str]:
    """Each class ``classes-to-map`` and ``classes-to-mix`` name is one of the test dataset's (or a mapped
    training class), with the closest name suggested."""
    wanted, mix = config.get("classes-to-map"), config.get("classes-to-mix")
    if not (_names(wanted) or _pairs(mix)):
        return []
    lines = []
    for name, names, _ in _test_classes(config, tests):
        valid = set(names) | mapped_classes(config, name)
        for which, given in (("classes-to-map", _names(wanted)), ("classes-to-mix", _pairs(mix))):
            line = _unknown_classes(which, given, valid, name)
            if line:
                lines.append(line)
    return lines


def absent_class_errors(config: Mapping[str, Any], tests: Sequence[str]) -> list[str]:
    """Each class ``classes-to-map`` names has clips in the config's split of each test dataset."""
    wanted, base_split = _names(config.get("classes-to-map")), config["split"]
    if not wanted:
        return []
    lines = []
    for name, names, present in _test_classes(config, tests):
        absent = [c for c in wanted if c in names and c not in present]
        if absent:
            lines.append(
                f"config key 'classes-to-map' names classes with no clips in the {base_split} split of '{name}': {absent}"
            )
    return lines


def data_errors(
    config: Mapping[str, Any],
    tests: Sequence[str],
    checkpoint_configs: Mapping[str, str | os.PathLike[str] | None],
    checkpoint_weights: Mapping[str, str | os.PathLike[str] | None] | None = None,
    splits: Sequence[str] = (),
) -> list[str]:
    """Problems the config has with its data and models, found from annotations and checkpoint files only.

    ``checkpoint_configs`` maps each model key to its checkpoint's ``config.json`` (None when not known yet,
    e.g. a demo model still to be trained, or a torch hub model); ``checkpoint_weights`` maps keys to their
    weights files; ``splits``: the splits jobs will read (checked for clips listed under two labels). The
    checks that read the datasets run only once the others pass (they need the roots).
    """
    weights = checkpoint_weights or {}
    lines = [
        *checkpoint_errors(checkpoint_configs, weights),
        *code_running_checkpoint_errors(weights),
        *custom_factory_errors(config),
        *dataset_root_errors(config, tests),
        *annotation_file_errors(config, tests),
        *num_frames_errors(config, checkpoint_configs),
        *num_spatial_views_errors(config, checkpoint_configs),
    ]
    if lines:
        return lines
    return [
        *split_errors(config, tests, splits),
        *class_count_errors(config, tests),
        *class_name_errors(config, tests),
        *absent_class_errors(config, tests),
    ]


def check_data(
    config: Mapping[str, Any],
    tests: Sequence[str],
    checkpoint_configs: Mapping[str, str | os.PathLike[str] | None],
    checkpoint_weights: Mapping[str, str | os.PathLike[str] | None] | None = None,
    splits: Sequence[str] = (),
) -> None:
    """Raise :class:`ConfigError` listing what :func:`data_errors` finds."""
    lines = data_errors(config, tests, checkpoint_configs, checkpoint_weights, splits)
    if lines:
        raise ConfigError(_format(lines, "fix these in the config (or the checkpoint files named); nothing was run"))


def check_explainers(
    config: Mapping[str, Any], checkpoint_configs: Mapping[str, str | os.PathLike[str] | None]
) -> None:
    """Raise :class:`ConfigError`, one line per explainer the chosen conventions cannot define on the config's models.

    Its own message, not :func:`check_data`'s list: the line is the whole message (the explainer list to change).
    """
    lines = explainer_errors(config, checkpoint_configs)
    if lines:
        raise ConfigError("\n".join(lines))


# ---------------------------------------------------------------------------------- what the checks read


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


def checkpoint_family(key: str, config_file: str | os.PathLike[str] | None, config: Mapping[str, Any]) -> str | None:
    """The model family that builds a checkpoint (the registry's choice, from its ``config.json``), if known now."""
    from videoxai.models.checkpoints.config import CheckpointConfigError, read_checkpoint_config
    from videoxai.models.families.registry import family_of

    if config_file is None or not Path(config_file).is_file():
        return None
    try:
        cfg = read_checkpoint_config(config_file)
    except (OSError, CheckpointConfigError):
        return None  # a malformed checkpoint config is checkpoint_errors' to report
    return family_of(key.split("/", 1)[0], cfg, (config.get("custom") or {}).get(key))


def prompts_in_frame_attention(key: str, config_file: str | os.PathLike[str] | None) -> bool:
    """Whether a prompt-tuning run keeps its visual prompts among each frame's tokens (its ``config.json``)."""
    from videoxai.models.checkpoints.config import is_run_folder_config
    from videoxai.models.families.prompt_tuning.config import RunOptions

    if config_file is None or not Path(config_file).is_file():
        return False
    try:
        cfg = json.loads(Path(config_file).read_text(encoding="utf-8"))
        return (
            is_run_folder_config(cfg)
            and RunOptions.from_run_config(cfg, key.split("/", 1)[0]).prompts_in_frame_attention
        )
    except (OSError, ValueError, TypeError, AttributeError):
        return False  # a malformed checkpoint config is checkpoint_errors' to report


def checkpoint_class_names(config_file: str | os.PathLike[str] | None) -> list[str] | None:
    """The class list a checkpoint's ``config.json`` fixes (videoxai's ``class_names``); None for a prompt-tuning
    run (it answers with the test dataset's classes) or when it does not say."""
    if config_file is None or not Path(config_file).is_file():
        return None
    try:
        names = json.loads(Path(config_file).read_text(encoding="utf-8")).get("class_names")
    except (OSError, ValueError, AttributeError):
        return None
    return [str(n) for n in names] if isinstance(names, list) and names else None


_SPLITS: dict[tuple[str, str, str], Any] = {}


def load_split(config: Mapping[str, Any], name: str, split: str) -> Any:
    """The :class:`~videoxai.data.splits.SplitInfo` of a test dataset's split, read once per planning process
    (None for the embedded demo before it is written); clips missing on disk are the extraction log's to report."""
    dataset = dict(config["datasets"][name], name=name)
    if dataset.get("generate") and not Path(dataset["root"]).is_dir():
        return None
    cache_key = (name, split, json.dumps(dataset, sort_keys=True, default=str))
    if cache_key not in _SPLITS:
        from videoxai.data.manifest import load_info

        quiet = logging.getLogger("videoxai.data")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            _SPLITS[cache_key] = load_info(dataset, split)
        finally:
            quiet.setLevel(level)
    return _SPLITS[cache_key]


def split_classes(dataset: Mapping[str, Any], split: str) -> tuple[list[str], set[str]]:
    """(class names, names with at least one clip in ``split``) from the annotation files alone.

    The embedded demo, before it is generated, has its fixed classes, every one
    present (each split holds at least one clip per class).
    """
    name = dataset.get("name", "")
    info = load_split({"datasets": {name: {k: v for k, v in dataset.items() if k != "name"}}}, name, split)
    if info is None:
        from videoxai.demo.dataset import DEMO_CLASSES

        return list(DEMO_CLASSES), set(DEMO_CLASSES)
    names = list(info.class_names)
    present = {names[s.label] for s in info.samples if 0 <= s.label < len(names)}
    return names, present


def mapped_classes(config: Mapping[str, Any], test: str) -> set[str]:
    """The training classes a ``class-mapping`` of ``test`` maps onto (selection may name them instead)."""
    mapped: set[str] = set()
    for train_map in (config.get("class-mapping") or {}).get(test, {}).values():
        if isinstance(train_map, Mapping):
            mapped |= set(train_map.values())
        elif isinstance(train_map, str) and Path(train_map).is_file():
            try:
                from videoxai.data.names import read_class_mapping

                mapped |= set(read_class_mapping(train_map).values())
            except Exception:
                pass
    return mapped


def _names(given: Any) -> list[str]:
    return list(given) if isinstance(given, list) else []


def _pairs(given: Any) -> list[str]:
    return [c for pair in given for c in pair] if isinstance(given, list) else []


def _unknown_classes(which: str, given: Sequence[str], valid: set[str], test: str) -> str | None:
    unknown = list(dict.fromkeys(c for c in given if c not in valid))
    if not unknown:
        return None
    shown = sorted(valid)
    listing = ", ".join(shown[:40]) + (f", ... ({len(shown)} in all)" if len(shown) > 40 else "")
    said = ", ".join(
        repr(c) + "".join(f" (did you mean {h!r}?)" for h in difflib.get_close_matches(c, shown, n=1)) for c in unknown
    )
    return f"config key '{which}' names classes '{test}' does not have: {said}; valid names: {listing}"


def factory_problem(spec: str) -> str | None:
    """What keeps ``package.module:factory`` from being a model factory the jobs can call, read from the module's
    source without running it (None when it looks callable with the checkpoint config)."""
    import importlib.util
    import sysconfig

    module_name, _, attr = spec.partition(":")
    try:
        found = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        found = None
    if found is None:
        return (
            f"names module {module_name!r}, which cannot be imported here (install it, or put its folder on PYTHONPATH)"
        )
    source = found.origin or ""  # importlib's name for the module's file
    stdlib = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
    if source in ("built-in", "frozen") or (
        any(source.startswith(d + os.sep) for d in stdlib) and "site-packages" not in source
    ):
        return f"names {module_name!r} of Python's standard library: a factory is a function or class of yours"
    if not source.endswith(".py"):
        return None  # a compiled module: its factory is checked when the model is resolved
    try:
        tree = ast.parse(Path(source).read_bytes())
    except (OSError, SyntaxError, ValueError) as e:
        return f"names module {module_name!r}, whose source {source} cannot be read ({e})"
    for node in tree.body:
        if _binds(node, attr):
            return _call_problem(node)
    return f"names {attr!r}, which module {module_name!r} ({source}) does not define"


def _binds(node: ast.stmt, name: str) -> bool:
    """True when a module-level statement defines ``name`` (or may: a star import, a module ``__getattr__``)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name in (name, "__getattr__")
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return isinstance(node.target, ast.Name) and node.target.id == name
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return any((a.asname or a.name.split(".")[0]) == name or a.name == "*" for a in node.names)
    return False


def _call_problem(node: ast.stmt) -> str | None:
    """Why the function ``node`` defines cannot be called with one argument (None for anything else)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name == "__getattr__":
        return None
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    required = len(positional) - len(args.defaults)
    if not positional and args.vararg is None:
        return "is a function that takes no argument; it is called with the checkpoint's config (a dict)"
    if required > 1:
        return f"is a function of {required} required arguments; it is called with one, the checkpoint's config"
    return None
