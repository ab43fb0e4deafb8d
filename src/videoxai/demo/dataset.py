"""The embedded demo: a synthetic action dataset in UCF101's on-disk layout.

Each clip shows one object on a cluttered, low-contrast textured background
doing one of eight actions. The evidence for the class lies inside the
object's mask, which is stored beside every clip, so explanations can be
scored against ground truth.

Design facts (from a prototype that trained tiny ViTs to well above chance):

* ``MoveLeft``, ``MoveUp`` and ``Shrink`` are exact time reversals of
  ``MoveRight``, ``MoveDown`` and ``Grow`` (same random draws, frames
  reversed), so a model that ignores frame order is capped at 5/8 = 62.5 %.
* The background is a smooth texture of low contrast plus per-frame noise;
  half the clips carry a static distractor shape. High-contrast texture or
  faster motion kept tiny ViTs at chance.
* Motion is defined over the whole clip: 7-14 px of travel (at size 64,
  scaled with ``size``), so the 8 frames sampled at segment centres move
  1-2 px each, whatever the stored length. The default stores 16 frames.
* Videos are stored losslessly (FFV-HuffYUV, planar RGB, in .avi, or H.264 RGB with crf 0 in
  .mp4; :data:`videoxai.data.encode.LOSSLESS`): decoded frames equal generated frames bit for bit,
  so the masks align exactly with what the model sees. (yuv420p would blur small,
  low-contrast objects: its chroma is half resolution.)

Layout under ``root`` (UCF101's, split 1 only)::

    classInd.txt                        "1 MoveRight" ...
    trainlist01.txt                     "MoveRight/v_MoveRight_g08_c01.avi 1"
    testlist01.txt                      "MoveRight/v_MoveRight_g01_c01.avi"
    MoveRight/v_MoveRight_g08_c01.avi   the clip
    MoveRight/v_MoveRight_g08_c01.mask.npz   bool (T, H, W) object mask, key "mask" (videoxai.data.masks)
    puppet_mask/MoveRight/v_MoveRight_g08_c01/puppet_mask.mat   the same mask as J-HMDB stores
                                        its annotations ("part_mask", uint8 (H, W, T)), so the demo
                                        is scored through the real-annotation path too
    DONE.json                           counts and parameters, written last

Test clips use groups 1-7 and train clips groups 8-25, as UCF101 does.
The dataset is built in a temporary sibling folder and renamed into place,
so a killed run never leaves a folder that looks complete.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videoxai.data.annotations.jhmdb import write_puppet_mask
from videoxai.data.encode import LOSSLESS, write_lossless
from videoxai.data.masks import write_mask
from videoxai.io import make_temp_dir, read_json, write_json, write_text

DEMO_CLASSES: list[str] = [
    "MoveRight",
    "MoveLeft",
    "MoveDown",
    "MoveUp",
    "Grow",
    "Shrink",
    "Rotate",
    "Blink",
]

# class -> (base action, reversed in time)
_ACTIONS: list[tuple[str, bool]] = [
    ("right", False),
    ("right", True),
    ("down", False),
    ("down", True),
    ("grow", False),
    ("grow", True),
    ("rotate", False),
    ("blink", False),
]

TEST_GROUPS = range(1, 8)
TRAIN_GROUPS = range(8, 26)
DONE_FILE = "DONE.json"
FORMAT_VERSION = 2  # 2: J-HMDB-style puppet masks beside the .mask.npz files
PUPPET_MASKS = "puppet_mask"

_SHAPES = ("ellipse", "rectangle", "triangle")


# --------------------------------------------------------------------------- clip synthesis


@functools.lru_cache(maxsize=32)
def _interp_matrix(n: int, size: int) -> np.ndarray:
    """(size, n) bilinear interpolation weights from an n-point grid to ``size`` pixels."""
    pos = (np.arange(size) + 0.5) * n / size - 0.5
    pos = np.clip(pos, 0, n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = pos - lo
    m = np.zeros((size, n), np.float32)
    m[np.arange(size), lo] += 1 - w
    m[np.arange(size), hi] += w
    return m


def _smooth_noise(rng: np.random.Generator, n: int, size: int, amplitude: float) -> np.ndarray:
    """(size, size, 3) smooth texture: an n x n random grid, bilinearly upsampled."""
    grid = rng.standard_normal((3, n, n)).astype(np.float32) * amplitude
    m = _interp_matrix(n, size)
    return np.ascontiguousarray((m @ grid @ m.T).transpose(1, 2, 0))


def _distinct_colour(rng: np.random.Generator, avoid: list[np.ndarray], min_diff: float) -> np.ndarray:
    """A colour whose mean absolute channel difference to each of ``avoid`` is at least ``min_diff``."""
    for _ in range(100):
        colour = rng.uniform(0, 255, 3).astype(np.float32)
        if all(np.abs(colour - a).mean() >= min_diff for a in avoid):
            return colour
    # extremely unlikely: fall back to the inverse of the first colour
    return (255.0 - avoid[0]).astype(np.float32)


def _triangle_edges() -> tuple[np.ndarray, np.ndarray]:
    """Outward normals and offsets of a unit triangle pointing along +x (in units of the radius)."""
    verts = np.array([[1.0, 0.0], [-0.6, 1.0], [-0.6, -1.0]])
    normals, offsets = [], []
    for i in range(3):
        a, b = verts[i], verts[(i + 1) % 3]
        edge = b - a
        nrm = np.array([edge[1], -edge[0]])
        nrm /= np.linalg.norm(nrm)
        if nrm @ (a - verts.mean(0)) < 0:
            nrm = -nrm
        normals.append(nrm)
        offsets.append(nrm @ a)
    return np.array(normals, np.float32), np.array(offsets, np.float32)


_TRI_N, _TRI_D = _triangle_edges()


@dataclass
class _Shape:
    kind: str
    aspect: float  # minor/major semi-axis ratio (< 1 so that rotation is visible)


def _sdf(shape: _Shape, xx: np.ndarray, yy: np.ndarray, cx, cy, radius, angle) -> np.ndarray:
    """Approximate signed distance (pixels, negative inside) to the shape, per frame.

    ``cx, cy, radius, angle`` are (T,) arrays; the result is (T, H, W).
    """
    cx, cy, radius, angle = (np.asarray(v, np.float32)[:, None, None] for v in (cx, cy, radius, angle))
    dx, dy = xx[None] - cx, yy[None] - cy
    cos, sin = np.cos(angle), np.sin(angle)
    u = (dx * cos + dy * sin) / radius  # local coordinates in units of the radius
    v = (-dx * sin + dy * cos) / radius
    if shape.kind == "ellipse":
        d = (np.sqrt(u * u + (v / shape.aspect) ** 2) - 1.0) * shape.aspect
    elif shape.kind == "rectangle":
        d = np.maximum(np.abs(u) - 1.0, np.abs(v) - shape.aspect)
    else:  # triangle, squashed across by ``aspect``
        vv = v / shape.aspect
        d = _TRI_N[0, 0] * u + _TRI_N[0, 1] * vv - _TRI_D[0]
        for n, o in zip(_TRI_N[1:], _TRI_D[1:], strict=True):
            np.maximum(d, n[0] * u + n[1] * vv - o, out=d)
        d *= shape.aspect
    return d * radius


def _coverage(sdf: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from a signed distance in pixels."""
    return np.clip(0.5 - sdf, 0.0, 1.0)


