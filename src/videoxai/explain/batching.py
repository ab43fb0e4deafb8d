"""The clips a selection names, checked against the split, and decoded into batches to explain.

Plain clips are decoded by the data loader's workers in selection order;
VideoMix clips have both source clips decoded once and mixed here. Every
batch carries the frames the model saw (``return_frames=True``), so the
stored frames are exactly the explained ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from videoxai.data.loader import make_loader
from videoxai.data.splits import Sample
from videoxai.explain.mix import mix_region, videomix
from videoxai.models.base import InputSpec
from videoxai.setup.classes import ClassPlan


@dataclass
class ClipBatch:
    """One batch of clips to explain: model input, the frames shown, and where each goes in the output."""

    positions: list[int]  # each clip's index in the selection (and so in the heatmaps file)
    video: torch.Tensor  # (B, T, C, H, W) model input
    frames: torch.Tensor  # (B, T, H, W, 3) uint8: the frames shown
    labels: torch.Tensor  # (B,) the class each clip is labelled (mixed clips: the class its entry explains)
    frame_indices: torch.Tensor  # (B, T)
    samples: list[Sample]  # the (base) clip of each entry
    mixed: bool  # VideoMix clips: explained for their entry's class; their demo masks do not match the frames
    mixed_in_frames: list[list[int]] = field(default_factory=list)  # mixed clips: the frames of the pasted clip


def selected_samples(selection: dict[str, Any], samples: Sequence[Sample]) -> dict[str, Sample]:
    """Every sample the selection names (mixed-in clips too), by id; a missing or relabelled one is an error.

    A plain clip's label in ``samples`` must be the class the selection chose
    it for: a clip whose class moved (another class list or class mapping
    than the predictions were made with) would otherwise be explained for
    the wrong class without a word.
    """
    by_id = {s.sample_id: s for s in samples}
    wanted = [c["sample_id"] for c in selection["clips"]] + [
        c["mix"]["sample_id"] for c in selection["clips"] if "mix" in c
    ]
    missing = [w for w in wanted if w not in by_id]
    if missing:
        raise ValueError(
            f"{len(missing)} selected clips are not in the dataset split (first: {missing[0]!r}); "
            "the selection was made from another dataset, split or class mapping: rerun the select step"
        )
    moved = [c for c in selection["clips"] if "mix" not in c and by_id[c["sample_id"]].label != c["class_index"]]
    if moved:
        c = moved[0]
        raise ValueError(
            f"{len(moved)} selected clips have another label in the dataset than in the selection (first: "
            f"{c['sample_id']!r}, selected as class {c['class_index']} {c['class_name']!r}, labelled "
            f"{by_id[c['sample_id']].label}); the selection was made with another class list or class mapping: "
            "rerun the extract and select steps"
        )
    return {w: by_id[w] for w in dict.fromkeys(wanted)}


def check_selection_classes(selection: dict[str, Any], plan: ClassPlan) -> None:
    """The selection must index the classes the model answers with now, under the same class mapping."""
    chosen = selection.get("class_names")
    if chosen is not None and list(chosen) != plan.class_names:
        how = (
            f"the model's own {len(plan.class_names)} classes, the test labels mapped onto them"
            if plan.mapping is not None
            else f"the test dataset's {len(plan.class_names)} classes"
        )
        raise ValueError(
            f"the selection indexes {len(chosen)} classes ({', '.join(chosen[:5])}{', ...' if len(chosen) > 5 else ''}) "
            f"but the model answers with {how} ({', '.join(plan.class_names[:5])}"
            f"{', ...' if len(plan.class_names) > 5 else ''}): the predictions were made with another dataset or "
            "class mapping; rerun the extract and select steps"
        )
    if "class_mapping" in selection and selection["class_mapping"] != plan.mapping:
        raise ValueError(
            f"the selection was made from predictions with class mapping {selection['class_mapping']!r}, but the "
            f"explain step maps {plan.mapping!r}: rerun the extract and select steps with the configured mapping"
        )


def clip_batches(
    selection: dict[str, Any],
    by_id: dict[str, Sample],
    spec: InputSpec,
    batch_size: int,
    num_workers: int,
    decoder: str,
) -> Iterator[ClipBatch]:
    """Every selected clip in batches: the plain clips first, then the VideoMix clips."""
    yield from plain_batches(selection, by_id, spec, batch_size, num_workers, decoder)
    yield from mixed_batches(selection, by_id, spec, batch_size, num_workers, decoder)


def plain_batches(
    selection: dict[str, Any],
    by_id: dict[str, Sample],
    spec: InputSpec,
    batch_size: int,
    num_workers: int,
    decoder: str,
) -> Iterator[ClipBatch]:
    """Unmixed clips, decoded by the loader's workers in selection order."""
    positions = [i for i, c in enumerate(selection["clips"]) if "mix" not in c]
    chosen = [by_id[selection["clips"][i]["sample_id"]] for i in positions]
    if not chosen:
        return
    for batch in make_loader(
        chosen, spec, batch_size=batch_size, num_workers=num_workers, return_frames=True, decoder=decoder, num_views=1
    ):
        check_decoded(batch, chosen)
        idx = batch["index"].tolist()
        yield ClipBatch(
            [positions[i] for i in idx],
            batch["video"],
            batch["frames"],
            batch["label"],
            batch["frame_indices"],
            [chosen[i] for i in idx],
            mixed=False,
        )


