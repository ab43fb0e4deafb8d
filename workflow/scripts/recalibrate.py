"""Every recalibration method, fitted on clean val predictions, scored on one test split's predictions."""

from videoxai.calibration.shift import evaluate_methods, write_rows
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    val = snakemake.input.val if snakemake.input.val else None
    rows = evaluate_methods(snakemake.input.predictions, val, snakemake.params.methods, snakemake.params.n_bins)
    write_rows(snakemake.output[0], rows)
