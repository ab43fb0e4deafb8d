"""The explanation leaderboard: every model x explainer's scores with intervals over clips."""

from videoxai.explain.leaderboard import ExplanationResult, write_leaderboard
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    rows = write_leaderboard(
        [ExplanationResult(**r) for r in snakemake.params.results],
        snakemake.output.csv,
        snakemake.output.tex,
        snakemake.output.png,
        snakemake.output.pdf,
        resamples=snakemake.params.resamples,
    )
    log.info("%d rows", len(rows))
