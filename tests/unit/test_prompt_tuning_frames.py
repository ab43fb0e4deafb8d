"""Prompt-tuning's frames (data.origin_frames): every preprocessing fixture prompt-tuning made, reproduced exactly.

The fixtures (``origin-fixtures/preprocessing/``) hold, per clip and setting,
prompt-tuning's bfloat16 input tensor ``video`` (V, T, C, H, W), the
``frame_indices`` it decoded and the per-frame sums of the decoded uint8
frames. Every decoder installed here (torchcodec, prompt-tuning's own; PyAV;
decord) decodes both clips to identical frames, so the tensors are compared
exactly (``torch.equal``), not within a bf16 step. Settings that need more
frames than ``clip_b`` has made prompt-tuning return None and delete the file;
here they are padded rows and the file is untouched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import ORIGIN_FIXTURES, origin_fixtures
from videoxai.data import prompt_tuning_frames as origin_frames
from videoxai.data.datasets import Sample
from videoxai.data.decode import available_backends
from videoxai.data.encode import write_lossless
from videoxai.data.loader import ClipDataset, collate_clips
from videoxai.data.prompt_tuning_frames import (
    PROMPT_TUNING_TTA_SET,
    PromptTuningAugmentation,
    PromptTuningTTA,
    decode_prompt_tuning_clip,
    display_frames,
    prompt_tuning_clip,
    prompt_tuning_spec,
    prompt_tuning_spec_from_config,
    prompt_tuning_views,
)
from videoxai.data.sampling import linspace_indices
from videoxai.data.transforms import TTA
from videoxai.extract.run import tta_for
from videoxai.models.base import InputSpec
from videoxai.setup.model_split import model_input_spec

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _summary() -> dict:
    return json.loads((origin_fixtures() / "preprocessing" / "summary.json").read_text())


def _video_path(root: Path, clip: str) -> Path:
    names = [n for n in _summary()["videos"] if Path(n).stem == clip]
    assert len(names) == 1, f"summary.json names no single video for {clip!r}"
    return root / "preprocessing" / "videos" / names[0]


def _spec(summary: dict, case: dict) -> InputSpec:
    views = case["eval_overrides"]
    processor = summary["processor"]
    return prompt_tuning_spec(
        views.get("num-frames-temporal", summary["num-frames-temporal"]),
        processor["shortest_edge"],
        processor["image_mean"],
        processor["image_std"],
        temporal_views=views["num-temporal-views"],
        spatial_views=views["num-spatial-views"],
    )


def _case_names(tensor: bool) -> list[str]:
    """The fixture's cases (read at collection, so a folder with other cases is checked the same way)."""
    path = ORIGIN_FIXTURES / "preprocessing" / "summary.json"
    if not path.is_file():
        return ["fixtures-absent"]  # the test then skips, naming the reason
    cases = json.loads(path.read_text())["cases"]
    return sorted(n for n, c in cases.items() if (c["result"] == "tensor") == tensor)


# The shipped folder: clip_b has 30 frames, so prompt-tuning made tensors only for its 8-frame settings.
SHIPPED_TENSOR_CASES = {
    "clip_a__tta-4x3",
    "clip_a__views-4x1",
    "clip_a__views-1x3",
    "clip_a__single-1x1",
    "clip_a__aug-hflip-p1-4x1",
    "clip_a__aug-gaussian-blur-k5-s1-4x1",
    "clip_b__views-1x3",
    "clip_b__single-1x1",
}
TENSOR_CASES = _case_names(tensor=True)
NONE_CASES = _case_names(tensor=False)


def test_every_case_has_a_tensor_or_was_too_short() -> None:
    summary = _summary()
    tensors = {n for n, c in summary["cases"].items() if c["result"] == "tensor"}
    assert tensors and tensors == set(TENSOR_CASES)
    if "clip_a.avi" in summary["videos"]:  # the shipped folder
        assert tensors == SHIPPED_TENSOR_CASES
    for name in NONE_CASES:
        case = summary["cases"][name]
        frames = summary["videos"][_video_path(origin_fixtures(), name.split("__")[0]).name]["frames"]
        assert case["num_frames_needed"] > frames, f"{name}: prompt-tuning returned None for another reason"


