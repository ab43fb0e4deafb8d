"""Predictions for every clip of a dataset split, streamed to Parquet."""

import torch

from videoxai.extract.run import extract_predictions
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule):
    torch.set_num_threads(max(1, snakemake.threads - snakemake.config["num-workers"]))
    extract_predictions(
        snakemake.input.resolved,
        snakemake.params.dataset,
        snakemake.output[0],
        options=snakemake.params.options,
        batch_size=snakemake.config["batch-size"],
        num_workers=snakemake.config["num-workers"],
        num_frames=snakemake.params.num_frames,
        device=snakemake.config["device"],
        decoder=snakemake.config["decoder"],
        class_mapping=snakemake.params.class_mapping,
    )
