"""The explanation leaderboard: every model x explainer's scores with intervals over clips; the sanity curves."""

from videoxai.explain.leaderboard import ExplanationResult, write_leaderboard
from videoxai.explain.sanity import write_sanity
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    results = [ExplanationResult(**r) for r in snakemake.params.results]
    rows = write_leaderboard(
        results,
        snakemake.output.csv,
        snakemake.output.tex,
        snakemake.output.png,
        snakemake.output.pdf,
        resamples=snakemake.params.resamples,
    )
    log.info("%d rows", len(rows))
    steps = write_sanity(
        results,
        snakemake.output.sanity,
        snakemake.output.sanity_png,
        snakemake.output.sanity_pdf,
        resamples=snakemake.params.resamples,
    )
    log.info("%d sanity rows", len(steps))
