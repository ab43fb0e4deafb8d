"""``snakemake verify``: is every output of the config there, whole, what was written, and made from what is
there now? One report, and the one command that fixes what it lists.

For each output: missing; its content record (:mod:`videoxai.checksums`) absent, damaged, or not matching the
file (size, sha256, every byte read); its provenance: each input its record names must still have the sha256
the file was made from (this predictions file from that ``resolved.json`` and that video manifest, this bins
file from that predictions file); then its structure deeply: Parquet pages read with their checksums
verified, videos and images decoded, and a stage's own contract where it has one (predictions: columns and
class names; heatmaps: tensors and clip count; a video manifest: every clip it lists read again).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from videoxai import checksums
from videoxai.checks import check_file, check_recorded, reading
from videoxai.data.manifest import changed_clips
from videoxai.explain.store import check_heatmaps
from videoxai.extract.predictions import read_all
from videoxai.rebuild import BrokenFileError, rebuild_all_command


class OutputsBrokenError(RuntimeError):
    """``verify`` found outputs that are missing or broken (listed before it is raised)."""


def deep_check(path: str | os.PathLike[str]) -> None:
    """Read ``path`` whole by its kind and, for a stage's own file, check its contract (each file read once more
    after its hash: :func:`~videoxai.checks.check_recorded` remembers a verified file)."""
    p = Path(path)
    with reading(p):
        if p.suffix == ".parquet" and "predictions" in p.parts:
            read_all(p)  # the contract, then every page with its CRC
        elif p.name == "heatmaps.safetensors":
            check_heatmaps(p)
        else:
            check_file(p, deep=True)
        if p.name.endswith(".manifest.json") and "datasets" in p.parts:
            changed = changed_clips(p)
            if changed:
                raise BrokenFileError(
                    p, f"lists {len(changed)} clip(s) that changed since it was written (e.g. {changed[0]})"
                )


def content_problem(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with one output itself (None when nothing is): missing, no or a damaged record, content
    not as recorded, or failing its deep check."""
    if not Path(path).is_file():
        return "missing"
    try:
        made = checksums.read_record(path)
    except checksums.DamagedRecord as e:
        return str(e)
    if made is None:
        return "has no checksum record (written by an earlier version, or its record was deleted)"
    try:
        check_recorded(path)  # every byte hashed
        deep_check(path)
    except BrokenFileError as e:
        return e.problem
    except OSError as e:
        return f"cannot be read ({e})"
    return None


def find_problems(files: Iterable[str | os.PathLike[str]]) -> list[tuple[str, str]]:
    """``(path, problem)`` of every output of ``files`` that is missing or damaged, or stale: made from an input
    whose content is no longer what it was (an input that is itself damaged is listed instead: rebuilding it
    rebuilds what was made from it)."""
    files = [str(f) for f in files]
    found = {path: problem for path in files if (problem := content_problem(path)) is not None}
    hashes: dict[str, str | None] = {}

    def current(name: str) -> str | None:
        if name not in hashes:
            hashes[name] = checksums.sha256_file(name) if os.path.isfile(name) else None
        return hashes[name]

    for path in files:
        if path in found:
            continue
        made = checksums.read_record(path) or {}
        if any(name in found for name in made.get("inputs", {})):
            continue
        stale = checksums.provenance_problems(made, current)
        if stale:
            found[path] = stale[0]
    return [(path, found[path]) for path in files if path in found]


def verify_outputs(files: Iterable[str | os.PathLike[str]], out: TextIO | None = None) -> None:
    """Check every file (every byte hashed, videos and images decoded), list what is missing, damaged or stale,
    and raise :class:`OutputsBrokenError` if anything is: its message ends with the one command that rebuilds
    them all, so ``snakemake verify`` is a full answer."""
    out = out or sys.stderr
    files = [str(f) for f in files]
    found = find_problems(files)
    width = max((len(p) for p, _ in found), default=0)
    print(f"verify: {len(files)} outputs of the current config checked, {len(found)} missing or broken", file=out)
    for path, problem in found:
        print(f"  {path:<{width}}  {problem}", file=out)
    if found:
        fix = rebuild_all_command(p for p, _ in found)
        raise OutputsBrokenError(f"{len(found)} output(s) missing or broken (listed above); rebuild them with: {fix}")
