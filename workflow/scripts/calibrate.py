"""Calibration metrics, bins and the reliability diagram of one predictions file."""

from videoxai.calibration.stage import calibrate
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    metrics = calibrate(
        snakemake.input.predictions,
        out_metrics=snakemake.output.metrics,
        out_bins=snakemake.output.bins,
        out_png=snakemake.output.png,
        out_pdf=snakemake.output.pdf,
        n_bins=snakemake.params.n_bins,
        bootstrap=snakemake.params.bootstrap,
        title=snakemake.params.title,
        val_predictions=snakemake.input.val or None,
        temperature=snakemake.params.temperature,
        convention=snakemake.params.convention,
    )
    log.info("accuracy %.4f, ECE %.4f (%s convention)", metrics["accuracy"], metrics["ece"], metrics["convention"])
