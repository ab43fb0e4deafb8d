"""The notice, in place of heatmaps, that a mixture model is not explained (it has no network)."""

from videoxai.explain.skipped import skipped_notice
from videoxai.io import write_json
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    notice = skipped_notice(snakemake.params.mixture, snakemake.wildcards.explainer)
    write_json(snakemake.output[0], notice)
    log.warning("%s", notice["reason"])
