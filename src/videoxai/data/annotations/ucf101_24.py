"""UCF101-24 action tubes from the pickles they are distributed as (read without running code).

Two layouts, recognised by their keys:

* **ACT / MOC** (``UCF101v2-GT.pkl``, also ``JHMDB-GT.pkl``): a dict with
  ``labels`` (class names), ``gttubes`` ``{video: {label index: [tube, ...]}}``
  where a tube is an array of ``(frame, x1, y1, x2, y2)`` rows with 1-based
  frame numbers, ``nframes`` ``{video: int}``, ``resolution``
  ``{video: (H, W)}``, ``train_videos`` / ``test_videos`` (lists per split).
* **corrected-UCF101-Annots** (``pyannot.pkl``): ``{video: {"label": int,
  "numf": int, "annotations": [{"label", "sf", "ef", "boxes"}]}}`` where a
  tube covers 0-based frames ``sf .. ef - 1`` and ``boxes`` are
  ``(x, y, w, h)`` rows, one per frame; no resolution (the decoded video's is
  used: UCF101's clips are 320 x 240, as the annotations).

Video ids are UCF101's relative paths without extension
(``Basketball/v_Basketball_g01_c01``). A file that is not one of these
layouts is an :class:`AnnotationError`; a malformed entry for one video (a
frame outside ``1..nframes``, rows that are not boxes, a tube with no rows)
gives that clip a ``problem`` and leaves the others usable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from videoxai.data.annotations.base import AnnotationError, ClipAnnotation, VideoIndex
from videoxai.data.annotations.safe_pickle import safe_load

__all__ = ["TubeAnnotations", "read_tubes"]


def _as_int(value: Any) -> int | None:
    try:
        return int(np.asarray(value).item())
    except (TypeError, ValueError):
        return None


class TubeAnnotations:
    """Per-video person boxes of a tubes pickle, converted per video on demand (:meth:`get`)."""

    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        self.source = source
        if "gttubes" in data:
            self.layout = "act"
            self._tubes = _mapping(data["gttubes"], "gttubes", source)
            self._nframes = _mapping(data.get("nframes", {}), "nframes", source)
            self._resolution = _mapping(data.get("resolution", {}), "resolution", source)
            self.labels = [str(x) for x in data.get("labels", [])]
            self.splits = {k: data[k] for k in ("train_videos", "test_videos") if k in data}
        elif data and all(isinstance(v, Mapping) and "annotations" in v for v in data.values()):
            self.layout = "pyannot"
            self._tubes = dict(data)
            self._nframes = {k: v.get("numf") for k, v in data.items()}
            self._resolution = {}
            self.labels = []
            self.splits = {}
        else:
            keys = sorted(map(str, data))[:8]
            raise AnnotationError(
                f"{source}: not a UCF101-24 tubes file: expected the keys labels/gttubes/nframes/resolution "
                f"(UCF101v2-GT.pkl) or {{video: {{'annotations', 'numf', 'label'}}}} (pyannot.pkl), found {keys}"
            )
        self.index = VideoIndex(str(k) for k in self._tubes)

    def video_ids(self) -> Iterable[str]:
        return sorted(self.index.ids)

    def find(self, sample_id: str) -> str | None:
        """The id of ``sample_id``'s video in this file, or None when it has no annotation."""
        return self.index.match(sample_id)

    def get(self, video: str) -> ClipAnnotation | None:
        """The boxes of ``video`` per 1-based frame number; None when the file does not list it."""
        if video not in self._tubes:
            return None
        nframes = _as_int(self._nframes.get(video))
        ann = ClipAnnotation(video_id=video, source=self.source, nframes=nframes, boxes={})
        res = self._resolution.get(video)
        if res is not None:
            r = np.asarray(res).ravel()
            if r.size != 2 or not np.all(r > 0):
                ann.problem = f"resolution {res!r} is not (height, width)"
                return ann
            ann.resolution = (int(r[0]), int(r[1]))
        try:
            tubes = list(self._tubes_of(video, ann))
        except (TypeError, ValueError, KeyError) as exc:
            ann.problem = f"malformed tubes ({exc})"
            return ann
        if not tubes:
            ann.problem = "no tube (the video is listed without boxes)"
            return ann
        for rows in tubes:
            if rows.shape[0] == 0:
                continue
            frames = rows[:, 0]
            if not np.all(frames == np.round(frames)):
                ann.problem = f"tube frame numbers are not integers: {frames[:5].tolist()}"
                return ann
            lo, hi = int(frames.min()), int(frames.max())
            top = nframes if nframes is not None else hi
            if lo < 1 or hi > top:
                ann.problem = f"tube frame {lo if lo < 1 else hi} is outside the clip's frames 1..{top} (nframes)"
                return ann
            for f, box in zip(frames.astype(int), rows[:, 1:5], strict=True):
                ann.boxes.setdefault(int(f), []).append(box)  # type: ignore[arg-type]
        if not ann.boxes:
            ann.problem = "every tube of the video is empty (no rows)"
            return ann
        ann.boxes = {f: np.asarray(b, dtype=np.float64).reshape(-1, 4) for f, b in sorted(ann.boxes.items())}
        return ann

    def _tubes_of(self, video: str, ann: ClipAnnotation) -> Iterable[np.ndarray]:
        """Each tube of ``video`` as float ``(n, 5)`` rows ``frame, x1, y1, x2, y2`` (1-based frames)."""
        entry = self._tubes[video]
        if self.layout == "act":
            if not isinstance(entry, Mapping):
                raise TypeError(f"gttubes entry is a {type(entry).__name__}, not {{label: [tubes]}}")
            for label, tubes in entry.items():
                k = _as_int(label)
                if k is not None and 0 <= k < len(self.labels):
                    ann.labels.append(self.labels[k])
                for tube in tubes:
                    rows = np.asarray(tube, dtype=np.float64)
                    if rows.size == 0:
                        yield np.zeros((0, 5))
                        continue
                    if rows.ndim != 2 or rows.shape[1] != 5:
                        raise ValueError(f"a tube has shape {rows.shape}, not (n, 5) rows of frame, x1, y1, x2, y2")
                    yield rows
            return
        for tube in entry["annotations"]:
            sf, ef = _as_int(tube["sf"]), _as_int(tube["ef"])
            boxes = np.asarray(tube["boxes"], dtype=np.float64)
            if sf is None or ef is None:
                raise ValueError(f"tube start/end frames {tube['sf']!r}/{tube['ef']!r} are not integers")
            if boxes.size == 0 or ef <= sf:
                yield np.zeros((0, 5))
                continue
            if boxes.ndim != 2 or boxes.shape[1] != 4 or boxes.shape[0] != ef - sf:
                raise ValueError(f"a tube covers frames {sf}..{ef - 1} but has boxes of shape {boxes.shape}")
            xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
            yield np.concatenate([np.arange(sf + 1, ef + 1, dtype=np.float64)[:, None], xyxy], axis=1)


def _mapping(value: Any, key: str, source: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise AnnotationError(f"{source}: '{key}' is a {type(value).__name__}, not a dict keyed by video")
    return {str(k): v for k, v in value.items()}


def read_tubes(path: str | os.PathLike[str]) -> TubeAnnotations:
    """Read a UCF101-24 (or J-HMDB ``JHMDB-GT.pkl``) tubes pickle with the restricted unpickler."""
    path = Path(path)
    data = safe_load(path)
    if not isinstance(data, Mapping):
        raise AnnotationError(f"{path}: holds a {type(data).__name__}, not the dict of a UCF101-24 tubes file")
    return TubeAnnotations(data, str(path))
