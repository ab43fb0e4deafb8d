"""Resolve a model key to its checkpoint, sha256, adapter, config and class names."""

from videoxai.io import write_json
from videoxai.joblog import job_logging
from videoxai.models.resolve import resolve_checkpoint

with job_logging(snakemake.log[0], snakemake.rule) as log:
    resolved = resolve_checkpoint(snakemake.params.key, snakemake.input.checkpoint)
    write_json(snakemake.output[0], resolved)
    log.info("%s -> %s (sha256 %s)", snakemake.params.key, resolved["checkpoint"], resolved["sha256"][:12])
