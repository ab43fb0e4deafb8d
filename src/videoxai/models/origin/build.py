"""Build the origin model a run config describes, around a given CLIP backbone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn

from .common import OriginPromptModel
from .config import OriginOptions


def origin_model_class(method: str) -> type[OriginPromptModel]:
    """``video_coop`` -> OriginCoOp, ``dual_coop`` -> OriginDual, ``stt`` -> OriginSTT."""
    if method == "video_coop":
        from .coop import OriginCoOp

        return OriginCoOp
    if method == "dual_coop":
        from .dual import OriginDual

        return OriginDual
    if method == "stt":
        from .stt import OriginSTT

        return OriginSTT
    raise ValueError(
        f"unknown origin method {method!r}; expected video_coop, dual_coop or stt"
    )


def build_origin_model(
    run_config: Mapping[str, Any],
    class_names: Sequence[str],
    clip: nn.Module,
    *,
    method: str | None = None,
    tokenizer: Any | None = None,
) -> OriginPromptModel:
    """The model of ``run_config`` (an origin ``config.json`` dict) on ``clip`` (a ``transformers.CLIPModel``).

    ``method`` overrides the config's own (``prompt-optimisation-method``);
    ``tokenizer`` defaults to the one saved with ``clip`` (its folder or Hub
    id, offline). The context learner starts freshly initialised: load the
    run's weights with ``model.load_context_state_dict(ckpt["context_state_dict"])``.
    The model is in eval mode, its CLIP frozen.
    """
    options = OriginOptions.from_run_config(run_config, method)
    if not hasattr(clip, "vision_model") or not hasattr(clip, "text_model"):
        raise TypeError(
            f"the backbone must be a transformers CLIPModel, got {type(clip).__name__}"
        )
    return origin_model_class(options.method)(options, class_names, clip, tokenizer)
