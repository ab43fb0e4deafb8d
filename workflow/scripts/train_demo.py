"""Train a tiny model of one prompt-tuning family on the demo dataset, into the checkpoint registry."""

from pathlib import Path

from videoxai.demo.train import train_demo
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    report = train_demo(
        Path(snakemake.input.dataset).parent,
        Path(snakemake.output.weights).parent,
        method=snakemake.wildcards.method,
        seed=snakemake.params.seed,
        steps=snakemake.params.steps,
        max_seconds=snakemake.params.max_seconds,
        threads=snakemake.threads,
    )
    log.info("training report: %s", report)
