"""Frames per model (issue 25, item 3): each model's own frame count, the config's override, checked while planning.

The fixture runs of ../shared/origin-fixtures-families are prompt-tuning's own run folders: vita learns per-frame
tokens (exactly its count), vidop and vilt encode frames one by one (any count); the demo's checkpoints fix theirs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from tests.helpers import REPO, fixture_clip, fixture_run_model, origin_fixtures_families
from videoxai.keys import SPLIT_VARIANT_PATTERN, SplitVariant, SplitVariantError
from videoxai.preflight import num_frames_errors
from videoxai.setup.frames import UNKNOWN, FrameSupport, frame_support, plan_frames, requested_frames
from videoxai.setup.model_split import model_input_spec

DEMO_STT = REPO / "src/videoxai/demo/checkpoints/stt/demo/tiny/config.json"


@pytest.fixture(scope="module")
def fixtures() -> Path:
    return origin_fixtures_families()


def test_each_checkpoint_says_its_own_frames_and_whether_only_those(fixtures: Path, tmp_path: Path) -> None:
    runs = fixtures / "runs"
    assert frame_support(runs / "vita/ucf101/beat-mean/config.json").own == 8
    assert frame_support(runs / "vita/ucf101/beat-mean/config.json").fixed  # per-frame summary tokens
    for key in ("vidop/ucf101/best-no-hand-features-mean", "vilt/ucf101/best-mean"):
        support = frame_support(runs / key / "config.json")
        assert (support.own, support.fixed) == (8, False), key
    demo = frame_support(DEMO_STT)
    assert (demo.own, demo.fixed, demo.source) == (8, True, str(DEMO_STT))
    # a run trained on 6 frames (num-frames-temporal) says 6
    cfg = json.loads((runs / "vilt/ucf101/best-mean/config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "num-frames-temporal": 6}))
    assert frame_support(tmp_path / "config.json").own == 6
    assert frame_support(None) is UNKNOWN and frame_support(tmp_path / "absent.json") is UNKNOWN
    (tmp_path / "bad.json").write_text("{not json")
    assert frame_support(tmp_path / "bad.json") is UNKNOWN


def test_num_frames_is_null_an_int_or_per_model() -> None:
    assert requested_frames(None, "a/b/c") is None
    assert requested_frames(16, "a/b/c") == 16
    assert requested_frames({"a/b/c": 4, "x/y/z": None}, "a/b/c") == 4
    assert requested_frames({"a/b/c": 4, "x/y/z": None}, "x/y/z") is None
    assert requested_frames({"a/b/c": 4}, "d/e/f") is None


@pytest.mark.parametrize(
    "value,support,frames,suffix",
    [
        (None, FrameSupport(6, True), 6, None),  # the model's own
        (6, FrameSupport(6, True), 6, None),  # asked what it has: no suffix
        ({"m/t/r": 16}, FrameSupport(8, False), 16, 16),  # another count of a flexible model: +f16
        ({"other/t/r": 16}, FrameSupport(8, False), 8, None),  # not listed: its own
        (4, UNKNOWN, 4, None),  # not known while planning: the job checks it
        (None, UNKNOWN, None, None),
    ],
)
def test_plan_frames(value, support: FrameSupport, frames, suffix) -> None:
    plan = plan_frames("m/t/r", value, support)
    assert (plan.frames, plan.suffix, plan.problem) == (frames, suffix, None)


def test_a_fixed_model_asked_for_other_frames_is_one_line_naming_model_frames_and_fix() -> None:
    plan = plan_frames("stt/ucf101/run6", 8, FrameSupport(6, True, "runs/stt/config.json"))
    line = plan.problem
    assert line is not None and "\n" not in line
    for text in ("'num-frames' is 8", "stt/ucf101/run6 takes exactly 6 frames", "runs/stt/config.json"):
        assert text in line
    assert "set num-frames to null (each model's own) or {stt/ucf101/run6: 6}" in line


def test_planning_checks_every_model_and_the_keys_of_the_mapping(fixtures: Path) -> None:
    configs = {
        "vita/ucf101/beat-mean": fixtures / "runs/vita/ucf101/beat-mean/config.json",
        "vilt/ucf101/best-mean": fixtures / "runs/vilt/ucf101/best-mean/config.json",
        "stt/demo/tiny": DEMO_STT,
    }
    assert num_frames_errors({"num-frames": None}, configs) == []
    assert num_frames_errors({"num-frames": {"vilt/ucf101/best-mean": 4}}, configs) == []
    lines = num_frames_errors({"num-frames": 4}, configs)
    assert len(lines) == 2 and "vita/ucf101/beat-mean takes exactly 8" in lines[0] and "stt/demo/tiny" in lines[1]
    lines = num_frames_errors({"num-frames": {"vita/ucf101/beta-mean": 8}}, configs)
    assert lines == [
        "config key 'num-frames' names models not in 'models': ['vita/ucf101/beta-mean']; "
        f"valid keys: {sorted(configs)}"
    ]


def test_frames_are_part_of_the_split_name() -> None:
    v = SplitVariant("test", augmentation=True, temporal_views=2, frames=16)
    assert str(v) == "test+tta+v2+f16" and SplitVariant.parse("test+tta+v2+f16") == v
    assert v.options()["num-frames"] == 16 and "num-frames" not in SplitVariant("test").options()
    assert re.fullmatch(SPLIT_VARIANT_PATTERN, "val+hand+s1+f4")
    assert not re.fullmatch(SPLIT_VARIANT_PATTERN, "test+f0")
    with pytest.raises(SplitVariantError, match="num-frames must be a positive integer"):
        SplitVariant("test", frames=0)


def test_a_frame_flexible_family_runs_on_other_frames_and_vita_refuses(fixtures: Path) -> None:
    """What planning says is what the models do: vilt takes 4 frames, vita only 8.

    vilt's run pools frames by their mean, so each of 4 frames shown twice (8 frames) gives the 4 frames' logits."""
    clip = fixture_clip(fixtures)
    names = json.loads((fixtures / "cases/class_names.json").read_text())
    vilt = fixture_run_model(fixtures, "vilt/ucf101/best-mean", names, clip)
    spec = model_input_spec(vilt, 4)
    assert spec.num_frames == 4 and not vilt.fixed_num_frames
    assert vilt.input_spec.num_frames == 4 and vilt.token_layout.frames == 4  # what explainers read
    torch.manual_seed(0)
    video = torch.randn(1, 1, 4, 3, spec.size, spec.size)
    with torch.inference_mode():
        four = vilt(video)
        eight = vilt(video.repeat_interleave(2, dim=2))
    assert four.shape == (1, len(names)) and torch.isfinite(four).all()
    torch.testing.assert_close(four, eight, atol=1e-4, rtol=1e-5)
    with torch.inference_mode():
        other = vilt(torch.cat([video, torch.randn_like(video)], dim=2))
    assert not torch.allclose(four, other, atol=1e-2)
    vita = fixture_run_model(fixtures, "vita/ucf101/beat-mean", names, clip)
    assert vita.fixed_num_frames
    with pytest.raises(ValueError, match="takes exactly 8 frames; set num-frames to 8"):
        model_input_spec(vita, 4)


def test_the_memory_estimate_follows_the_frames(fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A vilt run on 4 frames holds half the frame sequences of its own 8 (what its job's mem_mb is declared from)."""
    import huggingface_hub.constants

    from videoxai.setup.footprint import footprint_of_checkpoint

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(fixtures / "hf-home" / "hub"))
    fp = footprint_of_checkpoint(fixtures / "runs/vilt/ucf101/best-mean/best.pt")
    four = fp.with_frames(4)
    assert (fp.frames, four.frames, four.vision.sequences) == (8, 4, 4)
    assert four.joint_tokens - 1 == (fp.joint_tokens - 1) // 2 and fp.with_frames(None) is fp
