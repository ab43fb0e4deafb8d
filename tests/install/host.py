"""What a machine without system FFmpeg looks like, made out of one that has it.

Two ways, for two privileges:

- unprivileged: a folder of empty files named like the system's FFmpeg
  libraries, first on ``LD_LIBRARY_PATH`` (the dynamic loader stops at the
  first file of a name and fails on it, so torchcodec finds no FFmpeg);
- root, in a private mount namespace (:func:`namespace_script`): the library
  files themselves are covered, ld.so's cache rebuilt without them, and the
  rest runs as an ordinary user.

Either way ``PATH`` is a folder of links to the system's commands less the
absent ones (:func:`command_dir`): a covered file would still be found by
the shell's ``command -v`` (it reports non-executable files too).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

# FFmpeg's libraries as torchcodec links them (libtorchcodec_core*.so) and Debian ships them.
FFMPEG_LIB = re.compile(r"^(lib(?:avutil|avcodec|avformat|avdevice|avfilter|swscale|swresample|postproc)\.so\.\d+)\b")
# Commands an ordinary user on a cluster login node often lacks.
ABSENT_COMMANDS = ("ffmpeg", "ffprobe", "chromium", "chromium-browser", "sudo")


def ldconfig() -> str | None:
    """ld.so's cache tool (in /sbin, often not on an ordinary user's PATH)."""
    return shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.access(p, os.X_OK)), None
    )


def system_ffmpeg_libraries() -> dict[str, Path]:
    """Soname -> file of every FFmpeg library in ld.so's cache (empty where FFmpeg is not installed)."""
    tool = ldconfig()
    if tool is None:
        return {}
    listing = subprocess.run([tool, "-p"], check=False, capture_output=True, text=True).stdout
    found: dict[str, Path] = {}
    for line in listing.splitlines():
        m = FFMPEG_LIB.match(line.strip())
        if m and "=>" in line:
            found.setdefault(m.group(1), Path(line.split("=>", 1)[1].strip()))
    return found


def unloadable_ffmpeg_dir(dest: Path) -> Path:
    """A folder of empty files named like the system's FFmpeg libraries: first on LD_LIBRARY_PATH, none loads."""
    dest.mkdir(parents=True, exist_ok=True)
    for soname in system_ffmpeg_libraries():
        (dest / soname).write_bytes(b"")
    return dest


def command_dir(dest: Path, absent: tuple[str, ...] = ABSENT_COMMANDS) -> Path:
    """A folder of links to every command in /usr/local/bin, /usr/bin and /bin except ``absent``: a PATH without them."""
    dest.mkdir(parents=True, exist_ok=True)
    for d in ("/usr/local/bin", "/usr/bin", "/bin"):
        if not Path(d).is_dir():
            continue
        for entry in Path(d).iterdir():
            link = dest / entry.name
            if entry.name in absent or link.exists() or link.is_symlink():
                continue
            if entry.is_file() and os.access(entry, os.X_OK):
                link.symlink_to(entry)
    return dest


def blocked_ancestor(path: Path) -> Path | None:
    """The outermost directory on the way to ``path`` that others may not enter (no o+x), if any."""
    for d in [*reversed(Path(path).parents), Path(path)]:
        if d.is_dir() and not d.stat().st_mode & stat.S_IXOTH:
            return d
    return None


def namespace_script(*, scratch: Path, user: str, expose: list[Path], command: str) -> str:
    """Bash for ``unshare --mount --propagation private``: hide FFmpeg's libraries, then run ``command`` as ``user``.

    ``expose``: directories the user must reach (the site's Python, a shared environment) behind a parent it
    may not enter (``/root`` holds pyenv's Pythons): the parent is covered by an empty tmpfs holding only
    these. Nothing leaves the namespace; the machine is unchanged afterwards.
    """
    q = shlex.quote
    lines = ["set -euo pipefail"]
    # 1. The FFmpeg libraries become unreadable, and ld.so's cache forgets them (as if never installed).
    for lib in sorted({p.resolve() for p in system_ffmpeg_libraries().values()}):
        lines.append(f"mount --bind /dev/null {q(str(lib))}")
    tool = ldconfig()
    if tool is not None:
        cache = scratch / "ld.so.cache"
        lines += [f"{q(tool)} -X -C {q(str(cache))} 2>/dev/null", f"mount --bind {q(str(cache))} /etc/ld.so.cache"]
    # 2. What the user must reach behind a closed parent.
    by_parent: dict[Path, list[Path]] = {}
    for path in expose:
        parent = blocked_ancestor(path)
        if parent is not None:
            by_parent.setdefault(parent, []).append(path)
    for i, (parent, paths) in enumerate(sorted(by_parent.items())):
        stage = scratch / f"stage{i}"
        lines += [
            f"mkdir -p {q(str(stage))}",
            f"mount --bind {q(str(parent))} {q(str(stage))}",
            f"mount -t tmpfs -o mode=0755 tmpfs {q(str(parent))}",
        ]
        for path in paths:
            rel = path.relative_to(parent)
            lines += [f"mkdir -p {q(str(path))}", f"mount --bind {q(str(stage / rel))} {q(str(path))}"]
    lines.append(f"exec runuser -u {q(user)} -- {command}")
    return "\n".join(lines) + "\n"
