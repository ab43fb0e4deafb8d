"""The Snakemake workflow catalog's standardized usage: what .snakemake-workflow-catalog.yml claims holds."""

from __future__ import annotations

import re

import jsonschema
import yaml

from tests.helpers import REPO, TEST_CONFIG
from videoxai.schemas import CONFIG_SCHEMA

CATALOG = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
RULES = {p.name: p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk")}


def test_the_catalog_layout_is_there() -> None:
    for path in ("workflow/Snakefile", "config/config.yaml", "config/README.md", ".test/config/config.yaml"):
        assert (REPO / path).is_file(), path
    assert set(CATALOG) == {"mandatory-flags", "software-stack-deployment", "report"}
    assert set(CATALOG["mandatory-flags"]) == {"desc", "flags"}


def test_conda_deployment_gives_every_rule_an_environment() -> None:
    """`conda: true`: every rule that runs a script names the rule environment, which exists."""
    assert CATALOG["software-stack-deployment"] == {"conda": True}
    assert (REPO / "workflow" / "envs" / "videoxai.yaml").is_file()
    for name, text in RULES.items():
        for rule in re.split(r"^(?=rule |checkpoint )", text, flags=re.M)[1:]:
            if re.search(r"^\s+script:", rule, re.M):
                assert re.search(r'^\s+conda:\s*\n?\s*"\.\./envs/videoxai\.yaml"', rule, re.M), (name, rule[:60])


def test_the_report_is_declared() -> None:
    assert CATALOG["report"] is True
    assert any("report(" in text for text in RULES.values())


def test_the_test_config_is_a_whole_valid_config() -> None:
    """.test/config/config.yaml runs on its own (`--directory .test`, or as a user's config/), schema-valid."""
    config = yaml.safe_load(TEST_CONFIG.read_text())
    jsonschema.validate(config, yaml.safe_load(CONFIG_SCHEMA.read_text()))
    assert set(yaml.safe_load(CONFIG_SCHEMA.read_text())["required"]) <= set(config)
