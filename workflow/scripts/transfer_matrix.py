"""The transfer matrix (training dataset x test dataset) as CSV, LaTeX and heat maps."""

from videoxai.calibration.transfer import write_transfer
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    out = snakemake.output
    write_transfer(
        list(snakemake.input), snakemake.params.models, snakemake.params.tests, out.csv, out.tex, out.png, out.pdf
    )