def make_clip(class_index: int, rng: np.random.Generator, num_frames: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic clip of class ``DEMO_CLASSES[class_index]``.

    Returns ``frames`` uint8 (T, H, W, 3) and ``mask`` bool (T, H, W), the
    object's pixels per frame (empty where a blinking object is hidden).
    Deterministic given ``rng``'s state; the reversed classes consume the
    same draws as their forward class, so ``make_clip(1, g)`` equals
    ``make_clip(0, g')[::-1]`` for equally seeded ``g``, ``g'``.
    """
    if not 0 <= class_index < len(DEMO_CLASSES):
        raise ValueError(f"class_index must be in [0, {len(DEMO_CLASSES)}), got {class_index}")
    if num_frames < 2 or size < 32:
        raise ValueError(f"need num_frames >= 2 and size >= 32, got {num_frames}, {size}")
    action, reverse = _ACTIONS[class_index]
    s = size / 64.0
    t = np.linspace(0.0, 1.0, num_frames, dtype=np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5

    # background: base colour, two scales of smooth low-contrast texture
    bg_colour = rng.uniform(70, 180, 3).astype(np.float32)
    background = bg_colour + _smooth_noise(rng, 5, size, 7.0) + _smooth_noise(rng, 12, size, 4.0)

    # the object: shape, colour, fixed orientation, and the per-frame trajectory
    shape = _Shape(kind=_SHAPES[rng.integers(len(_SHAPES))], aspect=float(rng.uniform(0.5, 0.75)))
    colour = _distinct_colour(rng, [bg_colour], 60.0)
    angle0 = float(rng.uniform(0, 2 * np.pi))
    radius = np.full(num_frames, rng.uniform(7.0, 10.0) * s, np.float32)
    angle = np.full(num_frames, angle0, np.float32)
    visible = np.ones(num_frames, bool)
    margin = 2.0 * s
    if action in ("right", "down"):
        travel = rng.uniform(7.0, 14.0) * s
        r = float(radius[0])
        start = rng.uniform(r + margin, size - r - margin - travel)
        across = rng.uniform(r + margin, size - r - margin)
        along = start + travel * t
        cx, cy = (along, np.full_like(t, across)) if action == "right" else (np.full_like(t, across), along)
    else:
        if action == "grow":
            r0 = rng.uniform(5.0, 7.0) * s
            radius = (r0 + rng.uniform(6.0, 9.0) * s * t).astype(np.float32)
        elif action == "rotate":
            turn = rng.uniform(np.radians(70), np.radians(120)) * rng.choice([-1.0, 1.0])
            angle = (angle0 + turn * t).astype(np.float32)
        else:  # blink: on/off blocks of 1-2 sampled-frame lengths (8 sampled frames span 7 units)
            block = float(rng.integers(1, 3))
            phase = rng.uniform(0, 2 * block)
            visible = (np.floor((t * 7.0 + phase) / block) % 2) == 0
            if visible.all() or not visible.any():
                visible[num_frames // 2 :] = ~visible[0]
        r = float(radius.max())
        cx = np.full_like(t, rng.uniform(r + margin, size - r - margin))
        cy = np.full_like(t, rng.uniform(r + margin, size - r - margin))

    sdf = _sdf(shape, xx, yy, cx, cy, radius, angle)
    cover = _coverage(sdf) * visible[:, None, None]
    mask = (sdf < 0) & visible[:, None, None]

    # an optional static distractor, kept clear of the object's whole path, baked into the background
    if rng.random() < 0.5:
        d_shape = _Shape(kind=_SHAPES[rng.integers(len(_SHAPES))], aspect=float(rng.uniform(0.5, 1.0)))
        d_colour = _distinct_colour(rng, [bg_colour, colour], 45.0)
        d_radius = rng.uniform(5.0, 8.0) * s
        d_angle = rng.uniform(0, 2 * np.pi)
        clearance = float(radius.max()) + d_radius + 3.0 * s
        for _ in range(30):
            dx_, dy_ = rng.uniform(d_radius + 1, size - d_radius - 1, 2)
            if np.min(np.hypot(cx - dx_, cy - dy_)) >= clearance:
                one = np.ones(1, np.float32)
                d_cover = _coverage(_sdf(d_shape, xx, yy, dx_ * one, dy_ * one, d_radius * one, d_angle * one))[0]
                background += (d_colour - background) * d_cover[:, :, None]
                break
    # composite the object, add per-frame noise (uniform integers in [-5, 5], std ~3.2)
    image = np.empty((num_frames, size, size, 3), np.float32)
    np.multiply(cover[..., None], (colour - background)[None], out=image)
    image += background
    image += rng.integers(-5, 6, image.shape, dtype=np.int8)
    np.rint(image, out=image)
    np.clip(image, 0, 255, out=image)
    frames = image.astype(np.uint8)
    if reverse:
        frames, mask = frames[::-1].copy(), mask[::-1].copy()
    return frames, mask


# --------------------------------------------------------------------------- files


def puppet_mask_path(root: str | os.PathLike[str], rel: str) -> Path:
    """Where the J-HMDB-style annotation of clip ``rel`` lives: ``{root}/puppet_mask/{Class}/{stem}/puppet_mask.mat``."""
    from videoxai.data.annotations.jhmdb import MASK_FILE

    return Path(root) / PUPPET_MASKS / Path(rel).with_suffix("") / MASK_FILE


def clip_name(class_name: str, group: int, clip: int, container: str) -> str:
    """UCF101's relative path of a clip: ``{Class}/v_{Class}_g{GG}_c{CC}.{ext}``."""
    return f"{class_name}/v_{class_name}_g{group:02d}_c{clip:02d}.{container}"


def _plan(n: int, groups: range) -> list[tuple[int, int, int]]:
    """(class, group, clip number) for ``n`` clips spread evenly over classes and groups."""
    k = len(DEMO_CLASSES)
    plan = []
    for c in range(k):
        count = n // k + (c < n % k)
        for i in range(count):
            clip = i // len(groups) + 1
            if clip > 99:
                raise ValueError(f"too many clips per class for {len(groups)} groups: at most {99 * len(groups)}")
            plan.append((c, groups[i % len(groups)], clip))
    return plan


def _clip_seed(seed: int, split: str, class_index: int, group: int, clip: int) -> np.random.Generator:
    # each clip has its own stream: independent of generation order, so parallel builds agree
    return np.random.default_rng([seed, 0 if split == "train" else 1, class_index, group, clip])


def _params(n_train: int, n_test: int, seed: int, frames: int, size: int, container: str, fps: int) -> dict[str, Any]:
    codec = LOSSLESS[container]
    return {
        "format_version": FORMAT_VERSION,
        "n_train": n_train,
        "n_test": n_test,
        "seed": seed,
        "frames": frames,
        "size": size,
        "container": container,
        "codec": codec.name,
        "pix_fmt": codec.pix_fmt,
        "fps": fps,
        "classes": list(DEMO_CLASSES),
        "train_groups": [TRAIN_GROUPS.start, TRAIN_GROUPS.stop - 1],
        "test_groups": [TEST_GROUPS.start, TEST_GROUPS.stop - 1],
    }


def is_complete(root: str | os.PathLike[str]) -> bool:
    """True when ``root`` holds a finished demo dataset (its ``DONE.json`` exists)."""
    return (Path(root) / DONE_FILE).is_file()


def write_demo_dataset(
    root: str | os.PathLike[str],
    n_train: int = 3000,
    n_test: int = 400,
    seed: int = 0,
    frames: int = 16,
    size: int = 64,
    container: str = "avi",
    fps: int = 25,
    overwrite: bool = False,
    workers: int = 1,
) -> dict[str, Any]:
    """Generate the demo dataset under ``root`` and return its summary.

    Idempotent: a finished dataset with the same parameters is left alone
    (its summary is returned). The clips are written into a temporary
    sibling folder that is renamed to ``root`` only after ``DONE.json``;
    an existing different dataset is replaced only with ``overwrite=True``.
    ``workers`` > 1 generates and encodes clips in that many processes (the files are the same).
    """
    if container not in LOSSLESS:
        raise ValueError(f"container must be one of {sorted(LOSSLESS)}, got {container!r}")
    if n_train < len(DEMO_CLASSES) or n_test < len(DEMO_CLASSES):
        raise ValueError(f"need at least one clip per class per split ({len(DEMO_CLASSES)}), got {n_train}, {n_test}")
    root = Path(root)
    params = _params(n_train, n_test, seed, frames, size, container, fps)
    if is_complete(root):
        done = read_json(root / DONE_FILE)
        if done.get("params") == params:
            return done
        if not overwrite:
            raise FileExistsError(
                f"{root} holds a demo dataset with other parameters; delete it or pass overwrite=True"
            )
    elif root.exists() and any(root.iterdir()) and not overwrite:
        raise FileExistsError(f"{root} exists, is not empty and is not a finished demo dataset; delete it first")

    root.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    # the umask's mode (mkdtemp would make it 0700, unreadable to a group); a killed build's folder is removed
    tmp_root = make_temp_dir(root)
    try:
        lists: dict[str, list[str]] = {"train": [], "test": []}
        jobs: list[tuple[str, int, int, int]] = []
        for split, n, groups in (("train", n_train, TRAIN_GROUPS), ("test", n_test, TEST_GROUPS)):
            for class_index, group, clip in _plan(n, groups):
                rel = clip_name(DEMO_CLASSES[class_index], group, clip, container)
                jobs.append((split, class_index, group, clip))
                lists[split].append(f"{rel} {class_index + 1}" if split == "train" else rel)
        write_clips = functools.partial(
            _write_clips, tmp_root, seed=seed, frames=frames, size=size, container=container, fps=fps
        )
        chunks = [jobs[i : i + _CHUNK] for i in range(0, len(jobs), _CHUNK)]
        if workers > 1 and len(chunks) > 1:
            # every clip has its own random stream and its own files: the bytes do not depend on who writes them
            with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=multiprocessing.get_context("fork")) as pool:
                for _ in pool.map(write_clips, chunks):
                    pass
        else:
            for chunk in chunks:
                write_clips(chunk)
        write_text(tmp_root / "classInd.txt", "".join(f"{i + 1} {c}\n" for i, c in enumerate(DEMO_CLASSES)))
        write_text(tmp_root / "trainlist01.txt", "".join(f"{line}\n" for line in lists["train"]))
        write_text(tmp_root / "testlist01.txt", "".join(f"{line}\n" for line in lists["test"]))
        seconds = time.perf_counter() - start
        summary = {
            "params": params,
            "counts": {"train": len(lists["train"]), "test": len(lists["test"])},
            "sampling_note": "motion spans the whole clip: 8 segment-centre frames move 1-2 px each at size 64",
        }
        write_json(tmp_root / DONE_FILE, summary)
        _swap_into_place(tmp_root, root)
    except BaseException:
        shutil.rmtree(tmp_root, ignore_errors=True)
        raise
    summary = dict(summary)
    summary["seconds"] = round(seconds, 3)
    summary["clips_per_s"] = round((n_train + n_test) / max(seconds, 1e-9), 1)
    return summary


_CHUNK = 50  # clips per task: large enough that a task's pickling is noise, small enough to balance the workers


def _write_clips(
    root: Path, jobs: list[tuple[str, int, int, int]], *, seed: int, frames: int, size: int, container: str, fps: int
) -> None:
    """Generate and write the clips ``(split, class, group, clip)``: video, mask and J-HMDB-style mask each."""
    for split, class_index, group, clip in jobs:
        rel = clip_name(DEMO_CLASSES[class_index], group, clip, container)
        clip_frames, clip_mask = make_clip(class_index, _clip_seed(seed, split, class_index, group, clip), frames, size)
        write_lossless(root / rel, clip_frames, fps=fps)
        write_mask(root / rel, clip_mask)
        write_puppet_mask(puppet_mask_path(root, rel), clip_mask)


def _swap_into_place(new: Path, root: Path) -> None:
    """Rename ``new`` to ``root``; an old ``root`` is moved aside first and deleted after."""
    if root.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".old", dir=root.parent))
        old.rmdir()
        os.replace(root, old)
        os.replace(new, root)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, root)