@pytest.mark.parametrize("decoder", available_backends())
@pytest.mark.parametrize("name", TENSOR_CASES)
def test_prompt_tuning_tensor_reproduced_exactly(name: str, decoder: str) -> None:
    root = origin_fixtures()
    summary = _summary()
    case = summary["cases"][name]
    expected = load_file(str(root / "preprocessing" / case["file"]))
    spec = _spec(summary, case)
    aug = PromptTuningAugmentation.from_config(case["augmentation-dict"]) if case["augmentation-dict"] else None

    video, clip = prompt_tuning_clip(_video_path(root, name.split("__")[0]), spec, aug, decoder=decoder)

    assert [i for view in clip.indices for i in view] == expected["frame_indices"].tolist() == case["frame_indices"]
    assert clip.total == case["num_frames_metadata"] and not clip.padded
    sums = clip.frames.reshape(clip.frames.shape[0], -1).sum(1)
    assert torch.equal(sums, expected["decoded_frame_sums"].to(sums.dtype))
    assert list(video.shape) == case["shape_VTCHW"] and video.dtype == torch.bfloat16
    assert torch.equal(video, expected["video"])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", NONE_CASES)
def test_a_clip_shorter_than_needed_is_padded_and_never_touched(name: str, tmp_path: Path) -> None:
    """Prompt-tuning deletes the clip for these settings (clip_b: 32 frames needed, 30 there); we pad and only read."""
    root = origin_fixtures()
    summary = _summary()
    case = summary["cases"][name]
    assert case["video_file_left_in_place"] is False  # what prompt-tuning did
    source = _video_path(root, name.split("__")[0])
    copy = tmp_path / source.name
    shutil.copy2(source, copy)
    total = summary["videos"][source.name]["frames"]
    before = (_sha256(copy), copy.stat().st_mtime_ns, copy.stat().st_size)
    spec = _spec(summary, case)
    aug = PromptTuningAugmentation.from_config(case["augmentation-dict"]) if case["augmentation-dict"] else None

    video, clip = prompt_tuning_clip(copy, spec, aug)
    item = ClipDataset([Sample(source.name, copy, 0, "x")], spec, return_frames=True)[0]

    assert copy.is_file() and (_sha256(copy), copy.stat().st_mtime_ns, copy.stat().st_size) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]
    assert clip.padded and clip.total == total
    flat = [i for view in clip.indices for i in view]
    needed = case["num_frames_needed"]
    assert len(flat) == needed and flat[0] == 0 and flat[-1] == total - 1 and len(set(flat)) == total  # repeats
    shape = (spec.total_views, spec.num_frames, 3, spec.size, spec.size)
    assert video.shape == shape
    assert item["status"] == "ok" and item["padded"] is True and item["video"].shape == shape


@pytest.mark.parametrize("name", TENSOR_CASES)
def test_loader_items_are_prompt_tuning_tensor(name: str) -> None:
    """ClipDataset on a prompt-tuning spec hands over the fixture's values (as float32), augmented through PromptTuningTTA."""
    root = origin_fixtures()
    summary = _summary()
    case = summary["cases"][name]
    expected = load_file(str(root / "preprocessing" / case["file"]))["video"].float()
    spec = _spec(summary, case)
    path = _video_path(root, name.split("__")[0])
    tta = (
        PromptTuningTTA((PromptTuningAugmentation.from_config(case["augmentation-dict"]),))
        if case["augmentation-dict"]
        else None
    )

    item = ClipDataset([Sample(path.name, path, 0, "x")], spec, return_frames=True, tta=tta)[0]

    video = item["video"][0] if tta else item["video"]
    assert item["status"] == "ok" and video.dtype == torch.float32
    assert torch.equal(video, expected if spec.total_views > 1 else expected[0])
    t = spec.num_frames
    assert np.array(item["frame_indices"]).shape == (
        (spec.num_views, t) if spec.num_views > 1 else (t,)
    )  # per temporal view
    lead = item["video"].shape[:-3]
    assert item["frames"].dtype == torch.uint8 and item["frames"].shape == (*lead, spec.size, spec.size, 3)


