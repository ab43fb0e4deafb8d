"""Yi et al. (2021)'s corruptions on real decoded clips, each against an independent computation of its definition."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from matplotlib.colors import hsv_to_rgb, rgb_to_hsv

from videoxai.data import corruptions as C
from videoxai.data import reencode as R
from videoxai.data.datasets import Sample, load_split
from videoxai.data.decode import decode_clip, read_frames
from videoxai.data.encode import write_lossless
from videoxai.data.loader import ClipDataset
from videoxai.data.sampling import linspace_indices
from videoxai.demo.dataset import write_demo_dataset
from videoxai.keys import SplitVariant, SplitVariantError
from videoxai.models.base import InputSpec


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    root = tmp_path_factory.mktemp("corrupt") / "ds"
    write_demo_dataset(root, n_train=8, n_test=8, seed=0, frames=40, size=96)
    return load_split("ucf101", root, "test")[1]


@pytest.fixture(scope="module")
def frames(samples: list[Sample]) -> np.ndarray:
    """Eight decoded frames (8, 96, 96, 3) of a real demo clip."""
    return decode_clip(samples[0].path, 8).frames[0]


@pytest.fixture(scope="module")
def known_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A lossless clip of 50 random frames at 25 fps (every frame known)."""
    data = np.random.default_rng(7).integers(0, 256, (50, 48, 64, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("known") / "clip.avi"
    write_lossless(path, data, fps=25)
    return path, data


def _rng() -> np.random.Generator:
    return C.clip_rng(3, "Class/v_Class_g01_c01.avi", "test", 1)


# ---------------------------------------------------------------- frame corruptions, against their definitions


@pytest.mark.parametrize("severity", C.SEVERITIES)
def test_contrast_scales_each_frames_deviation_from_its_channel_means(frames: np.ndarray, severity: int) -> None:
    c = [0.5, 0.4, 0.3, 0.2, 0.1][severity - 1]
    out = C.corrupt_frames(frames, "contrast", severity, _rng())
    for got, frame in zip(out, frames):
        x = frame.astype(np.float64) / 255
        mean = x.reshape(-1, 3).mean(axis=0)
        expected = np.floor(np.clip((x - mean) * c + mean, 0, 1) * 255).astype(np.uint8)
        assert np.array_equal(got, expected)
    assert out.std() < frames.std()


@pytest.mark.parametrize("severity", C.SEVERITIES)
def test_brightness_adds_to_hsv_value(frames: np.ndarray, severity: int) -> None:
    """Matplotlib's HSV conversion (scikit-image's definition) is the independent reference."""
    hsv = rgb_to_hsv(frames / 255.0)
    hsv[..., 2] = np.clip(hsv[..., 2] + [0.1, 0.2, 0.3, 0.4, 0.5][severity - 1], 0, 1)
    expected = (np.clip(hsv_to_rgb(hsv), 0, 1) * 255).astype(np.int64)
    got = C.corrupt_frames(frames, "brightness", severity, _rng()).astype(np.int64)
    assert np.abs(got - expected).max() <= 1  # float rounding at an integer boundary
    assert (got == expected).mean() > 0.99
    assert got.mean() > frames.mean()


@pytest.mark.parametrize("severity", C.SEVERITIES)
def test_saturate_scales_and_raises_hsv_saturation(frames: np.ndarray, severity: int) -> None:
    a, b = [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)][severity - 1]
    hsv = rgb_to_hsv(frames / 255.0)
    hsv[..., 1] = np.clip(hsv[..., 1] * a + b, 0, 1)
    expected = (np.clip(hsv_to_rgb(hsv), 0, 1) * 255).astype(np.int64)
    got = C.corrupt_frames(frames, "saturate", severity, _rng()).astype(np.int64)
    assert np.abs(got - expected).max() <= 1
    assert (got == expected).mean() > 0.99


def test_hsv_round_trip_of_every_grey_and_colour() -> None:
    rgb = np.random.default_rng(0).random((1000, 3))
    rgb[:10] = rgb[:10, :1]  # greys: hue 0, saturation 0
    assert np.allclose(C.rgb_to_hsv(rgb), rgb_to_hsv(rgb))
    assert np.allclose(C.hsv_to_rgb(C.rgb_to_hsv(rgb)), rgb)


@pytest.mark.parametrize("severity", C.SEVERITIES)
def test_shot_noise_is_poisson_counts_over_c(severity: int) -> None:
    """Each grey level's outputs are ``poisson(x c) / c`` (clipped at 1): their frequencies are SciPy's pmf."""
    from scipy.stats import poisson

    c = [60, 25, 12, 5, 3][severity - 1]
    levels = np.array([0, 1, 17, 128, 200, 255], np.uint8)
    grey = np.repeat(levels, 60_000).reshape(len(levels), 100, 200, 3)  # a frame per grey level
    out = C.corrupt_frames(grey, "shot_noise", severity, _rng())
    assert np.array_equal(out, C.corrupt_frames(grey, "shot_noise", severity, _rng()))  # the clip's generator
    outputs = (np.clip(np.arange(c + 1) / c, 0, 1) * 255).astype(np.uint8)  # count k -> grey level, k >= c: 255
    for level, frame in zip(levels, out):
        lam = level / 255.0 * c
        expected = np.append(poisson.pmf(np.arange(c), lam), poisson.sf(c - 1, lam))
        observed = np.array([(frame == o).mean() for o in outputs])
        assert np.isin(frame, outputs).all()
        sigma = np.sqrt(expected * (1 - expected) / frame.size)
        # five standard errors, plus three draws for counts whose probability is far below 1 / size
        assert np.all(np.abs(observed - expected) <= 5 * sigma + 3 / frame.size), (level, observed, expected)


def test_shot_noise_variance_is_the_poisson_variance() -> None:
    grey = np.full((4, 64, 64, 3), 40, np.uint8)  # dark: clipping at 1 is rare at every severity
    for severity, c in zip(C.SEVERITIES, C.SHOT_NOISE):
        x = C.corrupt_frames(grey, "shot_noise", severity, np.random.default_rng(severity)) / 255.0
        p = 40 / 255
        assert x.var() == pytest.approx(p / c, rel=0.1)  # Var(poisson(p c) / c) = p / c (clipping at 1 aside)


def test_fog_adds_one_layer_scaled_by_each_frames_maximum(frames: np.ndarray) -> None:
    layer = np.linspace(0, 2.0, 96 * 96).reshape(96, 96)
    out = C.fog_frames(frames, layer, 2.0)
    for got, frame in zip(out, frames):
        x = frame / 255.0
        m = x.max()
        assert np.array_equal(
            got, np.floor(np.clip((x + layer[..., None]) * m / (m + 2.0), 0, 1) * 255).astype(np.uint8)
        )


def test_fog_layer_is_a_normalised_fractal_shared_by_the_clip(frames: np.ndarray) -> None:
    plasma = C.plasma_fractal(128, 2.0, np.random.default_rng(0))
    assert plasma.shape == (128, 128) and plasma.min() == 0 and plasma.max() == 1
    # rough but continuous: neighbours are closer than random pairs
    assert np.abs(np.diff(plasma, axis=0)).mean() < 0.5 * np.abs(plasma - plasma[::-1, ::-1]).mean()
    strength = C.FOG[2][0]
    out = C.corrupt_frames(frames, "fog", 3, _rng())
    assert np.array_equal(out, C.corrupt_frames(frames, "fog", 3, _rng()))
    # the layer each frame implies, (out / 255) (m + s) / m - x, is the same in every frame (it does not move)
    x = frames / 255.0
    m = x.max(axis=(1, 2, 3), keepdims=True)
    implied = (out / 255.0) * (m + strength) / m - x
    unclipped = (out[0] < 255) & (out[1] < 255)
    tolerance = (m.max() + strength) / m.min() / 255 + 1e-9  # one grey level of truncation
    assert np.abs(implied[0] - implied[1])[unclipped].max() <= tolerance
    assert (out.astype(int) - out.mean(axis=(1, 2), keepdims=True)).std() < frames.std()
    with pytest.raises(C.CorruptionError, match="power-of-two"):
        C.plasma_fractal(100, 2.0, np.random.default_rng(0))


@pytest.mark.parametrize("severity", C.SEVERITIES)
def test_rain_draws_the_reference_number_of_drops_and_darkens(frames: np.ndarray, severity: int) -> None:
    per, length, darken = C.RAIN[severity - 1]
    drops, got_length = C.rain_drops((240, 320), severity, np.random.default_rng(0))
    assert len(drops) == 240 * 320 // per and got_length == round(length * 240 / 224)
    assert all(0 <= y < 240 - got_length for _, y in drops)
    image = frames[0]
    out = C.rain_frame(image, [], 10, darken)  # no drops: only the contrast reduction
    x = image / 255.0
    mean = x.reshape(-1, 3).mean(axis=0)
    assert np.array_equal(out, np.floor(np.clip((x - mean) * darken + mean, 0, 1) * 255).astype(np.uint8))
    rained = C.corrupt_frames(frames, "rain", severity, _rng())
    plain = np.stack([C.rain_frame(f, [], 10, darken) for f in frames]).astype(int)
    streaks = np.abs(rained.astype(int) - plain).max(axis=-1) > 10
    assert streaks[0].any() and (streaks[0] != streaks[1]).any()  # new drops on every frame


def test_rain_streaks_brighten_dark_pixels() -> None:
    dark = np.full((96, 96, 3), 20, np.uint8)
    out = C.rain_frame(dark, [(48, 10)], 30, 1.0)
    assert (
        out[25, 47:49].max() > 60
    )  # on the streak, blurred over 3 x 3 (slant -1: it leans one pixel left over its length)
    assert out[80, 10].max() <= 21  # far from it


# ---------------------------------------------------------------- video corruptions


@pytest.mark.parametrize("severity", [1, 5])
def test_motion_blur_is_the_mean_of_2c_consecutive_frames(known_clip, severity: int) -> None:
    path, data = known_clip
    c = C.MOTION_BLUR[severity - 1]
    with R.corrupted_copy(path, "motion_blur", severity, _rng()) as copy:
        got = read_frames(copy, list(range(50 - 2 * c)))
    for i in (0, 7, 50 - 2 * c - 1):
        j = i + c  # output frame i is the reference's frame c + i: the mean of frames j - c .. j + c - 1
        expected = np.floor(data[j - c : j + c].astype(np.float64).sum(axis=0) / (2 * c)).astype(np.uint8)
        assert np.array_equal(got[i], expected)


@pytest.mark.parametrize("severity", C.SEVERITIES)
def test_frame_rate_keeps_the_frames_shown_at_the_lower_rate(known_clip, severity: int) -> None:
    path, data = known_clip
    fps = C.FRAME_RATE[severity - 1]  # 20 .. 6 of the clip's 25
    with R.corrupted_copy(path, "frame_rate", severity, _rng()) as copy:
        with av.open(str(copy)) as container:
            assert Fraction(container.streams.video[0].average_rate) == fps
        got = np.stack([f.to_ndarray(format="rgb24") for f in av.open(str(copy)).decode(video=0)])
    assert len(got) == 50 * fps // 25  # two seconds
    for k in (0, 1, len(got) - 1):
        assert np.array_equal(got[k], data[int(k * 25 / fps)])


@pytest.mark.parametrize(
    "name,severity", [("motion_blur", 1), ("motion_blur", 3), ("motion_blur", 5), ("frame_rate", 1), ("frame_rate", 5)]
)
def test_retimed_decoding_equals_decoding_the_lossless_copy(samples, known_clip, name: str, severity: int) -> None:
    """What the loader decodes (no copy) is what decoding the corrupted copy gives: frames, indices, counts."""
    for path in (known_clip[0], samples[0].path):
        with R.corrupted_copy(path, name, severity, _rng()) as copy:
            expected = decode_clip(copy, 8, num_views=2, decoder="pyav")
            views, _ = linspace_indices(expected.total, 8, 1)  # prompt-tuning's sampling
            expected_linspace = read_frames(copy, views[0], decoder="pyav")
        got = R.decode_retimed_clip(path, name, severity, 8, num_views=2, decoder="pyav")
        assert got.indices == expected.indices and (got.total, got.padded) == (expected.total, expected.padded)
        assert np.array_equal(got.frames, expected.frames)
        frames, got_views, _, total = R.retimed_frames(
            path, name, severity, lambda n: linspace_indices(n, 8, 1), decoder="pyav"
        )
        assert got_views == views and total == expected.total
        assert np.array_equal(frames[0], expected_linspace)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a.astype(float) - b.astype(float)) ** 2)))


