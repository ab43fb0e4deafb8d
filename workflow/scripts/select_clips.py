"""Choose the clips to explain (a checkpoint: the render jobs depend on this choice)."""

from videoxai.explain.select import select_clips
from videoxai.extract.predictions import load_predictions
from videoxai.io import write_json
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule) as log:
    selection = select_clips(
        load_predictions(snakemake.input.predictions),
        snakemake.params.classes_to_map,
        snakemake.params.samples_per_class,
        seed=snakemake.params.seed,
        classes_to_mix=snakemake.params.classes_to_mix,
        mix_mode=snakemake.params.mix_mode,
    )
    write_json(snakemake.output[0], selection)
    log.info("selected %d clips", len(selection["clips"]))
