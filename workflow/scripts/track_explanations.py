"""Log one model x explainer's videos, maps and statistics to wandb (offline by default)."""

from pathlib import Path

from videoxai.joblog import job_logging
from videoxai.tracking.wandb import log_explanations

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")):
    log_explanations(
        snakemake.input.stats,
        sorted(map(str, Path(snakemake.input.videos).glob("*.mp4"))),  # the folder's render job wrote exactly these
        sorted(map(str, Path(snakemake.input.maps).glob("*.png"))),
        key=snakemake.params.key,
        explainer=snakemake.wildcards.explainer,
        test=snakemake.wildcards.test,
        split=snakemake.wildcards.split,
        settings=snakemake.params.settings,
        out_json=snakemake.output[0],
    )
