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
