"""A page that plays every heatmap video of one folder (the report viewer does not preview mp4)."""

from videoxai.joblog import job_logging
from videoxai.render.gallery import write_gallery

with job_logging(snakemake.log[0], snakemake.rule):
    # embedded, so the page still plays inside `snakemake --report`, which moves files around
    write_gallery(snakemake.output[0], list(snakemake.input.videos), list(snakemake.input.maps), snakemake.params.title, embed=True)
