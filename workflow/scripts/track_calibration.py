"""Log one model's calibration to wandb (offline by default)."""

from videoxai.joblog import job_logging
from videoxai.tracking.wandb import log_calibration

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    log_calibration(
        snakemake.input.metrics,
        snakemake.input.bins,
        [snakemake.input.png],
        key=snakemake.params.key,
        test=snakemake.wildcards.test,
        split=snakemake.wildcards.split,
        settings=snakemake.params.settings,
        out_json=snakemake.output[0],
    )
