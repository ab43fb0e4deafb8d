"""The explanation options table: every explainer and evaluation option, by config name, with its default.

This is the one home of these defaults (no torch import): the config
schema's defaults must equal them (``tests/unit/test_options_table.py``),
the workflow reads the table on every ``snakemake`` start to pass each
explain job only the options its method uses (:func:`job_options`: changing
one reruns only that method), the explainer classes take their ``options``
from it, and the explain stage fills in and checks what it was given here.

``conventions: prompt-tuning`` (see :mod:`videoxai.explain.prompt_tuning`) has its own table:
prompt-tuning's rollout variants all take ``head-fusion`` (``mean`` | ``max``)
and ``discard-ratio``; ``use-cls-token`` is videoxai's option (prompt-tuning has
none) and keeps its meaning. Methods prompt-tuning lacks (``grad-rollout``) run
as under ``standard``. What a convention cannot define on a model family
(:data:`UNDEFINED_UNDER_PROMPT_TUNING`) is refused while planning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from videoxai.conventions import PROMPT_TUNING, STANDARD, check_convention

TARGETS = ("predicted", "true")

# Options every method understands.
COMMON_OPTIONS: dict[str, Any] = {"target-class": "predicted", "weighted-by-predictions": False}

METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    "attention-rollout": {"head-fusion": "mean", "discard-ratio": 0.0, "use-cls-token": True},
    "attention-rollout-cls": {"head-fusion": "mean", "eps": 1e-6},
    "attention-rollout-cls-weighted": {"head-fusion": "mean", "discard-ratio": 0.0},
    "grad-cam": {},
    "grad-rollout": {},
    # logit: the model's own logit at every layer; layers: LeGrad's CLIP readout (prompt-tuning families)
    "legrad": {"legrad-readout": "logit"},
    # perturbation explainers (model-agnostic): box and mask budgets, masked copies per forward, what masking fills
    "occlusion": {
        "occlusion-patch": 0.25,
        "occlusion-stride": 0.125,
        "occlusion-frames": 2,
        "occlusion-frame-stride": 2,
        "perturbation-batch": 16,
        "perturbation-fill": "mean",
    },
    "rise": {
        "rise-masks": 256,
        "rise-cells": 7,
        "rise-cell-frames": 4,
        "rise-keep": 0.5,
        "rise-seed": 0,
        "perturbation-batch": 16,
        "perturbation-fill": "mean",
    },
}

PROMPT_TUNING_METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    "attention-rollout": {"head-fusion": "mean", "discard-ratio": 0.0, "use-cls-token": True},
    "attention-rollout-cls": {"head-fusion": "mean", "discard-ratio": 0.0},
    "attention-rollout-cls-weighted": {"head-fusion": "mean", "discard-ratio": 0.0},
    "grad-cam": {},
}

# What a convention cannot define, by explainer and model family (the registry's family names): refused while
# planning (videoxai.preflight.explainer_errors), before any job. Prompt-tuning's Grad-CAM weighs the last CLIP layer's
# layer_norm2 of its per-frame tower, whose image tokens never reach the output: on prompt-tuning's own models every
# map is 0 / 0 (its golden maps are NaN). On the demo, torchvision and custom models it weighs their own layer.
UNDEFINED_UNDER_PROMPT_TUNING: dict[str, dict[str, str]] = {
    "grad-cam": {
        "prompt-tuning": "its Grad-CAM hooks the last CLIP layer's layer_norm2, whose image tokens get no gradient, "
        "so every map is 0 / 0",
    },
}

# Prompt-tuning's rollouts view each frame's CLS row as a square patch grid: kept visual prompts break it.
PATCH_GRID_ROLLOUTS = ("attention-rollout", "attention-rollout-cls", "attention-rollout-cls-weighted")
KEPT_PROMPTS_REASON = (
    "keep-vision-prompts-throughout: true keeps its visual prompts among each frame's tokens, which prompt-tuning's "
    "rollout cannot lay on the patch grid (its own explainer fails on them too)"
)

# The explain stage's own settings beside the method's: the model-based evaluation of the maps.
EVALUATION_SETTINGS: dict[str, Any] = {
    "evaluate": True,  # deletion/insertion AUCs and the cascading randomisation sanity check, per clip
    "deletion-steps": 16,
    "deletion-baseline": "mean",  # or "blur" (RISE's pair: delete to the mean, insert from a blur)
    "insertion-baseline": "blur",  # or "mean"
    "sanity-steps": 4,
    "evaluation-seed": 0,
}
BASELINES = ("blur", "mean")

# Options of the table that are not config keys: the workflow runs them at these defaults (Python callers may set them).
NOT_CONFIG_KEYS = frozenset({"eps", "evaluation-seed"})


def option_key(key: str) -> str:
    """The config name of an option given with ``_`` or ``-`` (``use_cls_token`` -> ``use-cls-token``)."""
    return key.replace("_", "-")


def config_names(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``options`` with every key in its config name (:func:`option_key`)."""
    return {option_key(k): v for k, v in (options or {}).items()}


