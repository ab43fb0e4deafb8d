"""What the explain stage keeps of each clip: a typed record, and the arrays of the heatmaps file.

:class:`ClipRecord` is one clip's JSON metadata in ``heatmaps.safetensors``
(which clip, which class it was chosen for, which class its map explains,
what the model predicted, the frames, and its scores); :class:`HeatmapCollector`
gathers the maps, importances, frames and records by selection position and
makes the :class:`~videoxai.explain.store.HeatmapSet` to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from videoxai.explain.store import HeatmapSet
from videoxai.explain.undefined import split_undefined


@dataclass
class ClipRecord:
    """One explained clip, as the heatmaps file records it (see :meth:`to_dict` for the stored form)."""

    sample_id: str
    class_index: int  # the class the selection chose the clip for
    class_name: str
    sample_index: int  # the clip's number within its class (``class_{X}_sample_{Y}``)
    label: int  # the clip's label as the model indexes it (a mixed clip: the class its entry explains)
    target: int  # the class the map explains
    target_name: str
    target_probability: float
    pred: int  # the explained view's own prediction
    pred_name: str
    confidence: float
    frame_indices: list[int]
    mix: dict[str, Any] | None = None  # VideoMix: the selection's mix entry, plus the pasted clip's frame_indices
    evaluation: dict[str, Any] | None = None  # deletion/insertion and sanity-check scores, when evaluated

    def to_dict(self) -> dict[str, Any]:
        """The stored form: every field, ``mix`` and ``evaluation`` only when present."""
        out: dict[str, Any] = {
            "sample_id": self.sample_id,
            "class_index": self.class_index,
            "class_name": self.class_name,
            "sample_index": self.sample_index,
            "label": self.label,
            "target": self.target,
            "target_name": self.target_name,
            "target_probability": self.target_probability,
            "pred": self.pred,
            "pred_name": self.pred_name,
            "confidence": self.confidence,
            "frame_indices": self.frame_indices,
        }
        if self.mix is not None:
            out["mix"] = self.mix
        if self.evaluation:
            out["evaluation"] = self.evaluation
        return out


class HeatmapCollector:
    """The stage's output, filled in by selection position as batches finish (plain and mixed clips interleave)."""

    def __init__(self, n: int):
        self.maps: list[np.ndarray | None] = [None] * n
        self.importance: list[np.ndarray | None] = [None] * n
        self.frames: list[np.ndarray | None] = [None] * n
        self.records: list[ClipRecord | None] = [None] * n
        self.undefined: list[np.ndarray | None] = [None] * n

    def add(
        self, position: int, maps: np.ndarray, importance: np.ndarray, frames: np.ndarray, record: ClipRecord
    ) -> None:
        """One clip: its maps (stored float16), temporal importance (float32), frames (uint8) and record.

        Frames whose map is undefined (NaN) are stored as zeros and flagged (:mod:`videoxai.explain.undefined`).
        """
        maps, importance, undefined = split_undefined(maps, importance)
        self.maps[position] = maps.astype(np.float16)
        self.importance[position] = importance.astype(np.float32)
        self.undefined[position] = undefined
        self.frames[position] = frames
        self.records[position] = record

    @property
    def done(self) -> int:
        return sum(r is not None for r in self.records)

    def heatmap_set(self, params: dict[str, Any]) -> HeatmapSet:
        return HeatmapSet(
            heatmaps=_stack(self.maps, np.float16),
            temporal_importance=_stack(self.importance, np.float32),
            frames=_stack(self.frames, np.uint8),
            clips=[r.to_dict() for r in self.records if r is not None],
            params=params,
            undefined=_stack(self.undefined, np.bool_),
        )


def _stack(items: list[np.ndarray | None], dtype: type) -> np.ndarray:
    if not items:
        return np.zeros((0,), dtype=dtype)
    return np.stack([x for x in items if x is not None]).astype(dtype, copy=False)
