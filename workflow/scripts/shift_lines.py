"""One corruption's rows of the shift table against severity: line plot, CSV and LaTeX side by side."""

from videoxai.calibration.shift import read_rows
from videoxai.calibration.shift_lines import write_corruption_outputs
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    write_corruption_outputs(
        read_rows([snakemake.input[0]]),
        snakemake.wildcards.corruption,
        snakemake.output.csv,
        snakemake.output.tex,
        snakemake.output.png,
        snakemake.output.pdf,
    )
