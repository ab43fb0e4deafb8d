"""Heatmaps for the selected clips with one explainer."""

import torch

from videoxai.explain.stage import explain_stage
from videoxai.explain.variant import ExplainerVariant
from videoxai.joblog import exit_finished_job, job_logging
from videoxai.setup.threads import split_threads

mem_mb = snakemake.resources.get("mem_mb")
with job_logging(snakemake.log[0], snakemake.rule, mem_mb):
    workers, torch_threads = split_threads(snakemake.threads, snakemake.config["num-workers"])
    torch.set_num_threads(torch_threads)
    explain_stage(
        resolved_path=snakemake.input.resolved,
        selection_path=snakemake.input.selection,
        dataset=snakemake.params.dataset,
        method=ExplainerVariant.parse(snakemake.wildcards.explainer).method,  # the folder: method+settings
        options=snakemake.params.options,
        out_path=snakemake.output[0],
        batch_size=None if snakemake.config["explain-batch-size"] == "auto" else snakemake.config["explain-batch-size"],
        num_workers=workers,
        device=snakemake.config["device"],
        decoder=snakemake.config["decoder"],
        class_mapping=snakemake.params.class_mapping,
        conventions=snakemake.params.conventions,
        label_order=snakemake.params.label_order,
        mem_mb=mem_mb,
    )
if __name__ == "__main__":  # a Snakemake job's own process (not a test running the script in its process)
    exit_finished_job()  # skips torch's 0.4-0.8 s interpreter teardown (see there)
