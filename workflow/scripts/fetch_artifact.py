"""Fetch a model key's wandb artifact checkpoint into its registry folder (registry first: offline once there)."""

from videoxai.io import write_json
from videoxai.joblog import job_logging
from videoxai.keys import ModelKey
from videoxai.models.checkpoints.resolve import registry_dir
from videoxai.models.checkpoints.wandb_artifact import ensure_artifact

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    folder = registry_dir(ModelKey.parse(snakemake.params.key), snakemake.params.checkpoints_root)
    marker = ensure_artifact(snakemake.params.artifact, folder)
    write_json(snakemake.output[0], {**marker, "folder": str(folder)})
    log.info(
        "%s: %s (%s, version %s) in %s",
        snakemake.params.key,
        marker["artifact"],
        marker.get("obtained"),
        marker["version"],
        folder,
    )
