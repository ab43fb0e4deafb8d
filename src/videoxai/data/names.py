"""Class names as words for text prompts (CLIP-family models read "a video of {name}")."""

from __future__ import annotations

import re

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def prompt_name(name: str) -> str:
    """``ApplyEyeMakeup`` -> "apply eye makeup", ``brush_hair`` -> "brush hair", ``YoYo`` -> "yo yo".

    Splits CamelCase (keeping acronyms and digits together), underscores and hyphens, then
    lower-cases; Kinetics names ("playing guitar") pass through unchanged.
    """
    text = re.sub(r"[_\-]+", " ", name.strip())
    text = _CAMEL.sub(" ", text)
    return " ".join(text.lower().split())


def prompt_names(names: list[str]) -> list[str]:
    """:func:`prompt_name` of each; duplicates after normalisation are an error (two classes, one prompt)."""
    out = [prompt_name(n) for n in names]
    seen: dict[str, str] = {}
    for raw, clean in zip(names, out, strict=True):
        if clean in seen:
            raise ValueError(f"class names {seen[clean]!r} and {raw!r} both become the prompt {clean!r}")
        seen[clean] = raw
    return out


def map_classes(
    test_names: list[str], train_names: list[str], mapping: dict[str, str] | None = None
) -> list[int]:
    """For each test class, the index of the train class a closed-set model should answer with.

    Used when ``dataset-test`` differs from ``dataset-train`` and the model
    cannot take new class names (a fixed linear head). A test class matches
    a train class by ``mapping`` (test name -> train name) first, then by
    equal :func:`prompt_name` (``brush_hair`` matches ``BrushHair``).
    Unmatched classes are an error that lists them, so the user can extend
    the mapping.
    """
    mapping = mapping or {}
    by_prompt = {prompt_name(n): i for i, n in enumerate(train_names)}
    by_name = {n: i for i, n in enumerate(train_names)}
    out: list[int] = []
    unmatched: list[str] = []
    for name in test_names:
        if name in mapping:
            target = mapping[name]
            if target not in by_name:
                raise ValueError(f"class mapping sends {name!r} to {target!r}, which is not a training class")
            out.append(by_name[target])
        elif prompt_name(name) in by_prompt:
            out.append(by_prompt[prompt_name(name)])
        else:
            unmatched.append(name)
    if unmatched:
        shown = ", ".join(repr(n) for n in unmatched[:10]) + (" ..." if len(unmatched) > 10 else "")
        raise ValueError(
            f"{len(unmatched)} test classes have no training class: {shown}. This model has a fixed set of "
            f"classes; add a class-name mapping (test name -> training name) to the configuration"
        )
    return out
