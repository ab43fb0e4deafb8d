"""Which ``snakemake`` runs are active in this folder: so the lock message can say whether ``--unlock`` is safe.

Snakemake locks a folder while a run writes in it, and a run killed with ``kill -9`` leaves the lock behind;
its error then suggests ``--unlock``, which is right after a kill and harmful while the other run still
works (both then write the same outputs, and the second fails with "Missing files"). Snakemake cannot tell the
two apart, so each run of this workflow registers itself while it holds the lock
(``.snakemake/videoxai/runs/{host}-{pid}.json``, from the workflow's ``onstart`` to its end), and a
registered run counts as active while a process of that id and start time lives on that host.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

RUNS = Path(".snakemake") / "videoxai" / "runs"
LOCKS = Path(".snakemake") / "locks"


def _start_ticks(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux), to tell it from a later process given its id."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _entry(pid: int) -> Path:
    return RUNS / f"{socket.gethostname()}-{pid}.json"


def register(argv: list[str] | None = None) -> None:
    """Record this process as an active run of this folder (call while it holds Snakemake's lock)."""
    pid = os.getpid()
    info = {
        "host": socket.gethostname(),
        "pid": pid,
        "start": _start_ticks(pid),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(argv if argv is not None else sys.argv),
    }
    try:
        RUNS.mkdir(parents=True, exist_ok=True)
        tmp = _entry(pid).with_suffix(".partial")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, _entry(pid))
    except OSError:
        pass


def unregister() -> None:
    try:
        _entry(os.getpid()).unlink(missing_ok=True)
    except OSError:
        pass


def active_runs() -> list[dict[str, Any]]:
    """The registered runs still alive (on another host: taken as alive, since it cannot be checked from here)."""
    found = []
    for path in sorted(RUNS.glob("*.json")) if RUNS.is_dir() else []:
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if info.get("pid") == os.getpid() and info.get("host") == socket.gethostname():
            continue
        if info.get("host") != socket.gethostname() or (
            info.get("start") is not None and _start_ticks(int(info["pid"])) == info["start"]
        ):
            found.append(info)
        else:
            path.unlink(missing_ok=True)  # its process is gone: a run killed before it could unregister
    return found


def is_locked() -> bool:
    """True when Snakemake holds (or a killed run left) a lock on this folder."""
    return LOCKS.is_dir() and any(LOCKS.iterdir())


def describe(run: dict[str, Any]) -> str:
    return f"pid {run.get('pid')} on {run.get('host')}, since {run.get('since')}: {run.get('command')}"


def lock_message() -> str | None:
    """What to do about this folder's lock, in one line (None when it is not locked)."""
    if not is_locked():
        return None
    active = active_runs()
    if active:
        return (
            f"videoxai: another snakemake run is active in this folder ({describe(active[0])}): let it finish, "
            "or stop it; do not --unlock while it runs (both runs would write the same outputs)"
        )
    return (
        "videoxai: this folder is locked, but no snakemake run is active in it (one was killed?): "
        "snakemake --unlock, then the same command again (with --rerun-incomplete)"
    )
