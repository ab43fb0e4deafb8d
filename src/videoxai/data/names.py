"""Class names as words for text prompts (CLIP-family models read "a video of {name}")."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

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
    test_names: list[str],
    train_names: list[str],
    mapping: dict[str, str] | None = None,
    allow_unmatched: bool = False,
) -> list[int]:
    """For each test class, the index of the train class a closed-set model should answer with.

    Used when ``dataset-test`` differs from ``dataset-train`` and the model
    cannot take new class names (a fixed linear head). A test class matches
    a train class by ``mapping`` (test name -> train name) first, then by
    equal :func:`prompt_name` (``brush_hair`` matches ``BrushHair``).
    Unmatched classes are an error that lists them, so the user can extend
    the mapping; with ``allow_unmatched`` they get index -1 instead (the
    caller decides what to do with clips of a class the model never learned).
    A mapping key that is not a test class is an error too: a typo must not
    silently leave a class unmapped.
    """
    mapping = mapping or {}
    unknown = [k for k in mapping if k not in set(test_names)]
    if unknown:
        raise ValueError(
            f"class mapping names {len(unknown)} classes the test dataset does not have: {_listing(unknown)} "
            f"(test classes are e.g. {_listing(test_names[:5])})"
        )
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
            out.append(-1)
    if unmatched and not allow_unmatched:
        raise ValueError(
            f"{len(unmatched)} test classes have no training class: {_listing(unmatched)}. This model has a fixed set of "
            f"classes; add a class-name mapping (test name -> training name) to the configuration"
        )
    return out


def read_class_mapping(source: dict[str, str] | str | os.PathLike[str]) -> dict[str, str]:
    """A class-name mapping given inline (``{test class: training class}``) or as a CSV file.

    The file has two columns, test class then training class, and an optional
    header row ``test,train``; blank lines are skipped. A test class listed
    twice is an error (which of the two would it be?).
    """
    if isinstance(source, dict):
        return {str(k): str(v) for k, v in source.items()}
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"class mapping file {path} does not exist (expected a CSV of 'test class,training class')")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [[c.strip() for c in r] for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    if rows and [c.lower() for c in rows[0][:2]] == ["test", "train"]:
        rows = rows[1:]
    out: dict[str, str] = {}
    for i, row in enumerate(rows, start=1):
        if len(row) != 2 or not all(row):
            raise ValueError(f"{path} row {i}: expected 'test class,training class', got {row}")
        if row[0] in out:
            raise ValueError(f"{path} row {i}: test class {row[0]!r} is mapped twice")
        out[row[0]] = row[1]
    return out


def _listing(names: list[str], most: int = 10) -> str:
    return ", ".join(repr(n) for n in names[:most]) + (" ..." if len(names) > most else "")