def mixed_batches(
    selection: dict[str, Any],
    by_id: dict[str, Sample],
    spec: InputSpec,
    batch_size: int,
    num_workers: int,
    decoder: str,
) -> Iterator[ClipBatch]:
    """VideoMix clips: both source clips decoded once, mixed here, labelled with the class each entry explains."""
    positions = [i for i, c in enumerate(selection["clips"]) if "mix" in c]
    if not positions:
        return
    ids = list(
        dict.fromkeys(
            x
            for i in positions
            for x in (selection["clips"][i]["sample_id"], selection["clips"][i]["mix"]["sample_id"])
        )
    )
    decoded: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
    sources = [by_id[x] for x in ids]
    for batch in make_loader(
        sources, spec, batch_size=batch_size, num_workers=num_workers, return_frames=True, decoder=decoder, num_views=1
    ):
        check_decoded(batch, sources)
        for j, i in enumerate(batch["index"].tolist()):
            decoded[ids[i]] = (batch["video"][j], batch["frames"][j], batch["frame_indices"][j])
    for start in range(0, len(positions), batch_size):
        chunk = positions[start : start + batch_size]
        videos, frames, labels, fidx, pasted = [], [], [], [], []
        for i in chunk:
            c = selection["clips"][i]
            base, other = decoded[c["sample_id"]], decoded[c["mix"]["sample_id"]]
            region = mix_region(spec.num_frames, spec.size, c["mix"]["mode"], c["mix"]["seed"])
            videos.append(videomix(base[0], other[0], region))
            frames.append(videomix(base[1], other[1], region))
            labels.append(int(c["class_index"]))
            fidx.append(base[2])
            pasted.append([int(f) for f in other[2]])
        yield ClipBatch(
            chunk,
            torch.stack(videos),
            torch.stack(frames),
            torch.tensor(labels),
            torch.stack(fidx),
            [by_id[selection["clips"][i]["sample_id"]] for i in chunk],
            mixed=True,
            mixed_in_frames=pasted,
        )


def check_decoded(batch: dict[str, Any], samples: list[Sample]) -> None:
    """A selected clip that cannot be decoded stops the job (extraction decoded it, so something changed)."""
    bad = [(int(i), e) for i, s, e in zip(batch["index"], batch["status"], batch["error"], strict=True) if s != "ok"]
    if bad:
        i, err = bad[0]
        raise RuntimeError(f"selected clip {samples[i].sample_id!r} could not be decoded: {err}")