@pytest.mark.parametrize("name,codec", [("h264_crf", "h264"), ("h265_crf", "hevc")])
def test_compression_loses_more_at_each_severity(samples: list[Sample], name: str, codec: str) -> None:
    clean = decode_clip(samples[0].path, 8).frames
    psnr = []
    for severity in C.SEVERITIES:
        with R.corrupted_copy(samples[0].path, name, severity, _rng()) as copy:
            with av.open(str(copy)) as container:
                assert container.streams.video[0].codec_context.name == codec
            psnr.append(_psnr(decode_clip(copy, 8).frames, clean))
    assert all(a > b for a, b in zip(psnr, psnr[1:])), psnr
    assert psnr[0] > 30 > psnr[-1]


@pytest.mark.parametrize("name", ["h264_abr", "h265_abr"])
def test_average_bit_rate_is_the_sources_over_the_divisor(samples: list[Sample], name: str) -> None:
    with av.open(str(samples[0].path)) as src:
        source_rate = src.bit_rate
    sizes = []
    for severity in (1, 5):
        with R.corrupted_copy(samples[0].path, name, severity, _rng()) as copy:
            payload = len(_payload(copy)) * 8 / (40 / 25)  # bits per second of the 40 frames at 25 fps
            assert payload <= 1.3 * source_rate / C.ABR_DIVISOR[severity - 1]
            sizes.append(copy.stat().st_size)
            assert decode_clip(copy, 8).frames.shape == (1, 8, 96, 96, 3)
    assert sizes[1] < sizes[0]


