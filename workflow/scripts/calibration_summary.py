"""One table and one figure comparing every calibration result (every model and variant)."""

from videoxai.calibration.stage import summarize
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    summarize(
        list(snakemake.input.metrics),
        list(snakemake.input.bins),
        labels=list(snakemake.params.labels),
        out_csv=snakemake.output.csv,
        out_tex=snakemake.output.tex,
        out_png=snakemake.output.png,
        out_pdf=snakemake.output.pdf,
        variants=list(snakemake.params.variants),
    )
