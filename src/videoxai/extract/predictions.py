"""The predictions Parquet contract: one row per clip, written batch by batch.

Columns: ``sample_id``, ``label``, ``label_name``, ``pred``, ``confidence``,
``logits`` (fixed-size list of float32), ``frame_indices``, ``padded``,
``status`` (``ok`` | ``error``), ``error``. File metadata (key ``videoxai``,
JSON): class names, model key, checkpoint sha256, dataset, split, evaluation
options, library version.

``label`` indexes ``class_names`` (the logits' columns); ``label_name`` is
the clip's class as the test dataset names it. They differ only when a
closed-set model's labels were mapped (metadata ``class_mapping``,
``test_class_names``, ``unmapped_classes``; clips of unmapped classes are
``status=error`` rows with ``label`` -1). ``frame_indices`` lists the
``num_temporal_views`` (metadata) views' frames one view after another.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from videoxai.checks import check_parquet, reading
from videoxai.rebuild import BrokenFileError

META_KEY = b"videoxai"
# The columns readers of a predictions file use (the writer writes more).
READ_COLUMNS = ("sample_id", "label", "label_name", "pred", "confidence", "logits", "status")
# Each data page carries a CRC, checked when read (a flipped byte in a page names the file, not a wrong number).
WRITE_OPTIONS = {"compression": "zstd", "write_page_checksum": True}


def schema(num_classes: int, metadata: dict[str, Any]) -> pa.Schema:
    return pa.schema(
        [
            ("sample_id", pa.string()),
            ("label", pa.int32()),
            ("label_name", pa.string()),
            ("pred", pa.int32()),
            ("confidence", pa.float32()),
            ("logits", pa.list_(pa.float32(), num_classes)),
            ("frame_indices", pa.list_(pa.int32())),
            ("padded", pa.bool_()),
            ("status", pa.string()),
            ("error", pa.string()),
        ],
        metadata={META_KEY: json.dumps(metadata, sort_keys=True).encode()},
    )


class PredictionWriter:
    """Streams record batches to a Parquet file; nothing is held beyond one batch."""

    def __init__(self, path: str | os.PathLike[str], num_classes: int, metadata: dict[str, Any]):
        self.num_classes = num_classes
        self.schema = schema(num_classes, metadata)
        self._writer = pq.ParquetWriter(str(path), self.schema, **WRITE_OPTIONS)
        self.rows = 0
        self.errors = 0

    def write(self, rows: dict[str, list[Any]]) -> None:
        n = len(rows["sample_id"])
        if n == 0:
            return
        logits = np.asarray(rows["logits"], dtype=np.float32).reshape(n, self.num_classes)
        arrays = []
        for f in self.schema:
            if f.name == "logits":
                arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(logits.reshape(-1)), self.num_classes))
            else:
                arrays.append(pa.array(rows[f.name], type=f.type))
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.rows += n
        self.errors += sum(1 for s in rows["status"] if s != "ok")

    def close(self) -> None:
        self._writer.close()


@dataclass
class Predictions:
    """The ``status == ok`` rows of a predictions file, as arrays."""

    sample_ids: list[str]
    labels: np.ndarray  # (N,) int64
    logits: np.ndarray  # (N, K) float32
    class_names: list[str]
    metadata: dict[str, Any]
    num_errors: int

    @property
    def preds(self) -> np.ndarray:
        return self.logits.argmax(axis=1)


def check_predictions(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A predictions file's contract: content record, footer, columns, metadata (class names matching the
    logits' width); returns the metadata. A broken file names itself and the command that rebuilds it."""
    meta = check_parquet(path, READ_COLUMNS, META_KEY)
    names = meta.get("class_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or not names:
        raise BrokenFileError(path, "its metadata lists no class_names")
    logits = pq.read_schema(str(path)).field("logits").type
    width = logits.list_size if isinstance(logits, pa.FixedSizeListType) else None
    if width != len(names):
        raise BrokenFileError(path, f"logits have width {width} but the metadata lists {len(names)} class names")
    return meta


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file metadata, after checking footer, columns and metadata (a broken file names itself)."""
    return check_predictions(path)


def read_all(path: str | os.PathLike[str]) -> pa.Table:
    """Every column and page (page checksums verified): what ``verify`` reads of a predictions file."""
    check_predictions(path)
    with reading(path), pq.ParquetFile(str(path), page_checksum_verification=True) as f:
        return f.read()


def load_predictions(path: str | os.PathLike[str]) -> Predictions:
    meta = read_metadata(path)
    # ParquetFile and _numeric, not read_table and to_numpy: those import pandas (0.2 s of a calibrate job)
    with reading(path), pq.ParquetFile(str(path), page_checksum_verification=True) as f:
        table = f.read(columns=["sample_id", "label", "logits", "status"])
    ok = np.asarray(table.column("status").to_pylist()) == "ok"
    k = len(meta["class_names"])
    logits = _numeric(table.column("logits").combine_chunks().flatten()).reshape(-1, k).astype(np.float32, copy=False)
    labels = _numeric(table.column("label").combine_chunks()).astype(np.int64)
    ids = table.column("sample_id").to_pylist()
    return Predictions(
        sample_ids=[s for s, o in zip(ids, ok) if o],
        labels=labels[ok],
        logits=logits[ok],
        class_names=list(meta["class_names"]),
        metadata=meta,
        num_errors=int((~ok).sum()),
    )


def _numeric(arr: pa.Array) -> np.ndarray:
    """A null-free integer or float Arrow array as numpy (read-only), read from its data buffer."""
    if arr.null_count or not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
        return arr.to_numpy(zero_copy_only=False)
    kind = "f" if pa.types.is_floating(arr.type) else "i" if pa.types.is_signed_integer(arr.type) else "u"
    dtype = np.dtype(f"{kind}{arr.type.bit_width // 8}")  # Arrow buffers are in native byte order
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize)


def predictions_path(results: str | Path, method: str, train: str, run: str, test: str, split: str) -> Path:
    return Path(results) / "predictions" / method / train / run / test / f"{split}.parquet"
