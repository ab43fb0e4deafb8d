"""Every video decodes back: right frame count, H.264, yuv420p, even size, moov first, right colours."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from videoxai.render.caption import caption_lines, caption_strip
from videoxai.render.video import compose_frames, encode_mp4


def top_level_boxes(path: Path) -> list[str]:
    """The mp4's top-level box types in file order (ftyp, moov, mdat, ...)."""
    data, out, pos = path.read_bytes(), [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        out.append(kind.decode("latin-1"))
        if size < 8:
            break
        pos += size
    return out


def probe(path: Path) -> dict:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        return {
            "codec": s.codec_context.name,
            "pix_fmt": s.codec_context.pix_fmt,
            "width": s.codec_context.width,
            "height": s.codec_context.height,
            "rate": s.average_rate,
            "duration": float(c.duration) / 1e6,
            "frames": frames,
        }


def test_decodes_back_as_browser_playable_h264(tmp_path: Path) -> None:
    t, fps = 12, 6
    frames = np.zeros((t, 32, 48, 3), dtype=np.uint8)
    frames[:, :, :24, 0] = 230  # red left half
    frames[:, :, 24:, 2] = 230  # blue right half
    out = tmp_path / "v.mp4"
    info = encode_mp4(iter(frames), out, fps=fps)
    p = probe(out)
    assert info["n_frames"] == len(p["frames"]) == t
    assert (p["codec"], p["pix_fmt"]) == ("h264", "yuv420p")
    assert (p["width"], p["height"]) == (48, 32)
    assert p["rate"] == fps and p["duration"] == pytest.approx(t / fps, abs=0.01)
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), f"not faststart: {boxes}"
    mid = p["frames"][t // 2]
    assert mid[16, 8, 0] > 200 and mid[16, 8, 2] < 40  # still red, channels not swapped
    assert mid[16, 40, 2] > 200 and mid[16, 40, 0] < 40
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_fractional_fps(tmp_path: Path) -> None:
    frames = np.full((15, 16, 16, 3), 100, dtype=np.uint8)
    info = encode_mp4(frames, tmp_path / "v.mp4", fps=7.5, threads=1)
    p = probe(tmp_path / "v.mp4")
    assert Fraction(p["rate"]) == Fraction(15, 2) and len(p["frames"]) == 15
    assert info["duration_s"] == pytest.approx(2.0) and p["duration"] == pytest.approx(2.0, abs=0.01)


def test_odd_sizes_are_padded_and_caption_is_pasted_unchanged(tmp_path: Path) -> None:
    t, h, w = 5, 31, 45
    frames = torch.randint(0, 256, (t, h, w, 3), dtype=torch.uint8)
    overlays = torch.randint(0, 256, (t, h, w, 3), dtype=torch.uint8)
    caption = caption_strip(
        caption_lines({"class_name": "Diving", "target_name": "Diving", "pred_name": "Diving", "confidence": 0.9}),
        2 * w,
    )
    assert caption.shape[0] % 2 == 0 and caption.shape[1] == 2 * w
    composed = list(compose_frames(overlays.split(2), frames.split(2), caption))
    ch = caption.shape[0]
    assert len(composed) == t
    for i, f in enumerate(composed):
        assert f.shape == (ch + h + 1, 2 * w, 3)  # one black row of padding makes the height even
        np.testing.assert_array_equal(f[:ch], caption)
        np.testing.assert_array_equal(f[ch : ch + h, :w], frames[i].numpy())
        np.testing.assert_array_equal(f[ch : ch + h, w:], overlays[i].numpy())
        assert not f[ch + h :].any()
    solo = list(compose_frames(overlays.split(4)))
    assert solo[0].shape == (32, 46, 3)
    info = encode_mp4(solo, tmp_path / "odd.mp4")
    p = probe(tmp_path / "odd.mp4")
    assert (
        (p["width"], p["height"], len(p["frames"])) == (46, 32, t) == (info["width"], info["height"], info["n_frames"])
    )


def test_caption_colours_prediction_by_correctness() -> None:
    right = caption_lines({"class_name": "a", "target": 1, "pred": 1, "target_name": "a", "pred_name": "a"})
    wrong = caption_lines(
        {"class_name": "a", "target": 1, "pred": 2, "target_name": "a", "pred_name": "b", "confidence": 0.25}
    )
    assert right[1][1] != wrong[1][1]
    assert wrong[1][0] == "target: a   pred: b (25.0%)"


def test_encoder_errors_are_clear_and_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.mp4"):
        encode_mp4(np.zeros((2, 8, 8, 3), np.uint8), tmp_path / "v.avi")
    with pytest.raises(ValueError, match="threads"):
        encode_mp4(np.zeros((2, 8, 8, 3), np.uint8), tmp_path / "v.mp4", threads=-1)
    with pytest.raises(ValueError, match="no frames"):
        encode_mp4([], tmp_path / "v.mp4")
    with pytest.raises(ValueError, match="even"):
        encode_mp4(np.zeros((2, 7, 8, 3), np.uint8), tmp_path / "v.mp4")
    bad = [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)]
    with pytest.raises(ValueError, match="frame 1"):
        encode_mp4(bad, tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []
