"""The origin's three model families on a CLIP backbone, reproduced: ``video_coop``, ``dual_coop``, ``stt``.

The origin is the public training code the seed's scripts come from
(FabianScott/prompt-tuning-for-clip-based-action-recognition). Its run folders
hold ``config.json`` (the run config) and ``.pt`` files whose
``context_state_dict`` holds every trained parameter; the CLIP backbone is the
one ``clip-model`` names. :func:`build_origin_model` builds the model a run
config describes around a ``transformers.CLIPModel``, and
``model.load_context_state_dict`` loads the trained parameters strictly.
"""

from .build import build_origin_model, origin_model_class
from .common import CLIP_MEAN, CLIP_STD, OriginPromptModel
from .config import METHODS, OriginOptions, method_of

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "METHODS",
    "OriginOptions",
    "OriginPromptModel",
    "build_origin_model",
    "method_of",
    "origin_model_class",
]