def test_use_augmentation_stacks_clean_flip_and_blur() -> None:
    """The default PromptTuningTTA: the clean clip, then prompt-tuning's flip and blur evaluations, in that order."""
    root = origin_fixtures()
    summary = _summary()
    if not SHIPPED_TENSOR_CASES <= set(TENSOR_CASES):
        pytest.skip("this fixture folder does not hold the shipped augmentation cases")
    pre = root / "preprocessing"
    path = _video_path(root, "clip_a")
    spec = _spec(summary, summary["cases"]["clip_a__views-4x1"])
    tta = ClipDataset([Sample(path.name, path, 0, "x")], spec, tta=PromptTuningTTA())[0]["video"]
    assert tta.shape == (3, 4, 8, 3, 32, 32)
    for k, name in enumerate(["views-4x1", "aug-hflip-p1-4x1", "aug-gaussian-blur-k5-s1-4x1"]):
        assert torch.equal(tta[k], load_file(str(pre / f"clip_a__{name}.safetensors"))["video"].float()), name


# --------------------------------------------------------------------------- other shapes: internal consistency


@pytest.fixture(scope="module")
def portrait(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 21-frame portrait clip (72 x 40), lossless, with texture in both directions."""
    rng = np.random.default_rng(3)
    t, h, w = 21, 72, 40
    y, x = np.mgrid[0:h, 0:w]
    frames = np.stack([(np.stack([x * 6 + k, y * 3 + 2 * k, (x + y) * 4], -1) % 256) for k in range(t)])
    frames = np.clip(frames + rng.integers(-8, 9, frames.shape), 0, 255).astype(np.uint8)
    path = tmp_path_factory.mktemp("prompt-tuning") / "portrait.avi"
    write_lossless(path, frames)
    return path


def _spec_of(**kw) -> InputSpec:
    base = {"num_frames": 4, "size": 24, "mean": CLIP_MEAN, "std": CLIP_STD}
    return prompt_tuning_spec(**{**base, **kw})


@pytest.mark.parametrize("spatial", [1, 3])
def test_temporal_views_are_consecutive_chunks_of_one_sampling(portrait: Path, spatial: int) -> None:
    """V views of T frames are the V*T-frame sampling cut in V pieces (prompt-tuning's views, not interleaved)."""
    two = prompt_tuning_clip(portrait, _spec_of(temporal_views=2, spatial_views=spatial))[0]
    one = prompt_tuning_clip(portrait, _spec_of(num_frames=8, temporal_views=1, spatial_views=spatial))[0]
    assert two.shape == (2 * spatial, 4, 3, 24, 24)
    # (1*S, 8, ...) -> per crop, frames 0-3 are view 0 and 4-7 view 1; views are temporal-major
    by_crop = one.reshape(spatial, 2, 4, 3, 24, 24).transpose(0, 1).reshape(2 * spatial, 4, 3, 24, 24)
    assert torch.equal(two, by_crop)
    views, padded = linspace_indices(21, 4, 2)
    assert views == [[0, 2, 5, 8], [11, 14, 17, 20]] and not padded


def test_three_crops_run_along_the_longer_side(portrait: Path) -> None:
    """Portrait frames: the three crops are the top, middle and bottom of the same resized frames."""
    video = prompt_tuning_clip(portrait, _spec_of(spatial_views=3, dtype="float32"))[0]
    assert video.shape == (3, 4, 3, 24, 24)
    # resized to 24 x round(72 * 24 / 40) = 43 rows: crops start at rows 0, 9, 19
    top, middle, bottom = video[0], video[1], video[2]
    assert torch.equal(top[..., 9:, :], middle[..., : 24 - 9, :])
    assert torch.equal(middle[..., 10:, :], bottom[..., : 24 - 10, :])


def test_one_crop_path_round_trips_to_the_resized_uint8_frames(portrait: Path) -> None:
    """In float32 the one-crop path is the rounded, antialiased resize of the decoded frames, normalised."""
    spec = _spec_of(dtype="float32", size=20)
    video, clip = prompt_tuning_clip(portrait, spec)
    assert video.shape == (1, 4, 3, 20, 20) and video.dtype == torch.float32
    resized = torch.nn.functional.interpolate(
        clip.frames.float(), size=(36, 20), mode="bilinear", align_corners=False, antialias=True
    ).round()
    expected = resized[..., 8:28, :].to(torch.uint8)  # int(20 * 72 / 40) = 36 rows, centre crop from row 8
    assert torch.equal(display_frames(video, spec)[0], expected.permute(0, 2, 3, 1))


def test_bfloat16_is_float32_rounded_step_by_step(portrait: Path) -> None:
    """bf16 and float32 runs differ by rounding only: a few bf16 steps of [0, 1] pixels, scaled by 1 / std."""
    b = prompt_tuning_clip(portrait, _spec_of(spatial_views=3))[0].float()
    f = prompt_tuning_clip(portrait, _spec_of(spatial_views=3, dtype="float32"))[0]
    pixel_step = 2.0**-8  # one bf16 step just below 1.0 (8 significant bits)
    output_step = 2.0 ** (torch.floor(torch.log2(f.abs().clamp_min(2**-8))) - 7)
    assert ((b - f).abs() <= 3 * pixel_step / min(CLIP_STD) + output_step).all()
    assert not torch.equal(b, f)


def test_chunked_resizing_changes_no_value(portrait: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big clips are resized a few frames at a time (bounded memory); the values are the same."""
    for spatial in (1, 3):
        spec = _spec_of(temporal_views=2, spatial_views=spatial)
        whole = prompt_tuning_clip(portrait, spec)[0]
        monkeypatch.setattr(origin_frames, "_PIXEL_BUDGET", 1)
        assert torch.equal(prompt_tuning_clip(portrait, spec)[0], whole)
        monkeypatch.undo()


def test_linspace_sampling_is_torch_float32_linspace_truncated() -> None:
    """Prompt-tuning's indices come from float32 linspace; for some lengths they differ from exact arithmetic."""
    views, padded = linspace_indices(148, 64, 1)
    exact = [int(k * 147 // 63) for k in range(64)]
    assert views[0] != exact  # float32 rounding moves at least one index
    assert views[0] == torch.linspace(0, 147, 64).long().tolist() and not padded
    views, padded = linspace_indices(50, 8, 4)
    assert [i for v in views for i in v][:8] == [0, 1, 3, 4, 6, 7, 9, 11] and not padded
    views, padded = linspace_indices(3, 4, 1)
    assert views == [[0, 0, 1, 2]] and padded
    with pytest.raises(ValueError, match="no frames"):
        linspace_indices(0, 4)


def test_augmentations_flip_and_blur() -> None:
    video = prompt_tuning_views(
        torch.randint(0, 256, (8, 3, 30, 40), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)),
        _spec_of(temporal_views=2),
    )
    none, flip, blur = PROMPT_TUNING_TTA_SET
    assert none.is_identity and torch.equal(none(video), video)
    assert torch.equal(flip(video), video.flip(-1))
    blurred = blur(video)
    assert blurred.shape == video.shape and blurred.dtype == torch.bfloat16
    assert blurred.float().var() < video.float().var() / 2  # a low-pass filter of noise
    flat = torch.full((1, 1, 3, 12, 12), 0.75, dtype=torch.bfloat16)
    assert torch.allclose(blur(flat).float(), flat.float(), atol=2**-7)  # weights sum to one (in bf16)
    assert torch.equal(
        PromptTuningAugmentation(blur_kernel=1)(video), video
    )  # prompt-tuning's default "blur" is a no-op


def test_augmentation_dict_parsing_refuses_what_is_random() -> None:
    defaults = {
        "random-horizontal-flip": {"p": 0.0},
        "random-vertical-flip": {"p": 0.0},
        "color-jitter": {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.0},
        "gaussian-blur": {"kernel-size": 1, "sigma": [1, 1]},
        "salt-and-pepper-noise": {"probability": 0.0},
        "cutout": {"p": 0.0, "scale": [0.02, 0.33], "ratio": [0.3, 3.3]},
    }
    assert PromptTuningAugmentation.from_config(defaults).is_identity
    assert PromptTuningAugmentation.from_config({**defaults, "random-vertical-flip": {"p": 1.0}}).vertical_flip
    random = [
        ({"random-horizontal-flip": {"p": 0.5}}, "p=0.5 is random"),
        ({"color-jitter": {"brightness": 0.1, "contrast": 0, "saturation": 0, "hue": 0}}, "color-jitter"),
        ({"gaussian-blur": {"kernel-size": 5, "sigma": [0.1, 2.0]}}, "drawn at random"),
        ({"salt-and-pepper-noise": {"probability": 0.05}}, "salt-and-pepper"),
        ({"cutout": {"p": 1.0}}, "cutout"),
        ({"random-rotation": {}}, "unknown augmentation"),
    ]
    for override, message in random:
        with pytest.raises(ValueError, match=message):
            PromptTuningAugmentation.from_config({**defaults, **override})


def test_spec_from_a_run_config_and_view_overrides() -> None:
    config = {
        "num-frames-temporal": 8,
        "num-temporal-views": 4,
        "num-spatial-views": 3,
        "space-between-frames": None,
        "dataset-config": {"remove-black-strips": False, "resized-cache-protocol": None},
    }
    spec = prompt_tuning_spec_from_config(config, 224, CLIP_MEAN, CLIP_STD)
    assert (spec.pipeline, spec.num_frames, spec.num_views, spec.spatial_views, spec.dtype) == (
        "prompt-tuning",
        8,
        4,
        3,
        "bfloat16",
    )
    assert spec.total_views == 12
    with pytest.raises(ValueError, match="space-between-frames"):
        prompt_tuning_spec_from_config({**config, "space-between-frames": 4}, 224, CLIP_MEAN, CLIP_STD)

    class Model:
        input_spec = spec

    assert model_input_spec(Model(), None, 1, spatial_views=1).total_views == 1  # what the explain stage asks for
    assert model_input_spec(Model(), None, 2).total_views == 6
    assert isinstance(tta_for(spec), PromptTuningTTA)
    assert isinstance(tta_for(InputSpec(num_frames=8, size=32)), TTA)
    with pytest.raises(ValueError, match="spatial_views"):
        InputSpec(num_frames=8, size=32, spatial_views=3)  # standard models take crops from TTA
    with pytest.raises(ValueError, match="pipeline"):
        InputSpec(num_frames=8, size=32, pipeline="seed")


def test_bad_and_missing_clips_are_error_items_of_the_right_shape(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video" * 100)
    rows = [Sample("bad.avi", bad, 0, "x"), Sample("gone.avi", tmp_path / "gone.avi", 1, "x")]
    spec = _spec_of(temporal_views=2, spatial_views=3)
    data = ClipDataset(rows, spec, return_frames=True, tta=PromptTuningTTA())
    items = [data[0], data[1]]
    for item in items:
        assert item["status"] == "error" and item["error"]
        assert item["video"].shape == (3, 6, 4, 3, 24, 24) and item["frames"].shape == (3, 6, 4, 24, 24, 3)
    batch = collate_clips(items)
    assert batch["video"].shape == (2, 3, 6, 4, 3, 24, 24) and batch["frame_indices"].shape == (2, 2, 4)
    assert bad.read_bytes() == b"not a video" * 100
    with pytest.raises(ValueError, match="PromptTuningTTA"):
        ClipDataset(rows, spec, tta=TTA())
    with pytest.raises(ValueError, match="TTA"):
        ClipDataset(rows, InputSpec(num_frames=4, size=24), tta=PromptTuningTTA())
    with pytest.raises(Exception, match="file not found"):
        decode_prompt_tuning_clip(tmp_path / "gone.avi", 4)


def test_black_strips_and_resize_protocols() -> None:
    """Prompt-tuning's dataset-config options: strip removal (dark rows above/below) and the cache resize protocols."""
    frames = torch.full((2, 3, 40, 30), 120, dtype=torch.uint8)
    frames[:, :, :6] = 3  # a dark band on top
    frames[:, :, -4:] = 10  # and at the bottom
    frames[1, :, 6, :] = 20  # a row that is bright in one frame only is kept (maximum over time)
    assert origin_frames.remove_black_strips(frames).shape == (2, 3, 30, 30)
    dark = torch.zeros((2, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(origin_frames.remove_black_strips(dark), dark)  # all dark: left alone

    wide = torch.randint(0, 256, (2, 3, 60, 100), dtype=torch.uint8)
    shapes = {
        p: tuple(origin_frames.resize_for_protocol(wide, p, 20).shape[-2:]) for p in origin_frames.RESIZE_PROTOCOLS
    }
    assert shapes == {
        "preserve-aspect-ratio": (20, 33),
        "interpolate-smallest-side": (20, 100),
        "interpolate-longest-side": (60, 20),
    }
    assert origin_frames.resize_for_protocol(wide, "preserve-aspect-ratio", 20).dtype == torch.uint8
    with pytest.raises(ValueError, match="resize_protocol"):
        origin_frames.resize_for_protocol(wide, "bicubic", 20)


def test_resize_protocol_runs_before_strip_removal(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in prompt-tuning, whose dataset resizes a clip before the transform removes its strips."""
    calls: list[str] = []
    monkeypatch.setattr(origin_frames, "resize_for_protocol", lambda f, p, s: calls.append("resize") or f)
    monkeypatch.setattr(origin_frames, "remove_black_strips", lambda f: calls.append("strips") or f)
    spec = _spec_of(remove_black_strips=True, resize_protocol="preserve-aspect-ratio")
    prompt_tuning_views(torch.zeros((4, 3, 30, 40), dtype=torch.uint8), spec)
    assert calls == ["resize", "strips"]


def test_extraction_of_a_prompt_tuning_pipeline_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """extract_predictions on a model whose spec says 'prompt-tuning': its views and, with use-augmentation, PromptTuningTTA.

    The demo's tiny model stands in for a prompt-tuning model (its spec swapped for
    a prompt-tuning one); expected logits are computed clip by clip from
    prompt_tuning_clip, augmentation by augmentation, outside the loader.
    """
    import pyarrow.parquet as pq

    from videoxai.demo.bundled import bundled_checkpoints_root
    from videoxai.demo.dataset import write_demo_dataset
    from videoxai.extract import run
    from videoxai.extract.predictions import load_predictions
    from videoxai.io import write_json
    from videoxai.models.checkpoints.resolve import load_resolved, resolve_model
    from videoxai.setup import model_split

    root = tmp_path / "demo"
    write_demo_dataset(root, n_train=8, n_test=8, seed=0, frames=20, size=48)
    resolved = resolve_model("video_coop/demo/tiny", bundled_checkpoints_root())
    write_json(tmp_path / "resolved.json", resolved)
    model = load_resolved(resolved).eval()
    spec = prompt_tuning_spec(
        model.input_spec.num_frames,
        model.input_spec.size,
        model.input_spec.mean,
        model.input_spec.std,
        temporal_views=2,
        spatial_views=3,
    )
    model.input_spec = spec
    monkeypatch.setattr(model_split, "load_resolved", lambda _: model)  # the shared setup loads the model
    dataset = {"name": "demo", "format": "ucf101", "root": str(root), "split-id": 1}
    out = tmp_path / "test+tta.parquet"
    run.extract_predictions(
        tmp_path / "resolved.json", dataset, out, options={"split": "test", "use-augmentation": True}, num_workers=0
    )

    meta = load_predictions(out).metadata
    assert meta["input_spec"]["pipeline"] == "prompt-tuning" and meta["input_spec"]["spatial_views"] == 3
    assert meta["tta"] == {"prompt-tuning": ["none", "random-horizontal-flip", "gaussian-blur"], "views": 3}
    rows = pq.read_table(out).to_pylist()
    assert rows and all(r["status"] == "ok" for r in rows)
    for row in rows[:2]:
        base, clip = prompt_tuning_clip(root / row["sample_id"], spec)
        assert row["frame_indices"] == [i for view in clip.indices for i in view]
        with torch.inference_mode():
            logits = torch.stack([model(aug(base).float()[None]) for aug in PROMPT_TUNING_TTA_SET]).mean(0)[0]
        np.testing.assert_allclose(np.asarray(row["logits"]), logits.numpy(), rtol=1e-4, atol=1e-4)
