"""Checkpoints from wandb artifacts (``wandb:entity/project/name:alias``), kept in the local registry.

A model key whose checkpoint is a wandb artifact lives, once fetched, in the
registry folder ``{checkpoints_root}/{method}/{train}/{run}/`` like any other,
with a small marker (``wandb_artifact.json``) recording which artifact it
came from (name, version, digest, files). Fetching is registry first:

* the folder holds weights and a marker for the same artifact → used as is,
  no network (a moved alias such as ``latest`` is picked up by deleting the
  folder, or by pinning ``:v3``);
* the folder holds weights but no marker → files the user put there by hand
  (as the offline error asks): accepted, and a marker records that;
* otherwise, when online, ``wandb.Api().artifact(...).download(root=...)``
  into a temporary folder beside the target, then renamed into place, so a
  killed download never looks complete;
* offline (``WANDB_MODE=offline``/``disabled``) or a failed download → an
  error naming the artifact, the folder to put its files in, and the cause.

wandb is imported only to download.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from videoxai.io import read_json, write_json
from videoxai.models.checkpoints.files import CONFIG_NAME, WEIGHT_SUFFIXES, find_weights

PREFIX = "wandb:"
MARKER_NAME = "wandb_artifact.json"
OFFLINE_MODES = ("offline", "disabled", "dryrun")

_PART = r"[A-Za-z0-9_.-]+"
_SPEC = re.compile(rf"^(?:({_PART})/)?({_PART})/({_PART}):({_PART})$")


class ArtifactUnavailableError(FileNotFoundError):
    """A wandb artifact checkpoint is neither in the registry nor downloadable now."""


@dataclass(frozen=True)
class ArtifactSpec:
    """``[entity/]project/name:alias`` as wandb's public API takes it."""

    entity: str | None
    project: str
    name: str
    alias: str

    @classmethod
    def parse(cls, text: str) -> ArtifactSpec:
        """From ``wandb:entity/project/name:alias`` (the ``wandb:`` prefix optional)."""
        body = text.removeprefix(PREFIX)
        m = _SPEC.match(body)
        if not m:
            raise ValueError(
                f"a wandb artifact checkpoint must look like 'wandb:entity/project/name:alias' "
                f"(alias: a version such as v3, or latest/best), got {text!r}"
            )
        return cls(*m.groups())

    def __str__(self) -> str:
        head = f"{self.entity}/" if self.entity else ""
        return f"{head}{self.project}/{self.name}:{self.alias}"

    @property
    def uri(self) -> str:
        return PREFIX + str(self)


def is_artifact(source: str | os.PathLike[str] | None) -> bool:
    """True when a configured checkpoint source names a wandb artifact rather than a path."""
    return isinstance(source, str) and source.startswith(PREFIX)


def read_marker(folder: str | os.PathLike[str]) -> dict | None:
    """The marker of a registry folder, or None when there is none."""
    path = Path(folder) / MARKER_NAME
    return read_json(path) if path.is_file() else None


def _weights(folder: Path) -> Path | None:
    return find_weights(folder) if folder.is_dir() else None


def cached_artifact(spec: ArtifactSpec, folder: str | os.PathLike[str]) -> dict | None:
    """The marker when ``folder`` already holds ``spec``'s files (no network); None when it holds nothing.

    Raises :class:`ArtifactUnavailableError` when the folder holds another
    artifact's download, so a changed config never silently reuses old weights.
    """
    folder = Path(folder)
    if _weights(folder) is None:
        return None
    marker = read_marker(folder)
    if marker is None:
        return None  # files placed by hand: accepted by ensure_artifact, which records them
    if marker.get("artifact") != str(spec):
        raise ArtifactUnavailableError(
            f"{folder} holds wandb artifact {marker.get('artifact')!r} "
            f"(version {marker.get('version')}), but the config asks for {spec.uri!r}; "
            f"delete {folder} to fetch the new one"
        )
    return marker


def _is_offline(offline: bool | None) -> bool:
    if offline is not None:
        return offline
    return os.environ.get("WANDB_MODE", "").lower() in OFFLINE_MODES


