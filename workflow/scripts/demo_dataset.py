"""Write the embedded demo dataset (UCF101 layout, with ground-truth masks)."""

from pathlib import Path

from videoxai.data.demo import write_demo_dataset
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule) as log:
    root = Path(snakemake.output[0]).parent
    summary = write_demo_dataset(
        root, n_train=snakemake.params.n_train, n_test=snakemake.params.n_test, seed=snakemake.params.seed
    )
    log.info("demo dataset: %s", summary)
