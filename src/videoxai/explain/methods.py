"""The explainer registry: config name -> class, and option handling shared by all methods."""

from __future__ import annotations

from typing import Any

from videoxai.explain.base import Explainer
from videoxai.explain.grad_rollout import GradRollout
from videoxai.explain.gradcam import GradCAM
from videoxai.explain.legrad import LeGrad
from videoxai.explain.occlusion import Occlusion
from videoxai.explain.options import COMMON_OPTIONS, check_common_options, config_names, effective_convention
from videoxai.explain.rise import RISE
from videoxai.explain.rollout import (
    AttentionRollout,
    AttentionRolloutCLS,
    AttentionRolloutCLSWeighted,
)
from videoxai.models.base import VideoClassifier

METHODS: dict[str, type[Explainer]] = {
    cls.name: cls for cls in (AttentionRollout, AttentionRolloutCLS, AttentionRolloutCLSWeighted, GradCAM, GradRollout)
}
# Text-conditioned explainers of issue #31 (the class's text similarity on CLIP models), kept apart as the
# perturbation explainers are: METHODS stays the set prompt-tuning's explainer knows of (rollouts, Grad-CAM) and ours
TEXT_CONDITIONED_METHODS: dict[str, type[Explainer]] = {cls.name: cls for cls in (LeGrad,)}
# Perturbation explainers: model-agnostic (logits only), so kept apart from the methods that read a model's internals
PERTURBATION_METHODS: dict[str, type[Explainer]] = {cls.name: cls for cls in (Occlusion, RISE)}
ALL_METHODS: dict[str, type[Explainer]] = {**METHODS, **TEXT_CONDITIONED_METHODS, **PERTURBATION_METHODS}


def explainer_class(method: str, convention: str = "standard") -> type[Explainer]:
    """The class of ``method`` under ``convention`` (``prompt-tuning``: prompt-tuning's form where it has one)."""
    if method not in ALL_METHODS:
        raise ValueError(f"unknown explainer-method {method!r}: choose from {sorted(ALL_METHODS)}")
    if effective_convention(method, convention) == "prompt-tuning":
        from videoxai.explain.prompt_tuning import PROMPT_TUNING_EXPLAINERS

        return PROMPT_TUNING_EXPLAINERS[method]
    return ALL_METHODS[method]


def effective_options(method: str, options: dict[str, Any] | None, convention: str = "standard") -> dict[str, Any]:
    """The options ``method`` uses, defaults filled in and values checked.

    Keys are accepted with ``-`` or ``_``. Keys that belong to other methods
    or other stages (the workflow passes one options dict to every explainer)
    are ignored here; the caller records them as given.
    """
    given = config_names(options)
    cls = explainer_class(method, convention)
    out = {**COMMON_OPTIONS, **cls.options}
    out.update({k: v for k, v in given.items() if k in out})
    check_common_options(out)
    return out


def make_explainer(
    method: str, model: VideoClassifier, options: dict[str, Any] | None = None, convention: str = "standard"
) -> Explainer:
    """An explainer for ``model`` with ``options`` (config names) under ``convention``; raises with the bad key named."""
    cls = explainer_class(method, convention)
    return cls(model, **effective_options(method, options, convention))
