"""Which outputs must be rebuilt: not what was written, or made from an input that has changed since.

Rerun knowledge over whole folders, cheap enough for every ``snakemake`` call: the workflow runs
:func:`damaged_outputs` while it plans and hands what it finds to Snakemake as forced reruns
(``workflow/rules/checks.smk``); ``snakemake verify`` (:mod:`videoxai.verify`) asks the same of every output,
reading each whole. Whether one file is whole is :mod:`videoxai.checks`'; its content record and provenance
are :mod:`videoxai.checksums`'.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from videoxai import checksums
from videoxai.checks import CHECKED_SUFFIXES, check_file
from videoxai.io import is_temporary
from videoxai.rebuild import BrokenFileError


def output_files(folders: Iterable[str | os.PathLike[str]]) -> Iterator[str]:
    """Every file under ``folders`` a stage wrote: hidden names (records, temporaries, Snakemake's folder
    timestamps) and hidden folders left out."""
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith(".") and not is_temporary(name):
                    yield os.path.join(root, name)


def damaged_outputs(
    folders: Iterable[str | os.PathLike[str]], cache: checksums.HashCache | None = None
) -> list[tuple[str, str]]:
    """``(path, problem)`` of every output under ``folders`` that is not what was written, or was made from
    another version of an input than the one there now, or (without a record) fails its structural check.

    Cheap enough to run on every ``snakemake`` call: a file whose stat key is still its record's is not read;
    a changed one is hashed (``cache`` keeps the hashes of changed files and of inputs outside ``folders``).
    A file made from a damaged file is not listed: rebuilding the damaged one rebuilds it.
    """
    cache = cache if cache is not None else checksums.HashCache(None)
    found: dict[str, str] = {}
    current: dict[str, str] = {}  # path -> sha256 now, for the provenance of the files made from it
    made_from: dict[str, checksums.Record] = {}
    for path in output_files(folders):
        try:
            st = os.stat(path)
            record = checksums.read_record(path)
        except checksums.DamagedRecord as e:
            found[path] = str(e)
            continue
        except OSError:
            continue  # vanished or unreadable: Snakemake reports it in its own words
        if record is None:
            if path.lower().endswith(CHECKED_SUFFIXES):
                try:
                    check_file(path)
                except BrokenFileError as e:
                    found[path] = e.problem
                except OSError:
                    continue
            continue
        digest = record["sha256"] if checksums.stat_key(st) == record.get("key") else cache.sha256(path, st)
        if digest is None:
            continue
        current[path] = digest
        problem = checksums.content_problem(path, record, digest)
        if problem is not None:
            found[path] = problem
        else:
            made_from[path] = record

    def now(name: str) -> str | None:
        return current[name] if name in current else cache.sha256(name)

    for path, record in made_from.items():
        if any(name in found for name in record.get("inputs", {})):
            continue
        lines = checksums.provenance_problems(record, now)
        if lines:
            found[path] = lines[0]
    return sorted(found.items())
