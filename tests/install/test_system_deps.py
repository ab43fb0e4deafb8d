""".ci/system-deps.sh decides, without ever prompting, whether to install the optional Debian packages.

The script's decisions are tested on a PATH of stand-ins for the commands it
asks (``id``, ``sudo``, ``apt-get``, ``ldconfig``): each records how it was
called, so the tests see what the script would have installed and how, on
any machine, as any user. The real thing, an ordinary user without sudo, is
run by test_nonroot_demo.py.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

SCRIPT = REPO / ".ci" / "system-deps.sh"
BASH = shutil.which("bash") or "/bin/bash"


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f'#!{BASH}\necho "{name} $*" >>"$CALLS"\n{body}\n')
    path.chmod(0o755)


def machine(
    tmp_path: Path,
    *,
    uid: int,
    sudo: str | None = None,
    apt: bool = True,
    apt_fails: bool = False,
    ffmpeg_libs: bool = False,
    chromium: bool = False,
) -> dict[str, str]:
    """An environment whose PATH holds only stand-ins; ``sudo``: None (absent), "nopasswd" or "password"."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(shutil.which("grep"), bin_dir / "grep")
    _stub(bin_dir, "id", f'[ "$1" = -u ] && echo {uid}')
    if sudo == "nopasswd":
        _stub(bin_dir, "sudo", '[ "$1" = -n ] && shift; "$@"')
    elif sudo == "password":
        _stub(bin_dir, "sudo", 'echo "sudo: a password is required" >&2; exit 1')
    if apt:
        _stub(bin_dir, "apt-get", "exit 100" if apt_fails else "exit 0")
    listing = ["\tlibc.so.6 (libc6,x86-64) => /lib/libc.so.6"]
    if ffmpeg_libs:
        listing += [
            f"\t{lib}.so.59 (libc6,x86-64) => /lib/{lib}.so.59"
            for lib in ("libavutil", "libavcodec", "libavformat", "libavfilter", "libavdevice", "libswscale")
        ]
    _stub(bin_dir, "ldconfig", f"echo {shlex.quote(chr(10).join(listing))}")
    if chromium:
        _stub(bin_dir, "chromium", "exit 0")
    return {"PATH": str(bin_dir), "CALLS": str(tmp_path / "calls"), "HOME": str(tmp_path)}


def run(env: dict[str, str], *packages: str, **extra: str) -> tuple[int, str, list[str]]:
    proc = subprocess.run(
        [BASH, str(SCRIPT), *packages], env={**env, **extra}, capture_output=True, text=True, timeout=60
    )
    calls = Path(env["CALLS"]).read_text().splitlines() if Path(env["CALLS"]).exists() else []
    return proc.returncode, proc.stdout + proc.stderr, [c for c in calls if not c.startswith(("id ", "ldconfig "))]


def test_nothing_missing_is_silent(tmp_path: Path) -> None:
    rc, out, calls = run(machine(tmp_path, uid=1000, ffmpeg_libs=True, chromium=True))
    assert (rc, out, calls) == (0, "", [])


def test_ordinary_user_without_sudo_skips_with_one_line(tmp_path: Path) -> None:
    rc, out, calls = run(machine(tmp_path, uid=1000))
    assert rc == 0
    assert calls == []
    (line,) = out.splitlines()
    assert line.startswith("system-deps: skipping optional ffmpeg chromium (not root and no passwordless sudo)")
    assert "torchcodec" in line and "browser playback test" in line


def test_sudo_that_wants_a_password_is_never_prompted(tmp_path: Path) -> None:
    rc, out, calls = run(machine(tmp_path, uid=1000, sudo="password"), "ffmpeg")
    assert rc == 0
    assert calls == ["sudo -n true"]
    assert "skipping optional ffmpeg (not root and no passwordless sudo)" in out


def test_passwordless_sudo_installs_only_what_is_missing(tmp_path: Path) -> None:
    rc, out, calls = run(machine(tmp_path, uid=1000, sudo="nopasswd", ffmpeg_libs=True))
    assert rc == 0, out
    assert calls == [
        "sudo -n true",
        "sudo -n apt-get update -qq",
        "apt-get update -qq",
        "sudo -n apt-get install -y -qq chromium",
        "apt-get install -y -qq chromium",
    ]


def test_root_installs_without_sudo(tmp_path: Path) -> None:
    rc, out, calls = run(machine(tmp_path, uid=0, chromium=True), "ffmpeg", "chromium")
    assert rc == 0, out
    assert calls == ["apt-get update -qq", "apt-get install -y -qq ffmpeg"]
    assert "installing Debian packages: ffmpeg" in out


def test_ffmpeg_command_counts_as_present(tmp_path: Path) -> None:
    env = machine(tmp_path, uid=0)
    _stub(Path(env["PATH"]), "ffmpeg", "exit 0")  # e.g. `module load ffmpeg`: on PATH, not in ld.so's cache
    rc, _, calls = run(env, "ffmpeg")
    assert (rc, calls) == (0, [])


@pytest.mark.parametrize("knob", ["VIDEOXAI_SYSTEM_DEPS", "no-apt"])
def test_root_can_be_told_not_to_install(tmp_path: Path, knob: str) -> None:
    env = machine(tmp_path, uid=0, apt=knob != "no-apt")
    rc, out, calls = run(env, "ffmpeg", **({"VIDEOXAI_SYSTEM_DEPS": "skip"} if knob != "no-apt" else {}))
    assert (rc, calls) == (0, [])
    reason = "VIDEOXAI_SYSTEM_DEPS=skip" if knob != "no-apt" else "no apt-get"
    assert f"skipping optional ffmpeg ({reason}" in out


def test_failed_apt_get_is_a_warning_for_users(tmp_path: Path) -> None:
    rc, out, _ = run(machine(tmp_path, uid=0, apt_fails=True), "chromium")
    assert rc == 0
    assert "apt-get install chromium failed (exit 100); going on without it" in out


@pytest.mark.parametrize("case", ["cannot-install", "apt-fails"])
def test_ci_fails_where_a_user_would_skip(tmp_path: Path, case: str) -> None:
    env = machine(tmp_path, uid=1000) if case == "cannot-install" else machine(tmp_path, uid=0, apt_fails=True)
    rc, out, _ = run(env, "chromium", CI="true")
    assert rc == 1
    assert "ERROR: " in out and "CI must run everything" in out


def test_unknown_package_is_an_error(tmp_path: Path) -> None:
    rc, out, _ = run(machine(tmp_path, uid=0), "chrome")
    assert rc == 2
    assert "unknown package 'chrome' (known: ffmpeg, chromium)" in out