def unavailable_message(spec: ArtifactSpec, folder: Path, why: str) -> str:
    """What to do when the artifact cannot be fetched: where its files go, by hand."""
    return (
        f"wandb artifact {spec.uri} is not in the checkpoint registry and cannot be downloaded ({why}).\n"
        f"Put its files (a weights file {'/'.join('*' + s for s in WEIGHT_SUFFIXES)} and {CONFIG_NAME}) in\n"
        f"  {folder}\n"
        f"e.g. on a machine with internet: `wandb artifact get {spec} --root <folder>`, then copy the folder here; "
        f"or run online with a wandb login (WANDB_API_KEY)."
    )


def install_files(downloaded: Path, folder: Path, marker: dict) -> dict:
    """Move a complete download into the registry ``folder`` with its marker, atomically (one rename).

    ``downloaded`` must be on the same filesystem (a sibling temporary folder).
    A previous download in ``folder`` (it has a marker) is replaced; files
    placed by hand (no marker) are never overwritten.
    """
    if _weights(downloaded) is None:
        names = sorted(p.name for p in downloaded.iterdir())
        raise ArtifactUnavailableError(
            f"wandb artifact {marker['artifact']} holds no weights file "
            f"({', '.join(WEIGHT_SUFFIXES)}) at its top level; its files: {names}"
        )
    marker = {**marker, "files": sorted(p.name for p in downloaded.iterdir())}
    write_json(downloaded / MARKER_NAME, marker)
    old = None
    if folder.exists():
        if any(folder.iterdir()) and read_marker(folder) is None:
            raise ArtifactUnavailableError(
                f"{folder} already holds files that were not downloaded from wandb; "
                f"move them away to fetch {marker['artifact']}"
            )
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        folder.rename(old)
    downloaded.rename(folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return marker


def download_artifact(spec: ArtifactSpec, folder: str | os.PathLike[str], timeout: int = 60) -> dict:
    """Download ``spec`` with wandb's public API into ``folder``; return the marker written there.

    Needs network and a wandb login (``WANDB_API_KEY`` or ``wandb login``).
    """
    import wandb

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.download-", dir=folder.parent))
    try:
        artifact = wandb.Api(timeout=timeout).artifact(str(spec))
        artifact.download(root=str(tmp))
        marker = {
            "artifact": str(spec),
            "obtained": "download",
            "qualified_name": artifact.qualified_name,
            "version": artifact.version,
            "digest": artifact.digest,
            "type": artifact.type,
        }
        return install_files(tmp, folder, marker)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def ensure_artifact(
    spec: ArtifactSpec | str,
    folder: str | os.PathLike[str],
    offline: bool | None = None,
    timeout: int = 60,
) -> dict:
    """Make ``folder`` hold ``spec``'s files (registry first, then a download); return its marker.

    ``offline`` None follows ``WANDB_MODE``; ``timeout`` (seconds) bounds each
    wandb API request. Errors name the artifact and the folder to put its
    files in.
    """
    spec = ArtifactSpec.parse(spec) if isinstance(spec, str) else spec
    folder = Path(folder)
    marker = cached_artifact(spec, folder)
    if marker is not None:
        return marker
    if _weights(folder) is not None:  # placed by hand, as the offline message asks
        marker = {
            "artifact": str(spec),
            "obtained": "placed by hand",
            "version": None,
            "digest": None,
            "files": sorted(p.name for p in folder.iterdir() if p.name != MARKER_NAME),
        }
        write_json(folder / MARKER_NAME, marker)
        return marker
    if _is_offline(offline):
        mode = os.environ.get("WANDB_MODE")
        why = f"offline: WANDB_MODE={mode}" if offline is None else "offline"
        raise ArtifactUnavailableError(unavailable_message(spec, folder, why))
    try:
        return download_artifact(spec, folder, timeout)
    except ArtifactUnavailableError:
        raise
    except Exception as e:  # wandb's errors: no login, no network, no such artifact
        raise ArtifactUnavailableError(unavailable_message(spec, folder, f"{type(e).__name__}: {e}")) from e
