"""The model families, and the one place that decides which family builds a checkpoint.

Four families, each owning its builder and its conversion of foreign checkpoints:

* ``demo``: the demo's space-time tower (``video_coop``, ``dual_coop``, ``stt`` with ``model.backbone``
  ``demo``/``spacetime`` or none), :mod:`.demo.models`;
* ``prompt-tuning``: the upstream's families on a CLIP backbone, from a run folder of its training code
  (:mod:`.prompt_tuning.run_folder`) or from a videoxai ``config.json`` whose ``model.backbone`` is ``clip``
  (:func:`.prompt_tuning.build.from_registry_config`);
* ``torchvision``: torchvision's video classifiers (:mod:`.torchvision_video`; Kinetics-400 weights of torch hub);
* ``custom``: a user's ``package.module:factory`` named in the workflow config (:mod:`.custom`).

:func:`family_of` reads a checkpoint's config (and the workflow's factory for its key) and names the family;
:func:`build_model` builds a videoxai config through it. The classes of the demo and torchvision families
register under their method names (:func:`register_method`), each module imported only when a checkpoint
needs it. This module stays free of torch: the workflow reads it while planning.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from videoxai.models.checkpoints.config import is_run_folder_config
from videoxai.models.families.prompt_tuning.config import METHODS as PROMPT_TUNING_METHODS

if TYPE_CHECKING:
    from videoxai.models.base import VideoClassifier

DEMO = "demo"
PROMPT_TUNING = "prompt-tuning"
TORCHVISION = "torchvision"
CUSTOM = "custom"
FAMILIES = (DEMO, PROMPT_TUNING, TORCHVISION, CUSTOM)

DEMO_METHODS = ("video_coop", "dual_coop", "stt")
TORCHVISION_METHODS = ("r3d_18", "r2plus1d_18", "mc3_18", "s3d", "mvit_v2_s", "swin3d_t")
CLIP_BACKBONE = "clip"  # model.backbone of a videoxai config that holds a prompt-tuning model

_METHODS: dict[str, type[VideoClassifier]] = {}
# the family of each class-registered method, and the module that registers it when imported: only the one
# a checkpoint needs is imported (torchvision alone costs ~2 s of every job's start)
_CLASS_FAMILIES = {
    DEMO: (DEMO_METHODS, "videoxai.models.families.demo.models"),
    TORCHVISION: (TORCHVISION_METHODS, "videoxai.models.families.torchvision_video"),
}
_FAMILY_OF_METHOD = {m: family for family, (methods, _) in _CLASS_FAMILIES.items() for m in methods}
_MODULE_OF_METHOD = {m: module for methods, module in _CLASS_FAMILIES.values() for m in methods}


def family_of(method: str | None, config: Mapping[str, Any], factory: str | None = None) -> str | None:
    """The family that builds a checkpoint of ``method`` with this ``config.json``; None when no family does.

    ``factory`` is the workflow's ``custom`` entry for the key (a checkpoint never names code itself).
    """
    if factory:
        return CUSTOM
    if is_run_folder_config(config):
        return PROMPT_TUNING
    if _backbone(config) == CLIP_BACKBONE:
        return PROMPT_TUNING if method in PROMPT_TUNING_METHODS else None
    return _FAMILY_OF_METHOD.get(method)  # type: ignore[arg-type]


def _backbone(config: Mapping[str, Any]) -> Any:
    model = config.get("model")
    return model.get("backbone") if isinstance(model, Mapping) else None


def register_method(
    name: str,
) -> Callable[[type[VideoClassifier]], type[VideoClassifier]]:
    """Class decorator: make ``build_model(name, config)`` construct this class (the demo and torchvision families)."""

    def deco(cls: type[VideoClassifier]) -> type[VideoClassifier]:
        if name in _METHODS and _METHODS[name] is not cls:
            raise ValueError(f"method {name!r} is already registered to {_METHODS[name].__name__}")
        _METHODS[name] = cls
        cls.method = name
        return cls

    return deco


def _load_builtins(method: str | None = None) -> None:
    """Import the module registering ``method`` (all built-in modules when None or unknown)."""
    if method in _METHODS:
        return
    modules = [_MODULE_OF_METHOD[method]] if method in _MODULE_OF_METHOD else sorted(set(_MODULE_OF_METHOD.values()))
    for mod in modules:
        importlib.import_module(mod)


def available_methods() -> list[str]:
    """Every method name a checkpoint may give: the built-in ones of every family (none imported for this)."""
    return sorted(set(_MODULE_OF_METHOD) | set(PROMPT_TUNING_METHODS) | set(_METHODS))


def method_class(method: str) -> type[VideoClassifier]:
    """The class a demo or torchvision method is built by (its module imported now)."""
    _load_builtins(method)
    try:
        return _METHODS[method]
    except KeyError:
        raise KeyError(f"unknown model method {method!r}; known methods: {', '.join(available_methods())}") from None


def build_model(method: str, config: Mapping[str, Any]) -> VideoClassifier:
    """A freshly initialised model of ``method`` from a videoxai checkpoint config, by the family it belongs to.

    A prompt-tuning run folder's config records no class names and is loaded through resolution
    (:func:`videoxai.load_model`); a custom model is built by its factory (:mod:`.custom`).
    """
    if is_run_folder_config(config):
        raise ValueError(
            "this is a prompt-tuning run folder's config (it names clip-model): load the run with "
            "videoxai.load_model(key, checkpoint_paths=..., class_names=...) or resolve it"
        )
    if family_of(method, config) == PROMPT_TUNING:
        from videoxai.models.families.prompt_tuning.build import from_registry_config

        return from_registry_config(method, config)
    return method_class(method).from_config(dict(config))
