"""How to get a good copy of a file: rebuild it (a workflow output) or replace it (anything else).

Rerun knowledge in one place, for every message that names a broken file: which files the workflow writes
(:data:`PRODUCT_FOLDERS`), what Snakemake must be told to force for one of them (the file, or the
``directory()`` output it lies in), and the one command that rebuilds a set of them and what was made from
them. :class:`BrokenFileError` carries that command in its message, so a reader that finds a file damaged
(:mod:`videoxai.checks`, :mod:`videoxai.io`) says what to do in the same line.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from pathlib import Path

# Folders the workflow writes: a broken file there is rebuilt by rerunning the job that makes it.
PRODUCT_FOLDERS = ("results", "figures", "logs")
# The folders whose files carry content records (videoxai.checksums): what the stages write (logs are not read).
RECORDED_FOLDERS = ("results", "figures")


class BrokenFileError(ValueError):
    """A file exists but is not whole, or not what was written; the message names it and how to get a good one."""

    def __init__(self, path: str | os.PathLike[str], problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}. {rebuild_hint(self.path)}")


def _relative(path: str | os.PathLike[str]) -> Path | None:
    """``path`` relative to the working directory, or None when it lies outside it."""
    p = Path(path)
    if p.is_absolute():
        try:
            return p.relative_to(Path.cwd())
        except ValueError:
            return None
    return p


def is_product(path: str | os.PathLike[str], folders: Iterable[str] = PRODUCT_FOLDERS) -> bool:
    """True for a file under a folder the workflow writes (results/, figures/, logs/ of the working directory)."""
    p = _relative(path)
    return p is not None and bool(p.parts) and p.parts[0] in tuple(folders)


def rebuild_target(path: str | os.PathLike[str]) -> str:
    """What to force for ``path``: the file, or the ``directory()`` output it lies in.

    Snakemake dates and rebuilds a folder output (marked by its ``.snakemake_timestamp``) as a whole.
    """
    p = Path(path)
    for parent in p.parents:
        if (parent / ".snakemake_timestamp").is_file():
            return str(parent)
        if parent.name in PRODUCT_FOLDERS or parent == parent.parent:
            break
    return str(p)


def rebuild_all_command(paths: Iterable[str | os.PathLike[str]]) -> str:
    """One command that rebuilds every one of ``paths`` and everything made from them.

    ``--forcerun FILE`` makes the job that writes FILE run (deleting FILE first) and, FILE being newer, the
    jobs downstream of it. Deleting the file instead is not enough: Snakemake does not rebuild a missing
    intermediate whose products are up to date.
    """
    targets = dict.fromkeys(shlex.quote(rebuild_target(p)) for p in paths)
    return f"snakemake --cores all --forcerun {' '.join(targets)}"


def rebuild_command(path: str | os.PathLike[str]) -> str:
    """The one command that rebuilds a workflow output and everything made from it."""
    return rebuild_all_command([path])


def rebuild_hint(path: str | os.PathLike[str]) -> str:
    """What to do about a broken ``path``, as one sentence."""
    if is_product(path):
        return f"It is a workflow output: rebuild it (and what was made from it) with: {rebuild_command(path)}"
    return "It is not a file this workflow writes: replace it with a good copy"
