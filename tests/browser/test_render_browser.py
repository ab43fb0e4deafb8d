"""The rendered videos play in a real browser: headless Chromium loads the gallery page and plays every video.

Needs the Debian package ``chromium`` (``apt-get install -y chromium``; ``make test`` installs it as root); skipped,
with that reason, without it, except under ``CI=true``, where the skip is a failure (tests/conftest.py).
The page reports back to a localhost server (POST), so the check does not depend on when Chromium dumps the DOM.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_render_fixtures import make_heatmaps
from videoxai.render import render_clip, write_gallery

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.needs("chromium"),
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium: install the Debian package with `apt-get install -y chromium` to check browser playback",
    ),
]
TIMEOUT_S = 60

# Waits for every <video> to have its current frame (readyState >= 2), then plays it to the end (muted, no loop).
PROBE = """
<script>
(async () => {
  const probe = v => new Promise(resolve => {
    let readyState = v.readyState, sent = false;
    const done = played => { if (!sent) { sent = true; resolve({
      src: v.getAttribute('src').slice(0, 60), readyState, duration: v.duration, width: v.videoWidth,
      height: v.videoHeight, error: v.error ? v.error.code : 0, played, currentTime: v.currentTime}); } };
    const start = () => { readyState = Math.max(readyState, v.readyState); v.loop = false;
                          v.play().catch(() => done(false)); };
    v.addEventListener('ended', () => done(true));
    v.addEventListener('error', () => done(false));
    setTimeout(() => done(false), 20000);
    if (v.readyState >= 2) start(); else v.addEventListener('loadeddata', start, {once: true});
  });
  const results = await Promise.all([...document.querySelectorAll('video')].map(probe));
  await fetch('/result', {method: 'POST', body: JSON.stringify(results)});
})();
</script>
"""


class _Handler(SimpleHTTPRequestHandler):
    results: list[Any]
    received: threading.Event

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.results.append(json.loads(body))
        self.send_response(204)
        self.end_headers()
        self.received.set()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[Path, int, list[Any], threading.Event]]:
    root = tmp_path / "site"
    root.mkdir()
    received, results = threading.Event(), []
    handler = type("Handler", (_Handler,), {"results": results, "received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, server.server_address[1], results, received
    finally:
        server.shutdown()
        server.server_close()


def _run_chromium(url: str, profile: Path, received: threading.Event) -> None:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
        f"--user-data-dir={profile}",
        url,
    ]
    log = profile.with_suffix(".log")
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        ok = received.wait(TIMEOUT_S)
        assert ok, f"Chromium reported nothing within {TIMEOUT_S}s; its log: {log.read_text(errors='replace')[-2000:]}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the process group we started: browser, renderer, GPU process
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.mark.parametrize("embed", [False, True], ids=["relative-links", "embedded"])
def test_gallery_videos_play_in_chromium(serve, tmp_path: Path, embed: bool) -> None:
    root, port, results, received = serve
    heatmaps = make_heatmaps(tmp_path / "heatmaps.safetensors", n=2, t=8, size=32, grid=4)
    folder = root / "GRADCAM"
    clips = [(0, 8, True), (1, 4, False)]  # index, fps, side by side
    videos, pngs = [], []
    for i, fps, sbs in clips:
        videos.append(folder / "video_samples" / f"class_{i}_sample_0.mp4")
        pngs.append(folder / "attention_maps" / f"class_{i}_sample_0.png")
        render_clip(heatmaps, i, videos[-1], pngs[-1], fps=fps, side_by_side=sbs)
    page = folder / "gallery.html"
    write_gallery(page, videos, pngs, title="browser check", embed=embed)
    probe = folder / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))

    _run_chromium(f"http://127.0.0.1:{port}/GRADCAM/probe.html", tmp_path / "chromium-profile", received)

    (reports,) = results
    assert len(reports) == len(clips)
    for report, (_i, fps, sbs) in zip(reports, clips):
        assert report["error"] == 0, report
        assert report["readyState"] >= 2, report
        assert report["duration"] == pytest.approx(8 / fps, abs=0.05), report
        assert report["width"] == (64 if sbs else 32), report
        assert report["played"] and report["currentTime"] == pytest.approx(8 / fps, abs=0.05), report
