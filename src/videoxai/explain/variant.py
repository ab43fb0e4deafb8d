"""An explainer folder's name: the method, then a suffix for each setting of its results not at its default.

A result's identity is every setting that changes its numbers (docs/comparisons.md). The split names the
predictions' settings (:class:`videoxai.keys.SplitVariant`); the explainer folder names the rest: the method's own
options, the evaluation settings and the clip selection, each ``+{name}-{value}`` where it differs from its default,
in the order of :data:`EXPLAINER_SUFFIXES` then :data:`SELECTION_SUFFIXES`::

    attention-rollout                                   every setting at its default (the plain name of earlier runs)
    grad-rollout+target-true                            target-class: true
    attention-rollout+fusion-max+discard-0.5+classes-8  head-fusion: max, discard-ratio: 0.5, classes-to-map: 8

Only the options the method takes name its folder (``head-fusion`` never names ``grad-cam``'s), so changing one
makes new results of that method alone. The selection's part also names ``selection{suffix}.json``, which every
explainer of that selection shares. Values: ``true`` / ``false``, numbers as the shortest text that reads back to
the same number, words as they are; a list (``classes-to-map: [a, b]``, ``classes-to-mix: [[a, b]]``) as ``list``
and the first 8 hex digits of its JSON's sha256 (the selection file records the list). :meth:`ExplainerVariant.parse`
and ``str`` are each other's inverse; :data:`EXPLAINER_VARIANT_PATTERN` and :data:`SELECTION_VARIANT_PATTERN` are the
Snakemake wildcards. Not in the name: ``perturbation-batch`` (how many masked copies go through the model at once,
not what they give) and ``num-frames`` (the split's ``+f{N}``). No torch.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from videoxai.explain.options import (
    COMMON_OPTIONS,
    EVALUATION_SETTINGS,
    METHOD_OPTIONS,
    NOT_CONFIG_KEYS,
    effective_convention,
    method_options,
)
from videoxai.keys import number_text

# config key -> its name in a folder, in the order the names come
EXPLAINER_SUFFIXES: dict[str, str] = {
    "target-class": "target",
    "weighted-by-predictions": "weighted",
    "head-fusion": "fusion",
    "discard-ratio": "discard",
    "use-cls-token": "cls",
    "legrad-readout": "readout",
    "occlusion-patch": "patch",
    "occlusion-stride": "stride",
    "occlusion-frames": "box-frames",
    "occlusion-frame-stride": "frame-stride",
    "rise-masks": "masks",
    "rise-cells": "cells",
    "rise-cell-frames": "cell-frames",
    "rise-keep": "keep",
    "rise-seed": "rise-seed",
    "perturbation-fill": "fill",
    "evaluate": "evaluate",
    "deletion-steps": "deletion-steps",
    "deletion-baseline": "deletion",
    "insertion-baseline": "insertion",
    "sanity-steps": "sanity-steps",
}
SELECTION_SUFFIXES: dict[str, str] = {
    "classes-to-map": "classes",
    "samples-per-class": "samples",
    "classes-to-mix": "pairs",
    "mix-mode": "mix",
    "selection-seed": "seed",
    "prefer-annotated": "annotated",
}
# The selection settings' defaults (the schema's: tests/unit/test_options_table.py)
SELECTION_SETTINGS: dict[str, Any] = {
    "classes-to-map": 4,
    "samples-per-class": 2,
    "classes-to-mix": None,
    "mix-mode": "box",
    "selection-seed": 0,
    "prefer-annotated": False,
}
# the settings that only bound memory or live in the split: never in a folder's name
NOT_NAMED = frozenset({"perturbation-batch", "num-frames"})
EVALUATION_KEYS = tuple(k for k in EVALUATION_SETTINGS if k not in NOT_CONFIG_KEYS)
_DEFAULTS: dict[str, Any] = {
    **COMMON_OPTIONS,
    **{k: v for table in METHOD_OPTIONS.values() for k, v in table.items()},
    **{k: EVALUATION_SETTINGS[k] for k in EVALUATION_KEYS},
    "discard-ratio": 0.0,
}
_VALUE = r"[A-Za-z0-9.]+"
_METHOD = r"[a-z]+(?:-[a-z]+)*"
_EXPLAINER_TOKEN = "|".join(re.escape(n) for n in EXPLAINER_SUFFIXES.values())
_SELECTION_TOKEN = "|".join(re.escape(n) for n in SELECTION_SUFFIXES.values())
SELECTION_VARIANT_PATTERN = rf"(?:\+(?:{_SELECTION_TOKEN})-{_VALUE})*"
EXPLAINER_VARIANT_PATTERN = rf"{_METHOD}(?:\+(?:{_EXPLAINER_TOKEN})-{_VALUE})*{SELECTION_VARIANT_PATTERN}"
_TOKEN_RE = re.compile(rf"^([a-z]+(?:-[a-z]+)*)-({_VALUE})$")


class ExplainerVariantError(ValueError):
    pass


def list_digest(value: list[Any]) -> str:
    """``list`` and 8 hex digits of the list's JSON: a list of class names (or pairs) in a name."""
    return "list" + hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:8]


