"""One model on one dataset split, set up once, the same way for every stage that runs it.

Extraction and explanation both call :func:`set_up`, so the maps explain the
model the predictions came from: the same checkpoint on the same device, the
same class plan (the test dataset's class names, or the model's own classes
with the test labels mapped through the class mapping), hand-crafted prompts
when asked, the same input spec and the same decoder.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import torch

from videoxai.data.datasets import load_split_info
from videoxai.data.splits import Sample, SplitInfo
from videoxai.models.base import InputSpec, VideoClassifier
from videoxai.models.checkpoints.record import ResolvedModel
from videoxai.models.checkpoints.resolve import load_resolved
from videoxai.setup.classes import ClassMappingSource, ClassPlan, plan_classes
from videoxai.setup.device import pick_device

# Dataset entry keys of the workflow's own; every other key of an entry is an option of its format's reader.
# (ground-truth: read by videoxai.explain.ground_truth, never by the reader.)
DATASET_KEYS = frozenset({"name", "format", "root", "split-id", "generate", "ground-truth"})


@dataclasses.dataclass
class ModelAndSplit:
    """A resolved model, on its device, set up to answer on a dataset split."""

    device: torch.device
    resolved: dict[str, Any]  # resolved.json: key, checkpoint sha256, adapter, ...
    model: VideoClassifier  # in eval mode, on ``device``, asked about ``plan.class_names``
    split: str
    info: SplitInfo  # the split's class names, samples, and clips listed but missing on disk
    plan: ClassPlan
    spec: InputSpec
    decoder: str

    @property
    def samples(self) -> list[Sample]:
        """The split's clips whose test class the model answers for (labels: the test dataset's class index)."""
        return [s for s in self.info.samples if self.plan.label_index[s.label] >= 0]

    @property
    def unmapped(self) -> list[Sample]:
        """The split's clips whose test class has no training class in the class mapping."""
        return [s for s in self.info.samples if self.plan.label_index[s.label] < 0]

    def mapped_samples(self) -> list[Sample]:
        """:attr:`samples` labelled by the model's class index (``plan.label_index``), as the predictions label them.

        ``label_name`` keeps the test dataset's own class name.
        """
        return [dataclasses.replace(s, label=self.plan.label_index[s.label]) for s in self.samples]


def set_up(
    resolved_path: str | os.PathLike[str],
    dataset: dict[str, Any],
    split: str,
    *,
    device: str = "auto",
    decoder: str = "auto",
    class_mapping: ClassMappingSource | None = None,
    handcrafted_prompts: bool = False,
    num_frames: int | None = None,
    num_views: int | None = None,
    spatial_views: int | None = None,
    label_order: str = "standard",
) -> ModelAndSplit:
    """Load the resolved model onto ``device`` and set it up on ``dataset``'s ``split``.

    ``class_mapping`` lets a closed-set model answer on another dataset (see
    :mod:`videoxai.setup.classes`); ``handcrafted_prompts`` is prompt-tuning's
    ``use-handcrafted-prompts``; ``num_frames``, ``num_views`` and
    ``spatial_views`` adjust the model's input spec (:func:`model_input_spec`).
    ``decoder`` is carried to every loader the stage makes. ``label_order``
    (:func:`videoxai.conventions.label_order`) is how labels meet the logit columns.
    """
    record = ResolvedModel.read(resolved_path)  # the model's config as resolved: no config.json read again
    dev = pick_device(device)
    model = load_resolved(record).to(dev).eval()  # the one model this job builds
    info = open_split(dataset, split)
    plan = plan_classes(model, info.class_names, class_mapping, label_order)
    if handcrafted_prompts:
        use_handcrafted_prompts(model)
    spec = model_input_spec(model, num_frames, num_views, spatial_views=spatial_views)
    return ModelAndSplit(dev, record.to_dict(), model, split, info, plan, spec, decoder)


def open_split(dataset: dict[str, Any], split: str) -> SplitInfo:
    """The split's samples; dataset options beyond the common ones go to the format reader."""
    opts = {k: v for k, v in dataset.items() if k not in DATASET_KEYS}
    return load_split_info(dataset["format"], dataset["root"], split, dataset.get("split-id", 1), **opts)


def use_handcrafted_prompts(model: VideoClassifier) -> None:
    """Prompt-tuning's `use-handcrafted-prompts`: a fixed template instead of learned context."""
    if not hasattr(model, "set_handcrafted_prompts"):
        raise ValueError(
            f"use-handcrafted-prompts is on, but {model.method or type(model).__name__} has no text prompts; "
            "turn the option off for this model"
        )
    model.set_handcrafted_prompts(True)


def model_input_spec(
    model: VideoClassifier, num_frames: int | None, num_views: int | None = None, spatial_views: int | None = None
) -> InputSpec:
    """The model's input spec with the config's ``num-frames`` and ``num-temporal-views`` (None: the model's own).

    ``spatial_views`` (the config's ``num-spatial-views``: 1 or 3; None: the
    model's own) applies to prompt-tuning models (``pipeline='prompt-tuning'``),
    whose spec carries the run config's ``num-spatial-views``; other models
    take one spatial view only. One map is drawn over one view, so the
    explain stage asks for 1 temporal x 1 spatial view.
    """
    spec = model.input_spec
    if spatial_views is not None and spec.pipeline == "prompt-tuning":
        spec = dataclasses.replace(spec, spatial_views=spatial_views)
    elif spatial_views is not None and spatial_views != 1:
        raise ValueError(
            f"num-spatial-views is {spatial_views}, but {model.method or type(model).__name__} takes one spatial "
            "view (only the prompt-tuning families crop 3); set num-spatial-views to 1 or null"
        )
    if num_views is not None:
        if isinstance(num_views, bool) or not isinstance(num_views, int) or num_views < 1:
            raise ValueError(f"num-temporal-views must be a positive integer or null, got {num_views!r}")
        spec = dataclasses.replace(spec, num_views=num_views)
    if num_frames is None or num_frames == spec.num_frames:
        return spec
    if getattr(model, "fixed_num_frames", True):
        raise ValueError(
            f"config 'num-frames: {num_frames}' but this model takes exactly {spec.num_frames} frames; "
            f"set num-frames to {spec.num_frames}"
        )
    setter = getattr(model, "set_num_frames", None)
    if setter is not None:  # the model's own spec and token layout follow (explainers read them)
        setter(num_frames)
    return dataclasses.replace(spec, num_frames=num_frames)
