"""Model registry: method name → adapter class, so a checkpoint's ``config.json`` rebuilds its model.

A registered class provides ``from_config(config: dict)`` and ``get_config() -> dict``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the registry itself stays free of torch: the workflow reads it while planning
    from videoxai.models.base import VideoClassifier

_METHODS: dict[str, type[VideoClassifier]] = {}
# the module that registers each built-in method when imported: only the one a
# checkpoint needs is imported (torchvision alone costs ~2 s of every job's start)
_DEMO_FAMILIES = "videoxai.models.families.demo.models"
_TORCHVISION = "videoxai.models.families.torchvision_video"
TORCHVISION_METHODS = ("r3d_18", "r2plus1d_18", "mc3_18", "s3d", "mvit_v2_s", "swin3d_t")
_BUILTIN_MODULES: dict[str, str] = {
    "video_coop": _DEMO_FAMILIES,
    "dual_coop": _DEMO_FAMILIES,
    "stt": _DEMO_FAMILIES,
    # the families only prompt-tuning has: its own models on a CLIP backbone
    **{m: f"videoxai.models.families.prompt_tuning.{m}" for m in ("vidop", "vilt", "vita")},
    **{arch: _TORCHVISION for arch in TORCHVISION_METHODS},
}


def register_method(
    name: str,
) -> Callable[[type[VideoClassifier]], type[VideoClassifier]]:
    """Class decorator: make ``build_model(name, config)`` construct this class."""

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
    modules = [_BUILTIN_MODULES[method]] if method in _BUILTIN_MODULES else sorted(set(_BUILTIN_MODULES.values()))
    for mod in modules:
        importlib.import_module(mod)


def available_methods() -> list[str]:
    """Every method name a checkpoint may give: the built-in ones (none imported for this) and any registered."""
    return sorted(set(_BUILTIN_MODULES) | set(_METHODS))


def method_class(method: str) -> type[VideoClassifier]:
    _load_builtins(method)
    try:
        return _METHODS[method]
    except KeyError:
        raise KeyError(f"unknown model method {method!r}; known methods: {', '.join(available_methods())}") from None


def build_model(method: str, config: dict) -> VideoClassifier:
    """A freshly initialised model of ``method`` from a checkpoint-style config dict."""
    return method_class(method).from_config(config)
