"""Mixture models: the predictions of a weighted ensemble, made from its members' cached predictions (no torch).

prompt-tuning's ``MixtureModel`` runs every member on each batch and sums the
members' softmax probabilities weighted by ``w / w.sum()``; its loss and
metrics then take that sum where logits are expected. Here the members'
predictions files already hold their logits, so a mixture is computed from
them, with no second forward pass:

* ``p = sum_i w_i softmax(logits_i)`` with weights normalised to sum 1 (a list of
  members, no weights: each ``1/n``, a uniform deep ensemble);
* its ``logits`` column is ``log p`` under the standard conventions (so
  ``softmax(logits) == p``), and ``p`` itself under ``conventions:
  prompt-tuning``, as prompt-tuning hands it on (its calibration then takes a
  softmax of probabilities, and so do the stages here).

A mixture's key is ``mixture/{dataset-train}/{name}``
(:mod:`videoxai.extract.mixture_config`): it is calibrated and summarised
like any model; explainers skip it with a recorded notice (it has no
network). Members must answer on the same clips with the same class order:
checked while planning from what is known then, and here on the files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow.parquet as pq

import videoxai
from videoxai.checks import reading
from videoxai.conventions import check_convention
from videoxai.extract.mixture_config import Mixture
from videoxai.extract.predictions import PredictionWriter, check_predictions
from videoxai.io import atomic_path

# log p where a member gave exactly 0: the smallest normal float32, so log p stays finite (about -87.3)
_TINY = float(np.finfo(np.float32).tiny)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (max subtracted)."""
    x = np.asarray(logits, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def mix_probabilities(member_logits: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """``sum_i w_i softmax(logits_i)``: (N, K) float64, each row summing to 1 (weights already normalised)."""
    if len(member_logits) != len(weights):
        raise ValueError(f"{len(member_logits)} members but {len(weights)} weights")
    out = np.zeros(np.shape(member_logits[0]), dtype=np.float64)
    for logits, w in zip(member_logits, weights, strict=True):
        out += float(w) * softmax(logits)
    return out


def mixture_logits(member_logits: Sequence[np.ndarray], weights: Sequence[float], convention: str) -> np.ndarray:
    """What a mixture writes in its ``logits`` column: ``log p`` (standard) or ``p`` (prompt-tuning's)."""
    check_convention(convention)
    p = mix_probabilities(member_logits, weights)
    out = p if convention == "prompt-tuning" else np.log(np.maximum(p, _TINY))
    return out.astype(np.float32)


_COLUMNS = ("sample_id", "label", "label_name", "logits", "padded", "status", "error")


def _read_member(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, list[Any]], np.ndarray]:
    meta = check_predictions(path)
    with reading(path), pq.ParquetFile(str(path), page_checksum_verification=True) as f:
        table = f.read(columns=list(_COLUMNS))
    k = len(meta["class_names"])
    logits = table.column("logits").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    columns = {c: table.column(c).to_pylist() for c in _COLUMNS if c != "logits"}
    return meta, columns, np.asarray(logits, dtype=np.float32).reshape(-1, k)


def write_mixture(
    mixture: Mixture,
    member_paths: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    convention: str = "standard",
) -> dict[str, Any]:
    """The mixture's predictions file (the contract of :mod:`videoxai.extract.predictions`) from its members'.

    Rows follow the first member's order; a clip that is an error row in any
    member is an error row here (naming the member). Members that differ in
    class names, clips or labels raise, naming both files.
    """
    check_convention(convention)
    if len(member_paths) != len(mixture.members):
        raise ValueError(f"mixture {mixture.key} has {len(mixture.members)} members but {len(member_paths)} files")
    members = [_read_member(p) for p in member_paths]
    meta0, rows0, logits0 = members[0]
    first, ids = os.fspath(member_paths[0]), rows0["sample_id"]
    metas, rows, aligned = [meta0], [rows0], [logits0]
    for path, (meta, r, lg) in zip(member_paths[1:], members[1:], strict=True):
        where = f"mixture {mixture.key}: members' predictions {first} and {os.fspath(path)}"
        if list(meta["class_names"]) != list(meta0["class_names"]):
            raise ValueError(f"{where} have different class lists; a mixture's members must share one class order")
        if meta.get("corruption") != meta0.get("corruption"):
            raise ValueError(
                f"{where} are under different corruptions ({meta0.get('corruption')} and {meta.get('corruption')}); "
                "a mixture mixes one shifted split of each member"
            )
        if len(r["sample_id"]) != len(ids) or set(r["sample_id"]) != set(ids):
            raise ValueError(f"{where} hold different clips; members must be evaluated on the same split")
        at = {s: i for i, s in enumerate(r["sample_id"])}
        perm = np.asarray([at[s] for s in ids], dtype=np.int64)  # this member's row of each of the first's clips
        moved = {c: [v[i] for i in perm] for c, v in r.items()}
        if moved["label"] != rows0["label"]:
            raise ValueError(f"{where} label clips differently (another class mapping?); members must agree")
        metas.append(meta)
        rows.append(moved)
        aligned.append(lg[perm])
    n, k = len(ids), len(metas[0]["class_names"])
    ok = np.asarray([all(r["status"][i] == "ok" for r in rows) for i in range(n)], dtype=bool)
    out = np.full((n, k), np.nan, dtype=np.float32)
    if ok.any():
        out[ok] = mixture_logits([lg[ok] for lg in aligned], mixture.weights, convention)
    probs = softmax(np.where(ok[:, None], out, 0.0))
    errors = [
        None
        if ok[i]
        else "; ".join(f"member {m}: {r['error'][i]}" for m, r in zip(mixture.members, rows) if r["status"][i] != "ok")
        for i in range(n)
    ]
    metadata = {
        key: metas[0].get(key)
        for key in ("dataset", "dataset_format", "split", "label_order", "test_class_names", "class_mapping")
        if key in metas[0]
    }
    metadata.update(
        {
            "class_names": list(metas[0]["class_names"]),
            "model_key": mixture.key,
            "checkpoint_sha256": None,
            "mixture": {
                **mixture.to_dict(),
                "convention": convention,
                "logits": "probabilities" if convention == "prompt-tuning" else "log-probabilities",
                "member_checkpoint_sha256": [m.get("checkpoint_sha256") for m in metas],
                "member_options": [m.get("options") for m in metas],
            },
            "options": metas[0].get("options"),
            "corruption": metas[0].get("corruption"),  # the shift its members saw (docs/shift.md), None when clean
            "videoxai_version": videoxai.__version__,
        }
    )
    with atomic_path(out_path) as tmp:
        writer = PredictionWriter(tmp, k, metadata)
        try:
            writer.write(
                {
                    "sample_id": list(ids),
                    "label": rows[0]["label"],
                    "label_name": rows[0]["label_name"],
                    "pred": [int(p) if o else -1 for p, o in zip(probs.argmax(axis=1), ok)],
                    "confidence": [float(c) if o else float("nan") for c, o in zip(probs.max(axis=1), ok)],
                    "logits": out,
                    "frame_indices": [[] for _ in ids],
                    "padded": [any(r["padded"][i] for r in rows) for i in range(n)],
                    "status": ["ok" if o else "error" for o in ok],
                    "error": errors,
                }
            )
        finally:
            writer.close()
    return {"clips": n, "errors": int((~ok).sum()), "members": list(mixture.members)}
