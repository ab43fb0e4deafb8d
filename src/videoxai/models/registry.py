"""Model registry: method name → adapter class, so a checkpoint's ``config.json`` rebuilds its model.

A registered class provides ``from_config(config: dict)`` and ``get_config() -> dict``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .base import VideoClassifier

_METHODS: dict[str, type[VideoClassifier]] = {}
# modules that register built-in methods when imported (kept lazy: importing one
# family must not pull in every dependency)
_BUILTIN_MODULES = ("videoxai.models.video_coop", "videoxai.models.torchvision_video")


def register_method(
    name: str,
) -> Callable[[type[VideoClassifier]], type[VideoClassifier]]:
    """Class decorator: make ``build_model(name, config)`` construct this class."""

    def deco(cls: type[VideoClassifier]) -> type[VideoClassifier]:
        if name in _METHODS and _METHODS[name] is not cls:
            raise ValueError(
                f"method {name!r} is already registered to {_METHODS[name].__name__}"
            )
        _METHODS[name] = cls
        cls.method = name
        return cls

    return deco


def _load_builtins() -> None:
    for mod in _BUILTIN_MODULES:
        importlib.import_module(mod)


def available_methods() -> list[str]:
    _load_builtins()
    return sorted(_METHODS)


def method_class(method: str) -> type[VideoClassifier]:
    _load_builtins()
    try:
        return _METHODS[method]
    except KeyError:
        raise KeyError(
            f"unknown model method {method!r}; known methods: {', '.join(sorted(_METHODS))}"
        ) from None


def build_model(method: str, config: dict) -> VideoClassifier:
    """A freshly initialised model of ``method`` from a checkpoint-style config dict."""
    return method_class(method).from_config(config)
