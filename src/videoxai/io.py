"""Atomic file writing: a killed job never leaves a file that looks complete.

Every output is written to a hidden temporary name beside it and renamed into
place on success. The temporary name is recognisable,
``.{name}.tmp-{8 hex}{suffix}`` (``.metrics.json.tmp-1a2b3c4d.json``), so the
next write of the same output removes what a killed writer left behind
(:func:`stale_temporaries`). Files and folders get the user's umask, like
any file a program creates (``mkstemp``/``mkdtemp`` would make them 0600/0700).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TEMP_MARK = ".tmp-"


def _current_umask() -> int:
    # /proc gives it without changing it (os.umask is process-wide and racy under threads)
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _temp_pattern(final: Path, suffix: str) -> re.Pattern[str]:
    return re.compile(re.escape(f".{final.name}{TEMP_MARK}") + r"[0-9a-f]{8}" + re.escape(suffix))


def stale_temporaries(path: str | os.PathLike[str], suffix: str | None = None) -> list[Path]:
    """Temporaries of ``path`` left beside it by an earlier writer that never finished (killed, or out of disk)."""
    final = Path(path)
    pattern = _temp_pattern(final, final.suffix if suffix is None else suffix)
    try:
        return sorted(p for p in final.parent.iterdir() if pattern.fullmatch(p.name))
    except FileNotFoundError:
        return []


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """True for a name :func:`atomic_path` or :func:`atomic_dir` gives a temporary (``.x.json.tmp-1a2b3c4d.json``)."""
    name = Path(path).name
    return name.startswith(".") and re.search(re.escape(TEMP_MARK) + r"[0-9a-f]{8}", name) is not None


def remove_stale_temporaries(path: str | os.PathLike[str], suffix: str | None = None) -> list[Path]:
    """Delete the leftovers of ``path`` (files or folders); return what was removed."""
    removed = []
    for p in stale_temporaries(path, suffix):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _create_temp(final: Path) -> Path:
    """A new empty file ``.{name}.tmp-{hex}{suffix}`` beside ``final``, mode 0666 less the umask."""
    for _ in range(100):
        tmp = final.parent / f".{final.name}{TEMP_MARK}{secrets.token_hex(4)}{final.suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not create a temporary file beside {final}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    The temporary name keeps the final suffix, so libraries that pick a format
    from the extension (matplotlib, PyAV, pyarrow) still do the right thing.
    On any exception the temporary file is removed and ``path`` is untouched.
    Temporaries an earlier, killed writer of ``path`` left are removed first.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final)
    tmp = _create_temp(final)
    try:
        yield tmp
        if tmp.exists():
            # a library may have replaced the file we created (with its own mode): give it the umask's
            os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_temp_dir(path: str | os.PathLike[str]) -> Path:
    """A new empty folder beside ``path`` (``.{name}.tmp-{hex}``), mode 0777 less the umask, to build then rename.

    Folders an earlier, killed build of ``path`` left are removed first. The
    caller renames it into place (or removes it on failure).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final, suffix="")
    for _ in range(100):
        tmp = final.parent / f".{final.name}{TEMP_MARK}{secrets.token_hex(4)}"
        try:
            tmp.mkdir(mode=0o777)  # the umask applies, as for any folder
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not create a temporary folder beside {final}")


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write JSON atomically, sorted and indented so diffs and reruns are stable."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; a file that is not JSON is an error naming it and how to rebuild it."""
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        from videoxai.checks import BrokenFileError

        raise BrokenFileError(path, f"not valid JSON ({e})") from None


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """A YAML file, safely loaded; with libyaml's C loader when PyYAML has it (the schemas are read while every
    ``snakemake`` call plans: the pure-Python loader takes ~0.1 s for them, libyaml a tenth of that)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)  # a safe loader either way


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays, Paths: the usual things that reach a metrics dict
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
