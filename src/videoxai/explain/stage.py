"""The explain stage: heatmaps for the selected clips, batched, written to ``heatmaps.safetensors``.

``explain_selection`` works on a model and samples already in memory (tests,
notebooks); ``explain_stage`` is what the workflow's rule script calls: it
sets the model up on the dataset split exactly as extraction does
(:func:`videoxai.setup.model_split.set_up`), then delegates. The parts:
:mod:`~videoxai.explain.batching` (which clips, decoded and VideoMix-ed),
the explainer (``Explainer.__call__``: explain, then finalise),
:mod:`~videoxai.explain.scoring` (the evaluation of each batch's maps) and
:mod:`~videoxai.explain.record` (what is kept per clip).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from videoxai.data.splits import Sample
from videoxai.explain.batching import check_selection_classes, clip_batches, selected_samples
from videoxai.explain.methods import effective_options, make_explainer
from videoxai.explain.options import EvaluationSettings, effective_convention
from videoxai.explain.perturbation_budget import masked_forwards
from videoxai.explain.record import ClipRecord, HeatmapCollector
from videoxai.explain.scoring import BatchScorer
from videoxai.explain.store import HeatmapSet, save_heatmaps
from videoxai.models.base import InputSpec, VideoClassifier
from videoxai.models.frozen_cache import frozen_parameters
from videoxai.progress import Progress
from videoxai.setup.classes import ClassMappingSource
from videoxai.setup.device import autocast, precision_weights
from videoxai.setup.footprint import footprint_of_resolved
from videoxai.setup.resources import ExplainJob, explain_batch

if TYPE_CHECKING:
    from videoxai.setup.model_split import ModelAndSplit

log = logging.getLogger("videoxai.explain")

FALLBACK_BATCH = 4  # clips explained together for a model whose memory cannot be estimated (torchvision, custom)


def explain_selection(
    model: VideoClassifier,
    selection: dict[str, Any],
    samples: Sequence[Sample],
    method: str,
    options: dict[str, Any] | None,
    out_path: str | os.PathLike[str],
    batch_size: int = 8,
    *,
    num_workers: int = 0,
    spec: InputSpec | None = None,
    decoder: str = "auto",
    conventions: str = "standard",
) -> HeatmapSet:
    """Explain every selected clip with ``method`` and write ``out_path`` (heatmaps.safetensors).

    Clips are decoded by the data loader (``return_frames=True``: the stored
    frames are exactly what the model saw), explained a batch at a time, and
    only the reduced maps are kept. VideoMix entries are explained for the
    class they name (``class_index``), whatever ``target-class`` says.
    ``conventions: prompt-tuning`` explains with prompt-tuning's form of the method
    where it has one (:mod:`videoxai.explain.prompt_tuning`); the file records the
    convention each map was made under (``params.conventions``).
    The model's parameters are frozen meanwhile (their flags restored
    after): explainers need gradients of activations only, and frozen
    text features are computed once (:mod:`videoxai.models.frozen_cache`).
    ``options["precision"]`` (the split variant's; float32 when absent) is
    the autocast the explainer runs under, as extraction's, with the trained
    model's linear and convolution weights cast once per batch
    (:func:`~videoxai.setup.device.precision_weights`: autocast's numbers bit for
    bit, without its cast of every weight on every forward); the sanity check's
    randomised copies are made from the float32 weights. Returns what was
    written.
    """
    options = dict(options or {})
    convention = effective_convention(method, conventions)
    if convention != conventions:
        log.info(
            "%s has no prompt-tuning form (prompt-tuning lacks it): explained under the standard convention", method
        )
    used = effective_options(method, options, convention)
    evaluation = EvaluationSettings.from_options(options)
    explainer = make_explainer(method, model, options, convention)
    by_id = selected_samples(selection, samples)
    spec = spec or model.input_spec
    device = next(model.parameters()).device
    precision = options.get("precision", "float32")
    model.eval()
    names = list(model.class_names)
    # the randomised models of the sanity check explain the trained model's target classes
    scorer = BatchScorer(
        model,
        evaluation,
        lambda m: make_explainer(method, m, {**options, "target-class": "true"}, convention),
        precision,
    )
    n = len(selection["clips"])
    out = HeatmapCollector(n)
    # clips done, rate and time left in the job log (the terminal, a SLURM log): with evaluation a clip takes minutes
    progress = Progress(n, f"explain {method}", log)
    with frozen_parameters(model), autocast(device, precision):
        for b in clip_batches(selection, by_id, spec, batch_size, num_workers, decoder):
            video = b.video.to(device, non_blocking=True)
            with precision_weights(model, precision):
                explained = explainer(video, b.labels.to(device), "true" if b.mixed else used["target-class"])
            expl, probs = explained.explanation, explained.probs
            scores: list[dict[str, Any]] = [{} for _ in b.positions]
            if evaluation.evaluate:
                scores = scorer(video, expl, None if b.mixed else b.samples, b.frame_indices, spec.size)
            for j, i in enumerate(b.positions):
                sel = selection["clips"][i]
                target, pred = int(expl.targets[j]), int(probs[j].argmax())
                record = ClipRecord(
                    sample_id=sel["sample_id"],
                    class_index=int(sel["class_index"]),
                    class_name=sel["class_name"],
                    sample_index=int(sel["sample_index"]),
                    label=int(b.labels[j]),
                    target=target,
                    target_name=names[target],
                    target_probability=float(probs[j, target]),
                    pred=pred,
                    pred_name=names[pred],
                    confidence=float(probs[j, pred]),
                    frame_indices=[int(f) for f in b.frame_indices[j]],
                    mix={**sel["mix"], "frame_indices": b.mixed_in_frames[j]} if b.mixed else None,
                    evaluation=scores[j] or None,
                )
                maps, importance = (
                    explained.maps[j].float().cpu().numpy(),
                    explained.importance[j].float().cpu().numpy(),
                )
                out.add(i, maps, importance, b.frames[j].numpy(), record)
            progress.update(len(b.positions))
        progress.finish()
    hs = out.heatmap_set(
        {
            **options,
            **used,
            "method": method,
            "conventions": convention,
            "precision": precision,
            "input_spec": spec.to_dict(),
            "evaluation": {**evaluation.to_dict(), "sanity_randomised": scorer.randomised},
            # perturbation explainers state their cost: masked forwards per clip (0 for the others)
            "masked_forwards": masked_forwards(method, used, spec.num_frames, spec.size),
        }
    )
    save_heatmaps(out_path, hs)
    return hs


def explain_batch_size(
    setup: ModelAndSplit,
    method: str,
    clips: int,
    options: dict[str, Any],
    given: int | None,
    mem_mb: float | None,
) -> int:
    """Clips explained together: ``given`` (``explain-batch-size``), else the most (up to every selected clip)
    whose estimate (:mod:`videoxai.setup.resources`, the one the rule declared ``mem_mb`` with) fits ``mem_mb``;
    :data:`FALLBACK_BATCH` for a model without a known footprint."""
    if given is not None:
        return max(1, int(given))
    fp = footprint_of_resolved(setup.resolved)
    if fp is None or mem_mb is None:
        return min(max(1, clips), FALLBACK_BATCH)
    evaluation = EvaluationSettings.from_options(options)
    job = ExplainJob(
        method,
        max(1, clips),
        len(setup.plan.class_names),
        evaluation.evaluate,
        evaluation.deletion_steps,
        perturbation_batch=int(options.get("perturbation-batch", 16)),
    )
    return explain_batch(fp, job, float(mem_mb))


def explain_stage(
    resolved_path: str | os.PathLike[str],
    selection_path: str | os.PathLike[str],
    dataset: dict[str, Any],
    method: str,
    options: dict[str, Any],
    out_path: str | os.PathLike[str],
    batch_size: int | None = None,
    num_workers: int = 0,
    device: str = "auto",
    decoder: str = "auto",
    class_mapping: ClassMappingSource | None = None,
    conventions: str = "standard",
    label_order: str = "standard",
    mem_mb: float | None = None,
) -> HeatmapSet:
    """The workflow's explain job: set the model up on the split, then :func:`explain_selection`.

    The model is set up as the extract stage set it up (the same
    :func:`~videoxai.setup.model_split.set_up` call), so the maps explain
    the predictions the clips were selected from: the test dataset's class
    names, or, for a closed-set model on another dataset, its own classes
    with the test labels mapped through ``class_mapping`` (``target-class:
    true`` then explains the mapped training class), hand-crafted prompts
    when ``use-handcrafted-prompts``, and the same ``decoder``.

    One view is explained: the segment centres (the frames a one-view
    extraction decodes), whatever ``num-temporal-views`` the predictions were
    made with, because a map is drawn over the frames of one (B, T, C, H, W)
    forward pass. Test-time augmentation is not applied either. The
    selection's prediction and confidence are the V-view (and TTA) average;
    the heatmaps file records the explained view's own. ``conventions``
    (the config key: ``standard`` | ``prompt-tuning``) picks the maps' convention;
    ``label_order`` is the predictions' (:func:`videoxai.conventions.label_order`).

    ``batch_size`` is the config's ``explain-batch-size``; None (``auto``):
    the most clips whose estimated memory fits ``mem_mb``, the job's budget
    (:func:`explain_batch_size`).
    """
    from videoxai.io import read_json
    from videoxai.setup.model_split import set_up

    selection = read_json(selection_path)
    setup = set_up(
        resolved_path,
        dataset,
        options.get("split", selection.get("split") or "test"),
        device=device,
        decoder=decoder,
        class_mapping=class_mapping,
        handcrafted_prompts=bool(options.get("use-handcrafted-prompts")),
        num_frames=options.get("num-frames"),
        num_views=1,
        spatial_views=1,
        label_order=label_order,
    )
    check_selection_classes(selection, setup.plan)
    batch_size = explain_batch_size(setup, method, len(selection["clips"]), options, batch_size, mem_mb)
    log.info(
        "explaining %d clips with %s on %s, %d per batch", len(selection["clips"]), method, setup.device, batch_size
    )
    return explain_selection(
        setup.model,
        selection,
        setup.mapped_samples(),
        method,
        options,
        out_path,
        batch_size,
        num_workers=num_workers,
        spec=setup.spec,
        decoder=setup.decoder,
        conventions=conventions,
    )