def _text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return list_digest(value)
    if isinstance(value, float):
        return number_text(value)
    text = str(value)
    if not re.fullmatch(_VALUE, text):
        raise ExplainerVariantError(f"{key}: {value!r} cannot name a folder (letters, digits and '.' only)")
    return text


def _value(key: str, text: str, default: Any) -> Any:
    """The setting ``text`` names, of the default's type (a list stays its ``list…`` digest)."""
    if text.startswith("list"):
        return text
    try:
        if isinstance(default, bool):
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        if isinstance(default, float):
            return float(text)
        if isinstance(default, int) or default is None:
            return int(text)
    except ValueError:
        raise ExplainerVariantError(f"{key}: {text!r} is not a value of it") from None
    return text


def _normal(key: str, value: Any) -> Any:
    """The value as the explain stage takes it (YAML's ``true`` for target-class is the label ``"true"``)."""
    if key == "target-class":
        return str(value).lower()
    return value


def _tokens(settings: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    return [f"{names[k]}-{_text(k, settings[k])}" for k in names if k in settings]


def _parse_tokens(tokens: list[str], names: Mapping[str, str], defaults: Mapping[str, Any]) -> dict[str, Any]:
    by_name = {n: k for k, n in names.items()}
    out: dict[str, Any] = {}
    for token in tokens:
        m = _TOKEN_RE.match(token)
        if not m or m.group(1) not in by_name:
            raise ExplainerVariantError(f"unknown setting {token!r}: expected one of {sorted(by_name)} '-' a value")
        key = by_name[m.group(1)]
        out[key] = _value(key, m.group(2), defaults.get(key))
        if out[key] == defaults.get(key):
            raise ExplainerVariantError(f"{token!r}: {key} at its default names no folder (leave it out)")
    return out


@dataclass(frozen=True)
class SelectionVariant:
    """The clip selection's settings that differ from their defaults (:data:`SELECTION_SETTINGS`)."""

    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], annotated: bool = True) -> SelectionVariant:
        """The selection ``config`` asks for; ``prefer-annotated`` only where the test dataset has annotations
        (``annotated``: elsewhere it changes no clip)."""
        given = {k: config.get(k, d) for k, d in SELECTION_SETTINGS.items()}
        if not annotated:
            given["prefer-annotated"] = False
        return cls(
            {k: list_digest(v) if isinstance(v, list) else v for k, v in given.items() if v != SELECTION_SETTINGS[k]}
        )

    @classmethod
    def parse(cls, suffix: str) -> SelectionVariant:
        """``+classes-8+seed-1`` -> its settings; ``""``: the defaults."""
        if not suffix:
            return cls()
        if not suffix.startswith("+"):
            raise ExplainerVariantError(f"invalid selection {suffix!r}: expected '+{{name}}-{{value}}' parts")
        variant = cls(_parse_tokens(suffix[1:].split("+"), SELECTION_SUFFIXES, SELECTION_SETTINGS))
        if str(variant) != suffix:
            raise ExplainerVariantError(f"invalid selection {suffix!r}: its parts in this order: {variant}")
        return variant

    def __str__(self) -> str:
        return "".join("+" + t for t in _tokens(self.settings, SELECTION_SUFFIXES))

    def values(self, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every selection setting, by config name: a list's digest replaced by ``config``'s list where the digest
        is that list's; another digest is an error (the list is not known here)."""
        out = {**SELECTION_SETTINGS, **self.settings}
        for key, value in self.settings.items():
            if isinstance(value, str) and value.startswith("list"):
                given = (config or {}).get(key)
                if not (isinstance(given, list) and list_digest(given) == value):
                    raise ExplainerVariantError(
                        f"{key}: the selection {self} was made from another list than the config's {given!r}: "
                        f"set {key} to that list again to rebuild it"
                    )
                out[key] = given
        return out


@dataclass(frozen=True)
class ExplainerVariant:
    """An explainer folder's name: the method, its settings not at their defaults, and the selection's."""

    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    selection: SelectionVariant = field(default_factory=SelectionVariant)

    @classmethod
    def from_config(
        cls, method: str, convention: str, config: Mapping[str, Any], annotated: bool = True
    ) -> ExplainerVariant:
        """The folder of ``method`` (run under ``convention``) that ``config`` asks for: only the options it takes
        (:func:`named_keys`), each named where it is not at its default."""
        given = {k: _normal(k, config[k]) for k in named_keys(method, convention) if k in config}
        if not given.get("evaluate", True):  # nothing is scored: the scoring settings change nothing
            given = {k: v for k, v in given.items() if k not in EVALUATION_KEYS or k == "evaluate"}
        settings = {k: v for k, v in given.items() if v != _DEFAULTS[k]}
        return cls(method, settings, SelectionVariant.from_config(config, annotated))

    @classmethod
    def parse(cls, name: str) -> ExplainerVariant:
        """``attention-rollout+fusion-max+classes-8`` -> its method and settings; anything else is an error."""
        method, *tokens = name.split("+")
        if not re.fullmatch(_METHOD, method):
            raise ExplainerVariantError(f"invalid explainer folder {name!r}: expected a method such as 'grad-cam'")
        at = next((i for i, t in enumerate(tokens) if t.split("-")[0] in SELECTION_SUFFIXES.values()), len(tokens))
        settings = _parse_tokens(tokens[:at], EXPLAINER_SUFFIXES, _DEFAULTS)
        try:
            takes = {*named_keys(method, "standard"), *named_keys(method, "prompt-tuning")}
        except ValueError as e:
            raise ExplainerVariantError(f"invalid explainer folder {name!r}: {e}") from None
        if set(settings) - takes:
            raise ExplainerVariantError(
                f"invalid explainer folder {name!r}: {method} takes no {', '.join(sorted(set(settings) - takes))}"
            )
        selection = "".join("+" + t for t in tokens[at:])
        variant = cls(method, settings, SelectionVariant.parse(selection))
        if str(variant) != name:
            raise ExplainerVariantError(f"invalid explainer folder {name!r}: its parts in this order: {variant}")
        return variant

    def __str__(self) -> str:
        return "+".join([self.method, *_tokens(self.settings, EXPLAINER_SUFFIXES)]) + str(self.selection)

    def options(self, convention: str = "standard") -> dict[str, Any]:
        """Every option the method takes under ``convention`` and every evaluation setting, by config name: the
        folder's where it names one, else the default (what an explain job of this folder runs with)."""
        return {k: self.settings.get(k, _DEFAULTS[k]) for k in named_keys(self.method, convention)}

    def columns(self, convention: str = "standard") -> dict[str, Any]:
        """The folder's settings as the leaderboard's columns: the method, its options and the selection's."""
        return {"method": self.method, **self.options(convention), **{**SELECTION_SETTINGS, **self.selection.settings}}


def named_keys(method: str, convention: str = "standard") -> list[str]:
    """The settings that name ``method``'s folders under ``convention``, in :data:`EXPLAINER_SUFFIXES` order: the
    common options, its own (and those it takes only under prompt-tuning's conventions) and the evaluation's."""
    own = {*method_options(method), *method_options(method, effective_convention(method, convention))}
    keys = {*COMMON_OPTIONS, *own, *EVALUATION_KEYS} - NOT_NAMED - NOT_CONFIG_KEYS
    return [k for k in EXPLAINER_SUFFIXES if k in keys]
