"""Rule verify: list every missing or broken output of the current config; fail when there is one."""

from videoxai.checks import verify_outputs
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    verify_outputs(snakemake.params.files)
