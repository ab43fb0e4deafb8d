"""Heatmaps for the selected clips with one explainer."""

import torch

from videoxai.explain.stage import explain_stage
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule):
    torch.set_num_threads(max(1, snakemake.threads - snakemake.config["num-workers"]))
    explain_stage(
        resolved_path=snakemake.input.resolved,
        selection_path=snakemake.input.selection,
        dataset=snakemake.params.dataset,
        method=snakemake.wildcards.explainer,
        options=snakemake.params.options,
        out_path=snakemake.output[0],
        batch_size=snakemake.config["batch-size"],
        num_workers=snakemake.config["num-workers"],
        device=snakemake.config["device"],
        decoder=snakemake.config["decoder"],
        class_mapping=snakemake.params.class_mapping,
        conventions=snakemake.params.conventions,
    )
