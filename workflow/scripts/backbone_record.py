"""Record a CLIP backbone's files (names and sha256): what resolve reads instead of the files themselves."""

from videoxai.io import write_json
from videoxai.joblog import job_logging
from videoxai.models.checkpoints.hf_cache import locate_backbone

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    backbone = locate_backbone(snakemake.params.name)
    if backbone.key != snakemake.wildcards.backbone:
        raise RuntimeError(
            f"the backbone {snakemake.params.name} moved to {backbone.key} while this run was planned for "
            f"{snakemake.wildcards.backbone}: run snakemake again"
        )
    record = backbone.record()
    write_json(snakemake.output[0], record)
    log.info("%s: %d files at %s", snakemake.params.name, len(record["files"]), backbone.path)
