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

import functools
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
    """Poisson photon noise: ``poisson(x * c) / c`` on intensities in [0, 1], clipped at 1.

    Drawn by inversion of each grey level's Poisson CDF (the counts at or above ``c`` all give 255), not by
    ``Generator.poisson`` (about 20x slower here): the same distribution, other numbers. A 16-bit uniform picks
    one of 4096 bins of the level's CDF table; the few values whose bin holds a CDF step get 53 more random bits
    and are placed exactly.
    """
    c = SHOT_NOISE[severity - 1]
    cdf, table = _shot_noise_tables(c)
    flat = frames.reshape(-1)
    u16 = rng.integers(0, 1 << 16, size=flat.size, dtype=np.uint16)
    index = (flat.astype(np.uint32) << _BINS_BITS) | (u16 >> (16 - _BINS_BITS))
    counts = table[index]
    ambiguous = np.flatnonzero(counts & _AMBIGUOUS)
    if ambiguous.size:
        level = flat[ambiguous].astype(np.intp)
        u = (u16[ambiguous] + rng.random(ambiguous.size)) / (1 << 16)
        k = (counts[ambiguous] & (_AMBIGUOUS - 1)).astype(np.intp)  # the count at the bin's left edge
        while True:  # k = the number of CDF values <= u: one step per CDF value in the bin (one, mostly)
            step = u >= cdf[level, k]
            if not step.any():
                break
            k += step
        counts[ambiguous] = k
    return _shot_noise_levels(c)[counts].reshape(frames.shape)


_BINS_BITS = 12
_AMBIGUOUS = 128  # flag bit of a table entry (counts stay below it: c <= 60)


@functools.cache
def _shot_noise_levels(c: int) -> np.ndarray:
    """Output grey level of each photon count 0 .. c (counts above c clip to 255)."""
    return _u8(np.clip(np.arange(c + 1) / float(c), 0, 1) * 255)


@functools.cache
def _shot_noise_tables(c: int) -> tuple[np.ndarray, np.ndarray]:
    """Per grey level: the Poisson CDF at counts 0 .. c-1 (then 2.0: count c stands for c and above), and per bin
    of ``2**_BINS_BITS`` equal bins of [0, 1) the count every uniform in it maps to, or ``_AMBIGUOUS``."""
    from scipy.stats import poisson

    lam = np.arange(256) / 255.0 * c
    cdf = np.full((256, c + 1), 2.0)
    cdf[:, :c] = poisson.cdf(np.arange(c)[None, :], lam[:, None])
    edges = np.arange((1 << _BINS_BITS) + 1) / (1 << _BINS_BITS)
    table = np.empty((256, 1 << _BINS_BITS), dtype=np.uint8)
    for level in range(256):
        low = np.searchsorted(cdf[level], edges[:-1], side="right")  # the count at a bin's left edge
        high = np.searchsorted(cdf[level], edges[1:], side="left")  # the count just below its right edge
        table[level] = low | np.where(low == high, 0, _AMBIGUOUS)
    return cdf, table.reshape(-1)


def contrast(frames: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """Each frame's deviation from its per-channel mean, scaled by ``c`` (a 256-entry table per frame and channel)."""
    c = CONTRAST[severity - 1]
    out = np.empty_like(frames)
    for i, frame in enumerate(frames):
        means = _channel_means(frame) / 255.0
        out[i] = _apply_tables(frame, (_LEVELS[:, None] - means) * c + means)
    return out


_LEVELS = np.arange(256) / 255.0


def _channel_means(frame: np.ndarray) -> np.ndarray:
    """Per-channel mean grey level of an (H, W, 3) uint8 frame (exact sums)."""
    import cv2

    return np.array(cv2.mean(np.ascontiguousarray(frame))[:3])


def _apply_tables(frame: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``frame`` through per-channel tables ``values`` (256, 3) of intensities in [0, 1], truncated to uint8."""
    import cv2

    table = np.ascontiguousarray(_u8(np.clip(values, 0, 1) * 255).reshape(256, 1, 3))
    return cv2.LUT(np.ascontiguousarray(frame), table)


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


def _hsv_adjust(frames: np.ndarray, value: Callable[[np.ndarray], np.ndarray], saturation) -> np.ndarray:
    """``frames`` through RGB -> HSV, ``value`` / ``saturation`` applied, HSV -> RGB, truncated to uint8.

    The same float64 operations as :func:`rgb_to_hsv` and :func:`hsv_to_rgb` (so the same grey levels), done once
    per pixel rather than once per channel and sector.
    """
    flat = frames.reshape(-1, 3)
    r, g, b = (_LEVELS[flat[:, k]] for k in range(3))
    top = np.maximum(np.maximum(flat[:, 0], flat[:, 1]), flat[:, 2])
    v = _LEVELS[top]
    delta = v - _LEVELS[np.minimum(np.minimum(flat[:, 0], flat[:, 1]), flat[:, 2])]
    grey = delta == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        s = delta / v
        s[top == 0] = 0.0
        d = np.where(grey, 1.0, delta)
        h = np.where(r == v, (g - b) / d, np.where(g == v, 2.0 + (b - r) / d, 4.0 + (r - g) / d))
    h /= 6.0
    h[h < 0] += 1.0  # (h / 6) % 1 for h / 6 in [-1/6, 5/6]
    h[grey] = 0.0
    v, s = value(v), saturation(s)
    h *= 6.0
    i = np.floor(h)
    f = h - i
    sector = i.astype(np.int8) % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    out = np.empty((len(flat), 3))
    for k, (top_in, q_in, t_in) in enumerate((((0, 5), 1, 4), ((1, 2), 3, 0), ((3, 4), 5, 2))):
        # channel k is the value in two sectors, q in one, t in one, p in the other two
        out[:, k] = np.where(
            (sector == top_in[0]) | (sector == top_in[1]),
            v,
            np.where(sector == q_in, q, np.where(sector == t_in, t, p)),
        )
    np.clip(out, 0, 1, out=out)
    out *= 255
    return _u8(out).reshape(frames.shape)


def brightness(frames: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """``c`` added to the HSV value channel."""
    c = BRIGHTNESS[severity - 1]
    return _hsv_adjust(frames, lambda v: np.clip(v + c, 0, 1), lambda s: s)


def saturate(frames: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    """HSV saturation scaled by ``a`` and raised by ``b`` (severities 1-2 desaturate, 3-5 oversaturate)."""
    a, b = SATURATE[severity - 1]
    return _hsv_adjust(frames, lambda v: v, lambda s: np.clip(s * a + b, 0, 1))


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
