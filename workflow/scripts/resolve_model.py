"""Resolve a model key to its checkpoint, sha256, adapter, config and class names."""

from videoxai.io import write_json
from videoxai.joblog import job_logging
from videoxai.models.resolve import resolve_model

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    resolved = resolve_model(
        snakemake.params.key,
        snakemake.params.checkpoints_root,
        snakemake.params.explicit,
        custom=snakemake.params.custom,
        fetch=False,  # a wandb artifact was fetched by fetch_artifact: no network here
    )
    write_json(snakemake.output[0], resolved)
    log.info("%s -> %s (sha256 %s)", snakemake.params.key, resolved["checkpoint"], resolved["sha256"][:12])
