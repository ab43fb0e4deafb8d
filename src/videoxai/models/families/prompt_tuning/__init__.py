"""Prompt-tuning's six model families on a CLIP backbone, reproduced: ``video_coop``, ``dual_coop``, ``stt``,
``vidop``, ``vilt``, ``vita``.

Prompt-tuning is the public training code prompt-tuning's analysis scripts come from
(FabianScott/prompt-tuning-for-clip-based-action-recognition). Its run folders
hold ``config.json`` (the run config) and ``.pt`` files whose
``context_state_dict`` holds every trained parameter; the CLIP backbone is the
one ``clip-model`` names. :func:`build_prompt_tuning_model` builds the model a run
config describes around a ``transformers.CLIPModel``, and
``model.load_context_state_dict`` loads the trained parameters strictly.
"""

from videoxai.models.families.prompt_tuning.config import METHODS, RunOptions, method_of

# torch-free until a model is asked for: ``prompt_tuning.config`` is read while the workflow plans
_LAZY = {
    "build_prompt_tuning_model": "build",
    "model_class": "build",
    "CLIP_MEAN": "common",
    "CLIP_STD": "common",
    "PromptTuningModel": "common",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "METHODS",
    "RunOptions",
    "PromptTuningModel",
    "build_prompt_tuning_model",
    "method_of",
    "model_class",
]
