"""Atomic file writing: a killed job never leaves a file that looks complete, and what is written is recorded.

Every output is written to a hidden temporary name beside it and renamed into place on success. The temporary
name is one no user would choose, ``.{name}.videoxai-tmp-{16 hex}{suffix}``
(``.metrics.json.videoxai-tmp-1a2b3c4d5e6f7081.json``), so the next write of the same output removes what a
killed writer left behind (:func:`stale_temporaries`) and never a file of the user's. An output under
``results/`` or ``figures/`` gets its content record beside it once it is in place (:mod:`videoxai.checksums`:
size, sha256, and the sha256 of the job's inputs), and :func:`read_json` checks a file against its record.
Files and folders get the user's umask, like any file a program creates (``mkstemp``/``mkdtemp`` would make
them 0600/0700).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from videoxai import checksums
from videoxai.rebuild import RECORDED_FOLDERS, BrokenFileError, is_product

TEMP_MARK = ".videoxai-tmp-"
_TEMP_HEX = 16  # hex digits of randomness in a temporary's name


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
    return re.compile(re.escape(f".{final.name}{TEMP_MARK}") + f"[0-9a-f]{{{_TEMP_HEX}}}" + re.escape(suffix))


def stale_temporaries(path: str | os.PathLike[str], suffix: str | None = None) -> list[Path]:
    """Temporaries of ``path`` left beside it by an earlier writer that never finished (killed, or out of disk)."""
    final = Path(path)
    pattern = _temp_pattern(final, final.suffix if suffix is None else suffix)
    try:
        return sorted(p for p in final.parent.iterdir() if pattern.fullmatch(p.name))
    except FileNotFoundError:
        return []


def is_temporary(path: str | os.PathLike[str]) -> bool:
    """True for a name :func:`atomic_path` or :func:`make_temp_dir` gives a temporary
    (``.x.json.videoxai-tmp-1a2b3c4d5e6f7081.json``)."""
    name = Path(path).name
    return name.startswith(".") and re.search(re.escape(TEMP_MARK) + f"[0-9a-f]{{{_TEMP_HEX}}}", name) is not None


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
    """A new empty file ``.{name}.videoxai-tmp-{hex}{suffix}`` beside ``final``, mode 0666 less the umask."""
    for _ in range(100):
        tmp = final.parent / f".{final.name}{TEMP_MARK}{secrets.token_hex(_TEMP_HEX // 2)}{final.suffix}"
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
    An output under ``results/`` or ``figures/`` then gets its content record (:func:`record`).
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
    if is_recorded(final):
        record(final)


def is_recorded(path: str | os.PathLike[str]) -> bool:
    """True for a file that gets a content record when written: an output under results/ or figures/."""
    return is_product(path, RECORDED_FOLDERS) and not checksums.is_record(path)


def record(path: str | os.PathLike[str]) -> None:
    """Write the content record of ``path`` (in place already): its sha256 and size, and the rule and input
    hashes of the Snakemake job writing it (:func:`videoxai.checksums.job_inputs`). Until it is replaced, an
    earlier record stays, so a writer killed between the two renames leaves a file that does not match it
    (rebuilt), never one that looks vouched for."""
    made = checksums.make_record(path, inputs=checksums.job_inputs(), rule=checksums.job_rule())
    write_text(checksums.record_path(path), checksums.dump_record(made))


def make_temp_dir(path: str | os.PathLike[str]) -> Path:
    """A new empty folder beside ``path`` (``.{name}.videoxai-tmp-{hex}``), mode 0777 less the umask, to build and rename.

    Folders an earlier, killed build of ``path`` left are removed first. The
    caller renames it into place (or removes it on failure).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final, suffix="")
    for _ in range(100):
        tmp = final.parent / f".{final.name}{TEMP_MARK}{secrets.token_hex(_TEMP_HEX // 2)}"
        try:
            tmp.mkdir(mode=0o777)  # the umask applies, as for any folder
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not create a temporary folder beside {final}")


def write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_csv(
    path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None
) -> None:
    """Write rows as CSV atomically (the first row's keys unless ``columns``): ``None`` is an empty cell, a float
    its shortest exact form, so every reader (pandas, a spreadsheet, ``csv``) gets back what was computed."""
    import csv
    import io

    columns = list(columns if columns is not None else (rows[0] if rows else []))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: "" if row.get(c) is None else row[c] for c in columns})
    write_text(path, buf.getvalue())


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write JSON atomically, sorted and indented so diffs and reruns are stable."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False, default=_json_default) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Parse a JSON file; one that is not JSON, or not what was written (its content record), is an error naming
    it and how to rebuild it."""
    data = Path(path).read_bytes()
    try:
        made = checksums.read_record(path)
    except checksums.DamagedRecord as e:
        raise BrokenFileError(path, str(e)) from None
    if made is not None:
        problem = checksums.content_problem(path, made, hashlib.sha256(data).hexdigest())
        if problem is not None:
            raise BrokenFileError(path, problem)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
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


def save_figure(fig: Any, out_png: str | os.PathLike[str], out_pdf: str | os.PathLike[str], dpi: int = 200) -> None:
    """Write a Matplotlib figure as PNG and PDF, each atomically; the PDF without a creation date, so a rerun
    writes the same bytes (the figure is drawn by the caller: this module imports no Matplotlib)."""
    for path, fmt in ((out_png, "png"), (out_pdf, "pdf")):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata={"CreationDate": None} if fmt == "pdf" else None)