def _payload(path: Path) -> bytes:
    with av.open(str(path)) as container:
        return b"".join(bytes(p) for p in container.demux(video=0) if p.size)


def test_bit_errors_damage_one_byte_in_c(samples: list[Sample]) -> None:
    clean = np.frombuffer(_payload(samples[0].path), np.uint8)
    for severity in (1, 5):
        with R.corrupted_copy(samples[0].path, "bit_error", severity, _rng()) as copy:
            damaged = np.frombuffer(_payload(copy), np.uint8)
        assert damaged.size == clean.size
        changed = int((damaged != clean).sum())
        expected = clean.size / C.BIT_ERROR[severity - 1] * 255 / 256  # a random byte may equal the old one
        assert abs(changed - expected) < 5 * np.sqrt(expected) + 2, (changed, expected)


def test_a_clip_too_short_for_the_blur_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "short.avi"
    write_lossless(path, np.zeros((10, 16, 16, 3), np.uint8))
    with pytest.raises(C.CorruptionError, match="needs more than 22 frames"):
        with R.corrupted_copy(path, "motion_blur", 5, _rng()):
            pass
    with pytest.raises(C.CorruptionError, match="needs more than 22 frames"):
        R.decode_retimed_clip(path, "motion_blur", 5, 8)


# ---------------------------------------------------------------- while decoding: deterministic, seeded


