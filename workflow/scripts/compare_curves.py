"""The chosen calibration results' reliability curves on one axis (config key ``compare``)."""

import logging

from videoxai.calibration.stage import compare_reliability
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    rows = [
        {"metrics_path": m, "bins_path": b, "label": label}
        for m, b, label in zip(snakemake.input.metrics, snakemake.input.bins, snakemake.params.labels, strict=True)
    ]
    logging.getLogger("videoxai.compare").info("drawing %d curves: %s", len(rows), [r["label"] for r in rows])
    compare_reliability(rows, snakemake.output.png, snakemake.output.pdf)
