"""Heatmap video and attention-map strip of one explained clip."""

from videoxai.joblog import job_logging
from videoxai.render.stage import render_selected_clip

with job_logging(snakemake.log[0], snakemake.rule):
    render_selected_clip(
        snakemake.input.heatmaps,
        class_index=int(snakemake.wildcards.cls),
        sample_index=int(snakemake.wildcards.idx),
        out_mp4=snakemake.output.mp4,
        out_png=snakemake.output.png,
        colormap=snakemake.params.colormap,
        alpha=snakemake.params.alpha,
        fps=snakemake.params.fps,
    )
