"""Per-folder statistics of one model x explainer (and scores against ground truth on the demo)."""

from videoxai.explain.stage import aggregate_stage
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule):
    aggregate_stage(
        snakemake.input.heatmaps,
        snakemake.output.stats,
        dataset=snakemake.params.dataset,
        videos=list(snakemake.input.videos),
        maps=list(snakemake.input.maps),
    )
