"""Predictions for every clip of a dataset split, streamed to Parquet."""

import torch

from videoxai.extract.run import extract_predictions
from videoxai.joblog import exit_finished_job, job_logging
from videoxai.setup.threads import split_threads

mem_mb = snakemake.resources.get("mem_mb")
with job_logging(snakemake.log[0], snakemake.rule, mem_mb):
    workers, torch_threads = split_threads(snakemake.threads, snakemake.config["num-workers"])
    torch.set_num_threads(torch_threads)
    extract_predictions(
        snakemake.input.resolved,
        snakemake.params.dataset,
        snakemake.output[0],
        options=snakemake.params.options,
        batch_size=snakemake.config["batch-size"],
        num_workers=workers,
        num_frames=snakemake.params.num_frames,
        device=snakemake.config["device"],
        decoder=snakemake.config["decoder"],
        class_mapping=snakemake.params.class_mapping,
        label_order=snakemake.params.label_order,
        mem_mb=mem_mb,
        corruption_seed=snakemake.params.corruption_seed or 0,
    )
if __name__ == "__main__":  # a Snakemake job's own process (not a test running the script in its process)
    exit_finished_job()  # skips torch's 0.4-0.8 s interpreter teardown (see there)
