"""The workflow's media code needs no system FFmpeg: decoding and H.264 encoding go through the wheels' own.

Runs anywhere, as anyone: a child Python sees no FFmpeg command on PATH and
cannot load the system's FFmpeg libraries (tests/install/host.py), as on a
cluster login node without them. ``decoder: auto`` must then pick a backend
with a bundled FFmpeg (not torchcodec, which would fail on every clip), and
the heatmap video must still be H.264.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.install.host import command_dir, system_ffmpeg_libraries, unloadable_ffmpeg_dir

CHILD = r"""
import json, shutil, sys
from pathlib import Path
import av, numpy as np, torchcodec
from videoxai.data.decode import decode_clip, resolve_decoder
from videoxai.data.encode import write_lossless
from videoxai.render.video import encode_mp4

out = Path(sys.argv[1])
rng = np.random.default_rng(0)
frames = rng.integers(0, 256, (8, 32, 48, 3), dtype=np.uint8)
write_lossless(out / "clip.avi", frames)  # lossless: decoded frames must equal these
clip = decode_clip(out / "clip.avi", 4)
info = encode_mp4(clip.frames[0], out / "clip.mp4", fps=4)
with av.open(str(out / "clip.mp4")) as c:
    codec, n = c.streams.video[0].codec_context.name, sum(1 for _ in c.decode(video=0))
print(json.dumps({
    "ffmpeg_on_path": shutil.which("ffmpeg"), "torchcodec_ffmpeg": torchcodec.ffmpeg_major_version,
    "auto": resolve_decoder("auto"), "backend": clip.backend, "indices": clip.indices[0],
    "exact": bool((clip.frames[0] == frames[clip.indices[0]]).all()), "codec": codec, "frames": n, "info": info,
}))
"""


def test_decode_and_encode_without_system_ffmpeg(tmp_path: Path) -> None:
    env = {
        "PATH": f"{Path(sys.executable).parent}:{command_dir(tmp_path / 'bin')}",
        "LD_LIBRARY_PATH": str(unloadable_ffmpeg_dir(tmp_path / "lib")),
        "HOME": str(tmp_path),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    # The machine really is one without FFmpeg ...
    assert got["ffmpeg_on_path"] is None
    assert got["torchcodec_ffmpeg"] is None, "torchcodec still loaded the system's FFmpeg libraries"
    # ... and the workflow's media code does not mind.
    assert got["auto"] in ("pyav", "decord") and got["backend"] == got["auto"], got
    assert got["exact"] and got["indices"] == [1, 3, 5, 7], got
    assert (got["codec"], got["frames"]) == ("h264", 4), got
    assert got["info"]["n_frames"] == 4


def test_the_same_child_sees_torchcodec_where_ffmpeg_is_installed(tmp_path: Path) -> None:
    """The check above is not vacuous: without the hiding, this machine's torchcodec does load its FFmpeg."""
    if not system_ffmpeg_libraries():
        pytest.skip("no system FFmpeg libraries here: nothing to hide")
    code = "import torchcodec; print(torchcodec.ffmpeg_major_version)"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().isdigit(), proc.stdout
