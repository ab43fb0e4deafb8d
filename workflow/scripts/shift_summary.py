"""The shift table across models, corruptions, severities and recalibration methods, and its box plots."""

from videoxai.calibration.shift import read_rows, shift_figure, write_rows
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    rows = read_rows(list(snakemake.input))
    write_rows(snakemake.output.csv, rows)
    shift_figure(rows, snakemake.output.png, snakemake.output.pdf)
