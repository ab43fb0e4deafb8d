"""Yi et al. (2021)'s video corruptions at severities 1-5, applied to decoded frames (no corrupted copy on disk).

The definitions and parameters follow "Benchmarking the robustness of
spatial-temporal models" (Newbeeyoung/Video-Corruption-Robustness, its
Mini-Kinetics-C script), written here anew on uint8 ``(N, H, W, 3)`` RGB arrays.
Two kinds:

- **frame** corruptions (shot noise, rain, contrast, brightness, saturation,
  fog) change each decoded frame and are applied to the frames a model
  samples, after decoding;
- **video** corruptions (motion blur, frame-rate reduction, H.264/H.265 at
  constant rate factor or average bit rate, bit errors) need the whole
  stream; :mod:`videoxai.data.reencode` writes a corrupted temporary copy that
  the usual decoder then reads.

Every random draw comes from the generator :func:`clip_rng` makes from the
run's seed, the clip's id and the corruption, so a clip is corrupted the same
way in every run and every worker. Where this differs from the reference (it
works on 224-pixel crops, this on the native frame; its fog crops to 224 pixels)
is in ``docs/shift.md``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SEVERITIES = (1, 2, 3, 4, 5)

# severity parameters, the reference's Mini-Kinetics-C values (index = severity - 1)
SHOT_NOISE = (60, 25, 12, 5, 3)  # photons per unit intensity
CONTRAST = (0.5, 0.4, 0.3, 0.2, 0.1)  # scale of the deviation from each channel's mean
BRIGHTNESS = (0.1, 0.2, 0.3, 0.4, 0.5)  # added to HSV value
SATURATE = ((0.3, 0.0), (0.1, 0.0), (2.0, 0.0), (5.0, 0.1), (20.0, 0.2))  # HSV saturation * a + b
RAIN = ((770, 10, 0.8), (770, 30, 0.8), (770, 60, 0.7), (500, 60, 0.6), (400, 80, 0.5))  # area/drop, length, darken
FOG = ((1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))  # fog strength, fractal decay
MOTION_BLUR = (3, 5, 7, 9, 11)  # half-window: each output frame is the mean of 2c consecutive frames
FRAME_RATE = (20, 16, 12, 9, 6)  # frames per second kept
H264_CRF = (23, 30, 37, 44, 51)
H265_CRF = (27, 33, 39, 45, 51)
ABR_DIVISOR = (2, 4, 8, 16, 32)  # the source's bit rate divided by this
BIT_ERROR = (100000, 50000, 30000, 20000, 10000)  # one damaged byte in this many


REFERENCE_SIZE = 224  # the reference corrupts 224 x 224 centre crops


class CorruptionError(ValueError):
    pass


def _u8(x: np.ndarray) -> np.ndarray:
    """Float pixel values in [0, 255] to uint8 by truncation, as the reference's ``np.array(..., dtype=np.uint8)``."""
    return np.asarray(x).astype(np.uint8)


