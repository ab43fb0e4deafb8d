"""Every recalibration method, fitted on clean val predictions (or cross-fitted), scored on one test split's predictions."""

from videoxai.calibration.shift import ZooSettings, evaluate_methods, write_rows
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    settings = ZooSettings(**snakemake.params.settings, n_bins=snakemake.params.n_bins)
    rows = evaluate_methods(
        snakemake.input.predictions,
        snakemake.input.val or None,
        snakemake.params.methods,
        settings,
        out_png=snakemake.output.png,
        out_pdf=snakemake.output.pdf,
        title=snakemake.params.title,
    )
    write_rows(snakemake.output.csv, rows)
