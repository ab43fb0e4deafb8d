"""Content records: what an output held when it was written, and what it was made from.

A structural check (:mod:`videoxai.checks`) tells a file cut short from a whole one, but not a whole file of
the wrong content: another model's predictions copied over these, one digit of a ``metrics.json`` changed,
a byte flipped inside a video. So every output the workflow writes under ``results/`` or ``figures/`` gets a
*record* beside it, written with it (:func:`videoxai.io.atomic_path`): a hidden JSON file
``.{name}.checksum.json`` holding the file's size and sha256, the stat key it had when written, the rule that
wrote it, and the sha256 of every input file of that job (the *provenance*: this predictions file was made
from that ``resolved.json`` and that video manifest).

Readers compare a file with its record before they use it; planning does too, cheaply: a file whose stat key
(inode, size, mtime, ctime) is still the recorded one is not hashed again, and any change to it, even one
that puts the mtime back (``touch -r``), changes its ctime, so it is hashed and compared. Hashes of files
without records (checkpoints, videos, the demo dataset) are kept in a :class:`HashCache` under
``.snakemake/videoxai/`` by the same key.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

RECORD_SUFFIX = ".checksum.json"
RECORD_FORMAT = 1
CACHE_PATH = Path(".snakemake") / "videoxai" / "hashes.json"

Record = dict[str, Any]


def record_path(path: str | os.PathLike[str]) -> Path:
    """Where the record of ``path`` lives: ``.{name}.checksum.json`` beside it."""
    p = Path(path)
    return p.with_name(f".{p.name}{RECORD_SUFFIX}")


def is_record(path: str | os.PathLike[str]) -> bool:
    """True for a record's own name (records are not recorded)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(RECORD_SUFFIX)


def stat_key(st: os.stat_result) -> list[int]:
    """What changes whenever a file's content can have changed: inode, size, mtime and ctime (nanoseconds).

    The ctime cannot be set back by a user (``touch -r`` and ``os.utime`` set it to now), so a file edited and
    given its old mtime back still gets a new key.
    """
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes (hex), read in large blocks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# ------------------------------------------------------------------------------------------- the record


def make_record(
    path: str | os.PathLike[str], inputs: Mapping[str, str] | None = None, rule: str | None = None
) -> Record:
    """The record of ``path`` as it is now (call it once the file is in place: a rename changes its ctime)."""
    st = os.stat(path)
    digest = sha256_file(path)
    if stat_key(os.stat(path)) != stat_key(st):
        raise RuntimeError(f"{path} changed while its checksum was computed")
    return {
        "format": RECORD_FORMAT,
        "sha256": digest,
        "size": st.st_size,
        "key": stat_key(st),
        "inputs": dict(sorted((inputs or {}).items())),
        "rule": rule,
    }


def dump_record(record: Record) -> str:
    return json.dumps(record, indent=1, sort_keys=True) + "\n"


class DamagedRecord(Exception):
    """A record that is not a record (cut short, edited): its file's content cannot be vouched for."""


def read_record(path: str | os.PathLike[str]) -> Record | None:
    """The record of ``path`` (None when it has none); :class:`DamagedRecord` when the record is unreadable."""
    try:
        raw = record_path(path).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise DamagedRecord(f"its checksum record cannot be read ({e.strerror})") from None
    try:
        record = json.loads(raw)
        if not (
            isinstance(record, dict)
            and isinstance(record.get("sha256"), str)
            and isinstance(record.get("size"), int)
            and isinstance(record.get("inputs", {}), dict)
        ):
            raise ValueError("not a checksum record")
    except (ValueError, UnicodeDecodeError):
        raise DamagedRecord(f"its checksum record {record_path(path).name} is damaged") from None
    return record


def content_problem(path: str | os.PathLike[str], record: Record, sha256: str | None = None) -> str | None:
    """Why ``path`` is not what its record says it was when written, or None when it is.

    ``sha256``: the file's hash when the caller knows it (a cache); else the file is read.
    """
    size = os.stat(path).st_size
    if size != record["size"]:
        return f"it is {size} bytes, {record['size']} were written (changed or replaced since)"
    digest = sha256 if sha256 is not None else sha256_file(path)
    if digest != record["sha256"]:
        return (
            f"its content is not what was written (sha256 {digest[:12]}..., {record['sha256'][:12]}... when written; "
            "changed or replaced since)"
        )
    return None


