"""What a JSON schema accepts, in a few words: the one describer behind every schema error line.

The workflow config (:mod:`videoxai.preflight`) and a checkpoint's ``config.json``
(:mod:`videoxai.models.checkpoints.config`) both say a bad value in one line ending
"valid values: ..."; the words after it come from here, so both files' errors read
alike (``jsonschema``'s own message prints the whole schema instead).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

WORDS: dict[str, str] = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "null": "null",
    "object": "a mapping",
    "array": "a list",
}
_BOUNDS = (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"))


def resolve_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema a local ``$ref: "#/..."`` points at (followed through chains), else ``schema`` itself."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        return resolve_ref(node, root)
    return schema


def literal(value: Any) -> str:
    """An enum value as a user writes it: strings bare, everything else as JSON (``null``, ``true``, ``3``)."""
    return value if isinstance(value, str) else json.dumps(value)


def describe(schema: Mapping[str, Any], root: Mapping[str, Any], words: Mapping[str, str] = WORDS) -> str:
    """What ``schema`` accepts: its values, or its types with their bounds and item schemas.

    ``words`` names each JSON type (a checkpoint's ``config.json`` says "a JSON object" where the
    YAML config says "a mapping"). A ``true`` beside the string ``"true"`` in an enum is said once.
    """
    schema = resolve_ref(schema, root)
    if "enum" in schema:
        return "one of: " + ", ".join(literal(v) for v in schema["enum"] if v is not True)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            branches = [resolve_ref(s, root) for s in schema[key]]
            lists = [s for s in branches if s.get("type") == "array" and "items" in s]
            singles = [describe(s, root, words) for s in branches if s not in lists]
            said = [d.removeprefix("one of: ") for d in singles]
            for s in lists:  # "a list of them" where the items are a single branch's values, any number of them
                loose = "minItems" not in s or s.get("minItems") != s.get("maxItems")
                same = describe(s["items"], root, words) in singles
                said.append("a list of them" if same and loose else _describe_type("array", s, root, words))
            return ", or ".join(said)
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    return " or ".join(_describe_type(kind, schema, root, words) for kind in kinds) or "see the schema"


def _describe_type(kind: str, schema: Mapping[str, Any], root: Mapping[str, Any], words: Mapping[str, str]) -> str:
    text = words.get(kind, str(kind))
    if kind in ("integer", "number"):
        bounds = [f"{op} {schema[k]}" for k, op in _BOUNDS if k in schema]
        text += (" " + " and ".join(bounds)) if bounds else ""
    if kind == "array" and "items" in schema:
        items = describe(schema["items"], root, words)
        if "minItems" in schema and schema.get("minItems") == schema.get("maxItems"):
            return f"a list of {schema['minItems']} ({items})"
        text += f" of ({items})"
        if schema.get("minItems"):
            text += f", at least {schema['minItems']}"
    if kind == "string" and schema.get("minLength"):
        text = "a non-empty string"
    return text