SPEC = InputSpec(num_frames=8, size=64)


@pytest.mark.parametrize("name", ["shot_noise", "bit_error", "motion_blur"])
def test_loader_corrupts_each_clip_the_same_way_for_a_seed(samples: list[Sample], name: str) -> None:
    clean = ClipDataset(samples[:2], SPEC)
    a = ClipDataset(samples[:2], SPEC, corruption=(name, 4), corruption_seed=1)
    b = ClipDataset(samples[:2], SPEC, corruption=(name, 4), corruption_seed=1)
    for i in range(2):
        assert a[i]["status"] == "ok"
        assert np.array_equal(a[i]["video"].numpy(), b[i]["video"].numpy())
        assert not np.array_equal(a[i]["video"].numpy(), clean[i]["video"].numpy())
    if name != "motion_blur":  # drawn at random
        other = ClipDataset(samples[:1], SPEC, corruption=(name, 4), corruption_seed=2)
        assert not np.array_equal(a[0]["video"].numpy(), other[0]["video"].numpy())


def test_loader_applies_the_frame_corruption_to_the_decoded_frames(samples: list[Sample]) -> None:
    spec = InputSpec(num_frames=8, size=96)  # no resize: the model's frames are the corrupted decoded frames
    item = ClipDataset(samples[:1], spec, return_frames=True, corruption=("contrast", 2), corruption_seed=0)[0]
    decoded = decode_clip(samples[0].path, 8).frames[0]
    expected = C.corrupt_frames(decoded, "contrast", 2, _rng())
    assert np.array_equal(item["frames"].numpy(), expected)


def test_loader_refuses_unknown_corruptions_at_once(samples: list[Sample]) -> None:
    with pytest.raises(C.CorruptionError, match="unknown corruption 'snow'"):
        ClipDataset(samples, SPEC, corruption=("snow", 1))
    with pytest.raises(C.CorruptionError, match="severity must be one of"):
        ClipDataset(samples, SPEC, corruption=("fog", 6))


def test_split_variant_names_the_corruption_last() -> None:
    v = SplitVariant.parse("test+tta+v2+s3+h264_crf-4")
    assert (v.corruption, v.severity, v.temporal_views, v.augmentation) == ("h264_crf", 4, 2, True)
    assert str(v) == "test+tta+v2+s3+h264_crf-4"
    assert v.options()["corruption"] == {"name": "h264_crf", "severity": 4}
    assert "corruption" not in SplitVariant.parse("test+v2").options()
    assert str(v.with_split("val").with_corruption(None, None)) == "val+tta+v2+s3"
    for bad in ("test+fog-6", "test+fog", "test+fog-3+v2"):
        with pytest.raises(SplitVariantError):
            SplitVariant.parse(bad)
