"""Rule verify: list every missing, damaged or stale output of the current config; fail when there is one."""

from videoxai.joblog import job_logging
from videoxai.verify import verify_outputs

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    verify_outputs(snakemake.params.files)
