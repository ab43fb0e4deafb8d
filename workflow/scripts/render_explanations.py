"""Every explained clip of one folder (heatmap video + attention-map strip, class_{X}_sample_{Y}), then its gallery."""

from videoxai.joblog import job_logging
from videoxai.render.stage import render_folder

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    records = render_folder(
        snakemake.input.heatmaps,
        snakemake.output.videos,
        snakemake.output.maps,
        gallery=snakemake.output.gallery,
        title=snakemake.params.title,
        colormap=snakemake.params.colormap,
        alpha=snakemake.params.alpha,
        fps=snakemake.params.fps,
        source_root=snakemake.params.source_root,
    )
    log.info("rendered %d clips", len(records))
