"""The JSON schemas (YAML) of the workflow config and of checkpoint ``config.json`` files: package data, so a
non-editable install (and the workflow used as a Snakemake ``module``) finds them."""

from pathlib import Path

SCHEMAS = Path(__file__).resolve().parent
CONFIG_SCHEMA = SCHEMAS / "config.schema.yaml"
CHECKPOINT_CONFIG_SCHEMA = SCHEMAS / "checkpoint_config.schema.yaml"
