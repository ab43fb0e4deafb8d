"""``make demo``, the README's command, as an ordinary user: no root, no sudo, no system FFmpeg, no Chromium.

As root (CI runs it so), the test makes such a user (``videoxai-nonroot``)
and such a machine: in a private mount namespace FFmpeg's libraries and
commands, Chromium and sudo are gone (tests/install/host.py). It copies the
working tree to a folder the user owns and runs ``make demo`` there as that
user. To keep CI's time, the copy's config/config.yaml is the tiny demo (one
model, 8 clips per split: tests.helpers.TINY_DEMO) and the heavy Python
packages come from this test's environment, as a site's shared environment
would provide them (a ``.pth`` file in the copy's ``.venv``, so nothing large is
downloaded); the rest is the user's own path: make's pip install into the
copy's ``.venv``, the optional-packages step, Snakemake.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import av
import pyarrow.parquet as pq
import pytest
import yaml

from tests.helpers import TINY_DEMO, copy_working_tree
from tests.install.host import command_dir, namespace_script

pytestmark = [pytest.mark.needs("root"), pytest.mark.slow, pytest.mark.workflow]

USER = "videoxai-nonroot"
LIMIT_S = 1500
KEY = TINY_DEMO["models"][0]


def _why_not_here() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create an unprivileged user and hide the system FFmpeg from it (CI runs it as root)"
    missing = [c for c in ("useradd", "userdel", "runuser", "unshare", "make", "git") if shutil.which(c) is None]
    if missing:
        return f"needs {', '.join(missing)} on PATH"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot make a private mount namespace here (unshare: {probe.stderr.strip()}); a container needs CAP_SYS_ADMIN"
    return None


@pytest.fixture(scope="module")
def user() -> Iterator[pwd.struct_passwd]:
    why = _why_not_here()
    if why:
        pytest.skip(why)
    created = False
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                USER,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        created, entry = True, pwd.getpwnam(USER)
    assert entry.pw_uid != 0
    yield entry
    if created:
        subprocess.run(["userdel", USER], check=False, capture_output=True)


def _shared_environment(venv: Path) -> None:
    """The copy's .venv sees this environment's packages and commands, as a site's shared environment would."""
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    py = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (venv / "lib" / py / "site-packages" / "_site_environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    ours = f"#!{sys.prefix}/bin/python"
    for script in Path(sys.prefix, "bin").iterdir():
        target = venv / "bin" / script.name
        if target.exists() or not script.is_file():
            continue
        with open(script, "rb") as f:
            first = f.readline()
        if first.decode(errors="replace").startswith(ours):
            target.write_bytes(f"#!{venv}/bin/python\n".encode() + script.read_bytes().split(b"\n", 1)[1])
            target.chmod(0o755)


@pytest.fixture(scope="module")
def run(user: pwd.struct_passwd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The copy and everything ``make demo`` printed (also kept in the test's tmp folder as make-demo.log)."""
    scratch = Path(tempfile.mkdtemp(prefix="videoxai-nonroot-"))
    try:
        scratch.chmod(0o755)  # the user must reach its folder; the rest of the scratch stays root's
        clone, home = scratch / "videoxai", scratch / "home"
        home.mkdir()
        copy_working_tree(clone)
        cfg_path = clone / "config" / "config.yaml"
        cfg = yaml.safe_load(cfg_path.read_text())
        cfg.update(TINY_DEMO)
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        _shared_environment(clone / ".venv")
        for path in (clone, home):
            subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(path)], check=True)

        python_bin = Path(sys._base_executable).parent
        keep = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k.lower().endswith("_proxy")}
        commands = command_dir(scratch / "bin")
        env = {"HOME": str(home), "PATH": f"{python_bin}:{commands}", "LANG": "C.UTF-8", **keep}
        steps = [
            f"cd {shlex.quote(str(clone))}",
            'echo "preflight: uid=$(id -u)"',
            "for c in ffmpeg ffprobe chromium chromium-browser sudo; do "
            'if command -v "$c"; then echo "preflight: $c is still on PATH"; exit 90; fi; done',
            ".venv/bin/python -c 'import torchcodec; print(\"preflight: torchcodec FFmpeg\", torchcodec.ffmpeg_major_version)'",
            "make demo",  # the README's command, CI unset: for this user the optional packages are optional
            'echo "make demo took ${SECONDS}s"',
            ".venv/bin/python -c 'from videoxai.data.decode import resolve_decoder; print(\"auto decoder:\", resolve_decoder())'",
        ]
        command = (
            "env -i "
            + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
            + " bash -c "
            + shlex.quote(" && ".join(steps))
        )
        script = scratch / "namespace.sh"
        script.write_text(
            namespace_script(
                scratch=scratch,
                user=USER,
                expose=[Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()],
                command=command,
            )
        )
        proc = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "bash", str(script)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=LIMIT_S,
        )
        out = proc.stdout
        (tmp_path_factory.mktemp("nonroot") / "make-demo.log").write_text(out)
        assert proc.returncode == 0, f"make demo as {USER} failed (exit {proc.returncode}):\n{out[-8000:]}"
        yield clone, out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_runs_as_an_ordinary_user_without_ffmpeg_chromium_or_sudo(
    run: tuple[Path, str], user: pwd.struct_passwd
) -> None:
    clone, out = run
    assert f"preflight: uid={user.pw_uid}" in out
    assert "preflight: torchcodec FFmpeg None" in out, "the system FFmpeg libraries were not hidden"
    predictions = clone / f"results/predictions/{KEY}/demo/test.parquet"
    assert predictions.stat().st_uid == user.pw_uid


def test_optional_packages_are_skipped_with_one_line(run: tuple[Path, str]) -> None:
    _, out = run
    lines = [line for line in out.splitlines() if line.startswith("system-deps:")]
    assert len(lines) == 1, lines
    assert "skipping optional ffmpeg" in lines[0] and "not root and no passwordless sudo" in lines[0], lines
    assert "torchcodec" in lines[0], lines


def test_decoding_fell_back_to_a_bundled_ffmpeg(run: tuple[Path, str]) -> None:
    clone, out = run
    assert "auto decoder: pyav" in out or "auto decoder: decord" in out, out[-3000:]
    table = pq.read_table(clone / f"results/predictions/{KEY}/demo/test.parquet")
    assert table.num_rows == TINY_DEMO["demo"]["n-test"]
    assert set(table.column("status").to_pylist()) == {"ok"}, table.column("error").to_pylist()


def test_heatmap_videos_are_h264_without_an_ffmpeg_command(run: tuple[Path, str]) -> None:
    clone, _ = run
    videos = sorted((clone / "figures/explainer").rglob("*.mp4"))
    assert videos, "no heatmap videos written"
    for video in videos:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264", video
            assert sum(1 for _ in container.decode(stream)) > 0, video
