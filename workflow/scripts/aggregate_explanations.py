"""Per-folder statistics of one model x explainer, from its heatmaps file alone (and scores against ground truth
on the demo). Does not wait for the videos."""

from videoxai.explain.summary import summarize_explanations
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    summarize_explanations(snakemake.input.heatmaps, snakemake.output.stats, dataset=snakemake.params.dataset)
