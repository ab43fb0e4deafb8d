"""``custom: package.module:factory`` — a user's own video classifier.

The factory is named in the *workflow* configuration, never taken from a
checkpoint's ``config.json``: importing a module runs code, and a checkpoint
must never run code. The factory receives the checkpoint's config dict (class
names, anything else the user stored) and returns a
:class:`~videoxai.models.base.VideoClassifier`; weights are then loaded
safely into it.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # resolving a key checks only that the factory imports: torch is the factory's to import
    from videoxai.models.base import VideoClassifier

_SPEC = re.compile(r"^([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*):([A-Za-z_][\w]*)$")


def load_factory(spec: str) -> Callable[[dict], VideoClassifier]:
    """Import ``package.module:factory`` and return the callable."""
    m = _SPEC.match(spec or "")
    if not m:
        raise ValueError(f"custom model factory must look like 'package.module:factory', got {spec!r}")
    module_name, attr = m.groups()
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ImportError(f"cannot import module {module_name!r} of custom factory {spec!r}: {e}") from e
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise TypeError(f"{module_name!r} has no callable {attr!r} (custom factory {spec!r})")
    return factory


def build_custom(spec: str, config: dict) -> VideoClassifier:
    """Call the factory with the checkpoint config and check it returned a usable adapter."""
    from videoxai.models.base import InputSpec, VideoClassifier

    model = load_factory(spec)(config)
    if not isinstance(model, VideoClassifier):
        raise TypeError(
            f"custom factory {spec!r} returned {type(model).__name__}, not a videoxai.models.base.VideoClassifier"
        )
    missing = [a for a in ("class_names", "input_spec") if not hasattr(model, a)]
    if missing or not isinstance(model.input_spec, InputSpec):
        raise TypeError(
            f"custom model from {spec!r} must set class_names and input_spec (InputSpec); missing {missing}"
        )
    return model


def load_custom(spec: str, config: dict, weights: str | os.PathLike[str]) -> VideoClassifier:
    """The factory's model with ``weights`` loaded strictly (safely: safetensors or weights-only torch), eval mode."""
    from videoxai.models.checkpoints.weights import load_weights_into

    return load_weights_into(build_custom(spec, config), weights).eval()
