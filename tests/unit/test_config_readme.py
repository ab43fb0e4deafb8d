"""config/README.md describes every key of the config schema, with its default, and no key the schema lacks."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.helpers import REPO

SCHEMA = yaml.safe_load((REPO / "src" / "videoxai" / "schemas" / "config.schema.yaml").read_text())
TEXT = (REPO / "config" / "README.md").read_text()


def _tables() -> list[dict[str, list[str]]]:
    """Each markdown table of the page as {key: its cells}, in page order."""
    tables, rows = [], None
    for line in TEXT.splitlines():
        if line.startswith("| key |"):
            rows = {}
            tables.append(rows)
        elif rows is not None and line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            key = re.fullmatch(r"`([^`]+)`", cells[0]).group(1)
            assert key not in rows, f"config/README.md lists {key!r} twice"
            rows[key] = cells
        elif not line.startswith("|"):
            rows = None
    return tables


TOP, DATASET, DEMO = _tables()
SECTIONS = [
    ("top level", SCHEMA["properties"], TOP),
    ("a dataset", SCHEMA["properties"]["datasets"]["additionalProperties"]["properties"], DATASET),
    ("demo", SCHEMA["properties"]["demo"]["properties"], DEMO),
]


@pytest.mark.parametrize("where, schema, rows", SECTIONS, ids=[s[0] for s in SECTIONS])
def test_every_schema_key_is_described_and_no_stale_one(where: str, schema: dict, rows: dict) -> None:
    missing = [k for k in schema if k not in rows]
    stale = [k for k in rows if k not in schema]
    assert not missing, f"config/README.md ({where}) does not describe {missing}: add a row"
    assert not stale, f"config/README.md ({where}) describes {stale}, which the schema does not have"
    assert all(cells[-1] for cells in rows.values())


@pytest.mark.parametrize("where, schema, rows", SECTIONS, ids=[s[0] for s in SECTIONS])
def test_the_defaults_are_the_schemas(where: str, schema: dict, rows: dict) -> None:
    for key, cells in rows.items():
        if "default" not in schema[key] or not cells[1].startswith("`"):
            continue
        written = yaml.safe_load(cells[1].strip("`"))
        assert written == schema[key]["default"], (
            f"{key}: config/README.md says {cells[1]}, the schema {schema[key]['default']!r}"
        )


def test_the_required_keys_say_so() -> None:
    assert {k for k, cells in TOP.items() if cells[1] == "required"} == set(SCHEMA["required"])
