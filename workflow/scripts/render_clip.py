"""Heatmap video and attention-map strip of one explained clip (named class_{cls}_sample_{idx})."""

from videoxai.joblog import job_logging
from videoxai.render.stage import clip_index, render_clip

with job_logging(snakemake.log[0], snakemake.rule):
    heatmaps = snakemake.input.heatmaps
    render_clip(
        heatmaps,
        clip_index(heatmaps, int(snakemake.wildcards.cls), int(snakemake.wildcards.idx)),
        out_mp4=snakemake.output.mp4,
        out_png=snakemake.output.png,
        colormap=snakemake.params.colormap,
        alpha=snakemake.params.alpha,
        fps=snakemake.params.fps,
    )
