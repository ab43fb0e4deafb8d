"""Which clips to explain: ``classes-to-map`` classes, ``samples-per-class`` clips each, deterministically.

The selection is a Snakemake checkpoint's output: the render jobs are named
after it (``class_{X}_sample_{Y}``), so the same predictions and seed must
always give the same selection, and growing ``samples-per-class`` must keep
the clips already chosen (each class draws a fixed permutation and takes a
prefix of it).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from videoxai.extract.predictions import Predictions


def choose_classes(predictions: Predictions, classes_to_map: int | list[str]) -> list[int]:
    """Class indices: the ``n`` most frequent in the split (ties by name), or the named classes in order."""
    names = predictions.class_names
    counts = Counter(int(label) for label in predictions.labels)
    if isinstance(classes_to_map, bool) or not isinstance(classes_to_map, (int, list, tuple)):
        raise TypeError(f"classes-to-map must be an integer or a list of class names, got {classes_to_map!r}")
    if isinstance(classes_to_map, int):
        present = [k for k in range(len(names)) if counts[k] > 0]
        if classes_to_map < 1:
            raise ValueError(f"classes-to-map must be at least 1, got {classes_to_map}")
        if classes_to_map > len(present):
            raise ValueError(
                f"classes-to-map is {classes_to_map}, but the split has clips of only {len(present)} classes: "
                f"use at most {len(present)}"
            )
        return sorted(present, key=lambda k: (-counts[k], names[k]))[:classes_to_map]
    index = {name: k for k, name in enumerate(names)}
    unknown = [c for c in classes_to_map if c not in index]
    if unknown:
        raise ValueError(f"classes-to-map names unknown classes {unknown}; valid class names are: {', '.join(names)}")
    chosen = list(dict.fromkeys(index[c] for c in classes_to_map))
    empty = [names[k] for k in chosen if counts[k] == 0]
    if empty:
        raise ValueError(f"classes-to-map names classes with no clips in this split: {empty}")
    return chosen


def choose_mix_pairs(
    predictions: Predictions, classes_to_mix: int | list[list[str]] | None, mapped: list[int]
) -> list[tuple[int, int]]:
    """VideoMix class pairs: ``n`` pairs of consecutive mapped classes, or the named ``[base, other]`` pairs."""
    if classes_to_mix is None or classes_to_mix == 0:
        return []
    if isinstance(classes_to_mix, bool):
        raise TypeError(f"classes-to-mix must be an integer or a list of [class, class] pairs, got {classes_to_mix!r}")
    if isinstance(classes_to_mix, int):
        if classes_to_mix < 0 or len(mapped) < 2 or classes_to_mix > len(mapped):
            raise ValueError(
                f"classes-to-mix is {classes_to_mix}: it pairs consecutive classes of classes-to-map "
                f"({len(mapped)} chosen), so use at most {len(mapped) if len(mapped) >= 2 else 0}"
            )
        return [(mapped[i], mapped[(i + 1) % len(mapped)]) for i in range(classes_to_mix)]
    pairs = []
    for pair in classes_to_mix:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or pair[0] == pair[1]:
            raise ValueError(f"classes-to-mix entries must be pairs of two different class names, got {pair!r}")
        pairs.append(tuple(choose_classes(predictions, list(pair))))
    return pairs


def select_clips(
    predictions: Predictions,
    classes_to_map: int | list[str],
    samples_per_class: int,
    seed: int = 0,
    classes_to_mix: int | list[list[str]] | None = None,
    mix_mode: str = "box",
    preferred: set[str] | None = None,
) -> dict[str, Any]:
    """The clips to explain, as a JSON-serialisable dict (``clips`` in class order, then sample order).

    Each clip records ``class_index`` X (its true class) and ``sample_index``
    Y (its rank in the class's seeded draw), which name its figure files
    ``class_{X}_sample_{Y}``, plus its ``row`` in the predictions and the
    model's prediction and confidence. A class with fewer clips than
    ``samples_per_class`` contributes all it has.

    ``classes_to_mix`` adds VideoMix entries after them: per class pair one
    base clip with a clip of the other class pasted in (``mix_mode``), listed
    twice, once explained for each class (``class_index``), with sample
    indices that continue the class's numbering and a ``mix`` record.

    Classes are the predictions' ``class_names`` (the logits' columns): with
    a class mapping (a closed-set model on another dataset) they are the
    model's training classes, so ``classes-to-map`` names training classes,
    and clips of test classes without one (label -1, error rows) are never
    chosen. Prediction and confidence are those of the predictions file
    (averaged over its temporal views and TTA, if any).

    ``preferred`` (sample ids, e.g. the clips the dataset's ground truth
    annotates: ``prefer-annotated``) puts those first in each class's seeded
    order, so they are chosen before the others (still a fixed order, so
    growing ``samples_per_class`` keeps the clips chosen).
    """
    if isinstance(samples_per_class, bool) or not isinstance(samples_per_class, int) or samples_per_class < 1:
        raise ValueError(f"samples-per-class must be a positive integer, got {samples_per_class!r}")
    names = predictions.class_names
    classes = choose_classes(predictions, classes_to_map)
    probs = _softmax(predictions.logits)
    preds = probs.argmax(axis=1)
    labels = np.asarray(predictions.labels)
    clips: list[dict[str, Any]] = []
    class_rows = []
    for k in classes:
        rows = sorted(np.flatnonzero(labels == k).tolist(), key=lambda r: predictions.sample_ids[r])
        order = np.random.default_rng([int(seed), int(k)]).permutation(len(rows))
        if preferred is not None:  # stable: the preferred clips first, each part in the seeded order
            order = sorted(order, key=lambda i: predictions.sample_ids[rows[i]] not in preferred)
        chosen = [rows[i] for i in order[:samples_per_class]]
        class_rows.append({"class_index": k, "class_name": names[k], "count": len(rows), "selected": len(chosen)})
        if preferred is not None:
            class_rows[-1]["preferred"] = sum(predictions.sample_ids[r] in preferred for r in rows)
        for y, r in enumerate(chosen):
            p = int(preds[r])
            clips.append(
                {
                    "sample_id": predictions.sample_ids[r],
                    "class_index": k,
                    "class_name": names[k],
                    "sample_index": y,
                    "row": r,
                    "label": k,
                    "pred": p,
                    "pred_name": names[p],
                    "confidence": float(probs[r, p]),
                }
            )
    clips += _mix_entries(predictions, choose_mix_pairs(predictions, classes_to_mix, classes), clips, seed, mix_mode)
    return {
        "class_names": list(names),
        "classes_to_map": classes_to_map if isinstance(classes_to_map, int) else list(classes_to_map),
        "samples_per_class": samples_per_class,
        "seed": int(seed),
        "model_key": predictions.metadata.get("model_key"),
        "dataset": predictions.metadata.get("dataset"),
        "split": predictions.metadata.get("split"),
        # how the predictions were made: the explain step checks it uses the same mapping (see explain_stage)
        "class_mapping": predictions.metadata.get("class_mapping"),
        "num_temporal_views": predictions.metadata.get("num_temporal_views"),
        "classes": class_rows,
        "clips": clips,
    }


def _mix_entries(
    predictions: Predictions, pairs: list[tuple[int, int]], clips: list[dict[str, Any]], seed: int, mode: str
) -> list[dict[str, Any]]:
    from videoxai.explain.mix import MIX_MODES

    if pairs and mode not in MIX_MODES:
        raise ValueError(f"mix mode must be one of {list(MIX_MODES)}, got {mode!r}")
    names = predictions.class_names
    labels = np.asarray(predictions.labels)
    next_index = Counter(c["class_index"] for c in clips)
    out = []
    for k, (a, b) in enumerate(pairs):
        rng = np.random.default_rng([int(seed), 1, k, a, b])
        draw = {}
        for cls in (a, b):
            rows = sorted(np.flatnonzero(labels == cls).tolist(), key=lambda r: predictions.sample_ids[r])
            draw[cls] = rows[int(rng.integers(len(rows)))]
        mix = {
            "sample_id": predictions.sample_ids[draw[b]],
            "row": draw[b],
            "class_index": b,
            "class_name": names[b],
            "base_class_index": a,
            "mode": mode,
            "seed": int(seed) * 1000 + k,
        }
        for cls, explains in ((a, "base"), (b, "other")):
            out.append(
                {
                    "sample_id": predictions.sample_ids[draw[a]],
                    "class_index": cls,
                    "class_name": names[cls],
                    "sample_index": next_index[cls],
                    "row": draw[a],
                    "label": cls,
                    "mix": {**mix, "explains": explains},
                }
            )
            next_index[cls] += 1
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