def provenance_problems(record: Record, current: Callable[[str], str | None]) -> list[str]:
    """The inputs ``record`` names whose content is no longer what the file was made from.

    ``current(path)`` gives an input's sha256 now, or None when it is gone (a missing input is reported, and
    rebuilt, as missing).
    """
    lines = []
    for name, digest in record.get("inputs", {}).items():
        now = current(name)
        if now is not None and now != digest:
            lines.append(
                f"was made from another {name} than the one there now (sha256 {digest[:12]}... then, {now[:12]}... now)"
            )
    return lines


# --------------------------------------------------------------------------------------- the job's inputs


def job() -> Any:
    """The ``snakemake`` object of the Snakemake script job this process runs, or None.

    Snakemake's preamble defines it in the script's ``__main__``; the records of a job's outputs name the job's
    rule and inputs from it, so no stage has to pass them along.
    """
    smk = getattr(sys.modules.get("__main__"), "snakemake", None)
    return None if isinstance(smk, types.ModuleType) else smk


_SHARED: HashCache | None = None


def _shared_cache() -> HashCache:
    """The hash cache planning keeps (:data:`CACHE_PATH`), loaded once per process when a job first needs it."""
    global _SHARED
    if _SHARED is None:
        _SHARED = HashCache()
    return _SHARED


def file_sha256(path: str | os.PathLike[str]) -> str | None:
    """sha256 of a file, from its record when the record's stat key is still the file's, else from the hash cache
    planning keeps (by the same key), else read; None when it is not a file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not os.path.isfile(path):
        return None
    try:
        record = read_record(path)
    except DamagedRecord:
        record = None
    if record is not None and record.get("key") == stat_key(st):
        return record["sha256"]
    return _shared_cache().sha256(path, st)


def job_inputs() -> dict[str, str]:
    """``{input file: sha256}`` of the Snakemake job this process runs (folders are left out); empty outside a job.

    A large input without a record (a checkpoint, a backbone's weights) is read once: its hash joins the cache
    planning keeps."""
    smk = job()
    found: dict[str, str] = {}
    for name in getattr(smk, "input", None) or []:
        name = str(name)
        digest = file_sha256(name)
        if digest is not None:
            found[name] = digest
    if _SHARED is not None:
        _SHARED.save()
    return found


def job_rule() -> str | None:
    return getattr(job(), "rule", None)


# ------------------------------------------------------------------------------------------- hash cache


class HashCache:
    """sha256 of files by path and stat key, kept in a JSON file between ``snakemake`` calls.

    A file whose key is unchanged since it was hashed is not read again; a changed key (new content, a
    copy, even the mtime put back) means a new hash. Saving never fails the caller: a cache that cannot be
    written (a read-only folder) only costs hashing again next time.
    """

    def __init__(self, path: str | os.PathLike[str] | None = CACHE_PATH):
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, list[Any]] = {}
        self.hashed = 0  # files read this time (for benchmarks and tests)
        self._dirty = False
        if self.path is not None:
            try:
                loaded = json.loads(self.path.read_bytes())
                if isinstance(loaded, dict) and loaded.get("format") == RECORD_FORMAT:
                    self.entries = dict(loaded.get("files") or {})
            except (OSError, ValueError):
                pass

    def sha256(self, path: str | os.PathLike[str], st: os.stat_result | None = None) -> str | None:
        """The file's sha256 (None when it is not a file), read only when its stat key changed."""
        try:
            st = st or os.stat(path)
        except OSError:
            return None
        name = str(path)
        key = stat_key(st)
        entry = self.entries.get(name)
        if entry is not None and entry[:4] == key:
            return entry[4]
        if not os.path.isfile(path):
            return None
        try:
            digest = sha256_file(path)
        except OSError:
            return None
        self.hashed += 1
        self.entries[name] = [*key, digest]
        self._dirty = True
        return digest

    def save(self) -> None:
        if not self._dirty or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
            tmp.write_text(json.dumps({"format": RECORD_FORMAT, "files": self.entries}, separators=(",", ":")))
            os.replace(tmp, self.path)
            self._dirty = False
        except OSError:
            pass