def shot_noise(frames: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Poisson photon noise: ``poisson(x * c) / c`` on intensities in [0, 1]."""
    c = SHOT_NOISE[severity - 1]
    x = frames / 255.0
    return _u8(np.clip(rng.poisson(x * c) / float(c), 0, 1) * 255)


def contrast(frames: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Each frame's deviation from its per-channel mean, scaled by ``c``."""
    c = CONTRAST[severity - 1]
    x = frames / 255.0
    means = x.mean(axis=(1, 2), keepdims=True)
    return _u8(np.clip((x - means) * c + means, 0, 1) * 255)


def rgb_to_hsv(x: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] -> HSV in [0, 1] (hue 0 where a pixel is grey), as scikit-image's ``rgb2hsv``."""
    v = x.max(axis=-1)
    delta = v - x.min(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(v > 0, delta / np.where(v > 0, v, 1), 0.0)
        d = np.where(delta > 0, delta, 1.0)
        r, g, b = x[..., 0], x[..., 1], x[..., 2]
        h = np.where(r == v, (g - b) / d, np.where(g == v, 2.0 + (b - r) / d, 4.0 + (r - g) / d))
    h = np.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    return np.stack([h, s, v], axis=-1)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """HSV in [0, 1] -> RGB in [0, 1], the inverse of :func:`rgb_to_hsv`."""
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    i = i.astype(np.int64) % 6
    choices = [np.stack(c, axis=-1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))]
    out = np.zeros_like(hsv)
    for k, c in enumerate(choices):
        out = np.where((i == k)[..., None], c, out)
    return out


def brightness(frames: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """``c`` added to the HSV value channel."""
    hsv = rgb_to_hsv(frames / 255.0)
    hsv[..., 2] = np.clip(hsv[..., 2] + BRIGHTNESS[severity - 1], 0, 1)
    return _u8(np.clip(hsv_to_rgb(hsv), 0, 1) * 255)


def saturate(frames: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """HSV saturation scaled by ``a`` and raised by ``b`` (severities 1-2 desaturate, 3-5 oversaturate)."""
    a, b = SATURATE[severity - 1]
    hsv = rgb_to_hsv(frames / 255.0)
    hsv[..., 1] = np.clip(hsv[..., 1] * a + b, 0, 1)
    return _u8(np.clip(hsv_to_rgb(hsv), 0, 1) * 255)


def rain_drops(shape: tuple[int, int], severity: int, rng: np.random.Generator) -> tuple[list[tuple[int, int]], int]:
    """Drop start points (x, y) and the drop length: one drop per ``area // k`` pixels, a random slant for positions.

    The reference draws drops on 224-pixel crops; the length here is scaled by the frame's shorter side / 224,
    so a severity looks alike at any resolution (the same at 224 pixels).
    """
    per, length, _ = RAIN[severity - 1]
    h, w = shape
    length = max(1, round(length * min(h, w) / REFERENCE_SIZE))
    slant = int(rng.integers(-10, 10))
    lo, hi = (slant, w) if slant < 0 else (0, w - slant)
    n = (h * w) // per
    if h - length <= 0:
        raise CorruptionError(
            f"rain severity {severity} draws {length}-pixel drops: frames need more than {length} rows"
        )
    xs = rng.integers(lo, hi, size=n)
    ys = rng.integers(0, h - length, size=n)
    return list(zip(xs.tolist(), ys.tolist())), length


def rain_frame(image: np.ndarray, drops: list[tuple[int, int]], length: int, darken: float) -> np.ndarray:
    """One frame under rain: grey streaks (slant -1, as the reference draws them), blurred, then contrast reduced."""
    import cv2

    mask = np.zeros(image.shape[:2])
    for x, y in drops:
        cv2.line(mask, (x, y), (x - 1, y + length), (220, 220, 220), 1)
    mask = np.stack([mask] * 3, axis=2)
    lit = image + np.array(mask * (1 - image / 255.0) * (1 - np.mean(image) / 255.0), dtype=np.uint8)
    blurred = cv2.blur(lit, (3, 3))
    out = np.array(blurred * mask / 255.0 + image * (1 - mask / 255.0)) / 255.0
    means = out.mean(axis=(0, 1), keepdims=True)
    return _u8(np.clip((out - means) * darken + means, 0, 1) * 255)


def rain(frames: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """New drops on every frame (the reference corrupts each frame on its own)."""
    darken = RAIN[severity - 1][2]
    out = np.empty_like(frames)
    for i, image in enumerate(frames):
        drops, length = rain_drops(image.shape[:2], severity, rng)
        out[i] = rain_frame(image, drops, length, darken)
    return out


def plasma_fractal(mapsize: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """A diamond-square height map in [0, 1] of side ``mapsize`` (a power of two): the fog layer."""
    if mapsize & (mapsize - 1):
        raise CorruptionError(f"plasma_fractal needs a power-of-two mapsize, got {mapsize}")
    grid = np.zeros((mapsize, mapsize))
    step, wibble = mapsize, 100.0

    def wibbled(a: np.ndarray) -> np.ndarray:
        return a / 4 + wibble * rng.uniform(-wibble, wibble, a.shape)

    while step >= 2:
        half = step // 2
        corners = grid[0:mapsize:step, 0:mapsize:step]
        square = corners + np.roll(corners, -1, axis=0)
        square += np.roll(square, -1, axis=1)
        grid[half:mapsize:step, half:mapsize:step] = wibbled(square)
        centres = grid[half:mapsize:step, half:mapsize:step]
        corners = grid[0:mapsize:step, 0:mapsize:step]
        left = centres + np.roll(centres, 1, axis=0) + corners + np.roll(corners, -1, axis=1)
        grid[0:mapsize:step, half:mapsize:step] = wibbled(left)
        top = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=0)
        grid[half:mapsize:step, 0:mapsize:step] = wibbled(top)
        step //= 2
        wibble /= decay
    grid -= grid.min()
    return grid / grid.max()


def fog_frames(frames: np.ndarray, layer: np.ndarray, strength: float) -> np.ndarray:
    """Add one fog layer (H, W) to every frame, scaled so each frame keeps its brightest value's share."""
    x = frames / 255.0
    max_val = x.max(axis=(1, 2, 3), keepdims=True)
    x = x + layer[None, :, :, None]
    return _u8(np.clip(x * max_val / (max_val + strength), 0, 1) * 255)


def fog(frames: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """One fog layer per clip (it does not move), ``c0 * plasma`` cut to the frame from the next power of two."""
    strength, decay = FOG[severity - 1]
    h, w = frames.shape[1:3]
    size = 1 << max(1, (max(h, w) - 1).bit_length())
    layer = strength * plasma_fractal(size, decay, rng)[:h, :w]
    return fog_frames(frames, layer, strength)


@dataclass(frozen=True)
class Corruption:
    """A named corruption: ``frame`` kind (a function of the decoded frames) or ``video`` kind (re-encoded)."""

    name: str
    kind: str  # "frame" | "video"
    apply: Callable[[np.ndarray, int, np.random.Generator], np.ndarray] | None = None


FRAME_CORRUPTIONS: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    "shot_noise": shot_noise,
    "rain": rain,
    "contrast": contrast,
    "brightness": brightness,
    "saturate": saturate,
    "fog": fog,
}
VIDEO_CORRUPTIONS = ("motion_blur", "frame_rate", "h264_crf", "h264_abr", "h265_crf", "h265_abr", "bit_error")
CORRUPTIONS: dict[str, Corruption] = {
    **{n: Corruption(n, "frame", f) for n, f in FRAME_CORRUPTIONS.items()},
    **{n: Corruption(n, "video") for n in VIDEO_CORRUPTIONS},
}


def get(name: str) -> Corruption:
    """The corruption called ``name``; an unknown name is an error listing the known ones."""
    try:
        return CORRUPTIONS[name]
    except KeyError:
        raise CorruptionError(f"unknown corruption {name!r}: one of {', '.join(CORRUPTIONS)}") from None


def check_severity(severity: int) -> int:
    if isinstance(severity, bool) or severity not in SEVERITIES:
        raise CorruptionError(f"corruption severity must be one of {list(SEVERITIES)}, got {severity!r}")
    return int(severity)


def clip_rng(seed: int, sample_id: str, name: str, severity: int) -> np.random.Generator:
    """The clip's generator: the same seed, clip, corruption and severity draw the same numbers everywhere."""
    key = [int(seed) & 0xFFFFFFFF, zlib.crc32(sample_id.encode()), zlib.crc32(name.encode()), int(severity)]
    return np.random.default_rng(key)


def corrupt_frames(frames: np.ndarray, name: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """A frame corruption on uint8 ``(..., H, W, 3)`` frames (any leading axes: views, time)."""
    c = get(name)
    if c.apply is None:
        raise CorruptionError(f"{name} is a video corruption: it re-encodes the file (videoxai.data.reencode)")
    check_severity(severity)
    flat = frames.reshape(-1, *frames.shape[-3:])
    return c.apply(flat, severity, rng).reshape(frames.shape)
