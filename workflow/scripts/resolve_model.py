"""Resolve a model key to its checkpoint, sha256, adapter, config and class names."""

from videoxai.joblog import job_logging
from videoxai.models.checkpoints.resolve import resolve

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    record = resolve(
        snakemake.params.key,
        snakemake.params.checkpoints_root,
        snakemake.params.explicit,
        custom=snakemake.params.custom,
        fetch=False,  # a wandb artifact was fetched by fetch_artifact: no network here
    )
    record.write(snakemake.output[0])
    log.info("%s -> %s (%s, sha256 %s)", snakemake.params.key, record.checkpoint, record.family, record.sha256[:12])