def effective_convention(method: str, convention: str) -> str:
    """The convention ``method`` runs under: ``prompt-tuning`` only where prompt-tuning has that method."""
    if check_convention(convention) == PROMPT_TUNING and method in PROMPT_TUNING_METHOD_OPTIONS:
        return PROMPT_TUNING
    return STANDARD


def undefined_reason(
    method: str, convention: str, family: str | None, prompts_in_frame_attention: bool = False
) -> str | None:
    """Why ``convention`` cannot define ``method``'s maps on a model of ``family``, or None where it can.

    ``prompts_in_frame_attention``: the model keeps visual prompts among each frame's tokens (a prompt-tuning run's
    ``RunOptions.prompts_in_frame_attention``), which prompt-tuning's rollouts cannot lay on the patch grid.
    """
    if family is None or effective_convention(method, convention) != PROMPT_TUNING:
        return None
    if prompts_in_frame_attention and method in PATCH_GRID_ROLLOUTS:
        return KEPT_PROMPTS_REASON
    return UNDEFINED_UNDER_PROMPT_TUNING.get(method, {}).get(family)


def method_options(method: str, convention: str = "standard") -> dict[str, Any]:
    """The options (config names -> defaults) ``method`` takes under ``convention``."""
    table = (
        PROMPT_TUNING_METHOD_OPTIONS if effective_convention(method, convention) == PROMPT_TUNING else METHOD_OPTIONS
    )
    if method not in table:
        raise ValueError(f"unknown explainer-method {method!r}: choose from {sorted(METHOD_OPTIONS)}")
    return table[method]


def check_common_options(options: Mapping[str, Any]) -> None:
    """Reject bad values of the options every method takes, with the option named."""
    if options["target-class"] not in TARGETS:
        raise ValueError(f"option target-class must be one of {list(TARGETS)}, got {options['target-class']!r}")
    if not isinstance(options["weighted-by-predictions"], bool):
        raise ValueError(
            f"option weighted-by-predictions must be true or false, got {options['weighted-by-predictions']!r}"
        )


@dataclasses.dataclass(frozen=True)
class EvaluationSettings:
    """How the explain stage scores its maps (:data:`EVALUATION_SETTINGS`, checked)."""

    evaluate: bool
    deletion_steps: int
    deletion_baseline: str
    insertion_baseline: str
    sanity_steps: int
    seed: int

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> EvaluationSettings:
        """The settings in ``options`` (keys with ``-`` or ``_``; others ignored), defaults filled in, checked."""
        given = config_names(options)
        out = {k: given.get(k, default) for k, default in EVALUATION_SETTINGS.items()}
        if not isinstance(out["evaluate"], bool):
            raise ValueError(f"option evaluate must be true or false, got {out['evaluate']!r}")
        for key in ("deletion-steps", "sanity-steps"):
            if isinstance(out[key], bool) or not isinstance(out[key], int) or out[key] < 1:
                raise ValueError(f"option {key} must be a positive integer, got {out[key]!r}")
        for key in ("deletion-baseline", "insertion-baseline"):
            if out[key] not in BASELINES:
                raise ValueError(f"option {key} must be 'blur' or 'mean', got {out[key]!r}")
        return cls(
            out["evaluate"],
            out["deletion-steps"],
            out["deletion-baseline"],
            out["insertion-baseline"],
            out["sanity-steps"],
            out["evaluation-seed"],
        )

    def to_dict(self) -> dict[str, Any]:
        """By config name, in the table's order (recorded in the heatmaps file's ``params.evaluation``)."""
        return dict(zip(EVALUATION_SETTINGS, dataclasses.astuple(self), strict=True))


def job_options(method: str, convention: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config values one explain job of ``method`` takes: only the options it uses.

    Every method takes the common options, ``num-frames`` and the evaluation
    settings the config has; then its own options under ``standard``, and
    those it takes only under ``prompt-tuning`` (``discard-ratio`` for ``-cls``).
    Keys the config lacks (:data:`NOT_CONFIG_KEYS`) stay at their defaults.
    The order is stable, because Snakemake compares a job's parameters by
    their ``repr``: a new order would rerun finished jobs.
    """
    common = ["weighted-by-predictions", "target-class", "num-frames"]
    evaluation = [k for k in EVALUATION_SETTINGS if k not in NOT_CONFIG_KEYS]
    own = [k for k in method_options(method) if k in config]
    options = {k: config[k] for k in [*common, *evaluation, *own]}
    options["target-class"] = str(options["target-class"]).lower()  # YAML's true (the label) is the string "true"
    prompt_tuning_only = method_options(method, effective_convention(method, convention))
    return {**options, **{k: config[k] for k in prompt_tuning_only if k in config and k not in options}}
