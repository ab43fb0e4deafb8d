"""Log one model x explainer's videos, maps and statistics to wandb (offline by default)."""

from videoxai.joblog import job_logging
from videoxai.tracking.wandb import log_explanations

with job_logging(snakemake.log[0], snakemake.rule):
    log_explanations(
        snakemake.input.stats,
        list(snakemake.input.videos),
        list(snakemake.input.maps),
        key=snakemake.params.key,
        explainer=snakemake.wildcards.explainer,
        test=snakemake.wildcards.test,
        split=snakemake.wildcards.split,
        settings=snakemake.params.settings,
        out_json=snakemake.output[0],
    )
