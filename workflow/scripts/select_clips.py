"""Choose the clips to explain (a checkpoint: the render jobs depend on this choice)."""

from videoxai.explain.ground_truth import annotated_ids
from videoxai.explain.select import select_clips
from videoxai.extract.predictions import load_predictions
from videoxai.io import write_json
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    predictions = load_predictions(snakemake.input.predictions)
    annotated = snakemake.params.prefer_annotated  # the dataset entry, when prefer-annotated and it has ground-truth
    preferred = annotated_ids(annotated, predictions.sample_ids) if annotated else None
    if preferred is not None:
        log.info("prefer-annotated: %d of %d clips are annotated", len(preferred), len(predictions.sample_ids))
    selection = select_clips(
        predictions,
        snakemake.params.classes_to_map,
        snakemake.params.samples_per_class,
        seed=snakemake.params.selection_seed,
        classes_to_mix=snakemake.params.classes_to_mix,
        mix_mode=snakemake.params.mix_mode,
        preferred=preferred,
    )
    write_json(snakemake.output[0], selection)
    log.info("selected %d clips", len(selection["clips"]))
