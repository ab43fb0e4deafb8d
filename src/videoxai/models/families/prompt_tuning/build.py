"""Build the prompt-tuning model a run config describes, around a given CLIP backbone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from torch import nn

from videoxai.models.families.prompt_tuning.config import RunOptions

if TYPE_CHECKING:
    from videoxai.models.families.prompt_tuning.common import PromptTuningModel


# method -> (module, class): imported when asked for
_CLASSES = {
    "video_coop": ("coop", "CoOpModel"),
    "dual_coop": ("dual", "DualModel"),
    "stt": ("stt", "STTModel"),
    "vidop": ("vidop", "VidOpModel"),
    "vilt": ("vilt", "ViLTModel"),
    "vita": ("vita", "ViTaModel"),
}


def model_class(method: str) -> type[PromptTuningModel]:
    """``video_coop`` -> CoOpModel, ``dual_coop`` -> DualModel, ``stt`` -> STTModel, ``vidop``, ``vilt``, ``vita``."""
    if method not in _CLASSES:
        raise ValueError(f"unknown prompt-tuning method {method!r}; expected one of {', '.join(_CLASSES)}")
    import importlib

    module, name = _CLASSES[method]
    return getattr(importlib.import_module(f"videoxai.models.families.prompt_tuning.{module}"), name)


def build_prompt_tuning_model(
    run_config: Mapping[str, Any],
    class_names: Sequence[str],
    clip: nn.Module,
    *,
    method: str | None = None,
    tokenizer: Any | None = None,
) -> PromptTuningModel:
    """The model of ``run_config`` (a prompt-tuning ``config.json`` dict) on ``clip`` (a ``transformers.CLIPModel``).

    ``method`` overrides the config's own (``prompt-optimisation-method``);
    ``tokenizer`` defaults to the one saved with ``clip`` (its folder or Hub
    id, offline). The context learner starts freshly initialised: load the
    run's weights with ``model.load_context_state_dict(ckpt["context_state_dict"])``.
    The model is in eval mode, its CLIP frozen.
    """
    options = RunOptions.from_run_config(run_config, method)
    if not hasattr(clip, "vision_model") or not hasattr(clip, "text_model"):
        raise TypeError(f"the backbone must be a transformers CLIPModel, got {type(clip).__name__}")
    return model_class(options.method)(options, class_names, clip, tokenizer)


def load_clip(clip_model: str | None = None, clip_config: Mapping[str, Any] | None = None) -> nn.Module:
    """A ``CLIPModel``: a folder or cached Hub id (offline only), or random weights from a config dict."""
    from transformers import CLIPConfig, CLIPModel

    if clip_config is not None:
        return CLIPModel(CLIPConfig(**clip_config)).eval()
    if not clip_model:
        raise ValueError("a CLIP-backbone model needs model.clip_model (Hub id or folder) or model.clip_config")
    try:
        return CLIPModel.from_pretrained(clip_model, local_files_only=True).eval()
    except (OSError, ValueError) as e:
        raise FileNotFoundError(
            f"CLIP backbone {clip_model!r} is not available offline: it must be a folder holding config.json and "
            f"model.safetensors, or a Hub id in the Hugging Face cache ($HF_HOME/hub, default "
            f"~/.cache/huggingface/hub); fetch it once with `hf download {clip_model}` where there is internet. ({e})"
        ) from e


def from_registry_config(method: str, config: Mapping[str, Any]) -> PromptTuningModel:
    """Rebuild from a videoxai checkpoint config ``{"class_names", "model": {"backbone": "clip", ...}}``.

    ``model.run_config`` is the prompt-tuning run config (defaults for what it
    omits); the backbone is ``model.clip_model`` (else the run config's
    ``clip-model``) or a random one from ``model.clip_config``.
    """
    m = config.get("model", {})
    run_config = dict(m.get("run_config") or {})
    clip = load_clip(
        m.get("clip_model") or (None if m.get("clip_config") else run_config.get("clip-model")),
        m.get("clip_config"),
    )
    return build_prompt_tuning_model(run_config, config["class_names"], clip, method=method)
