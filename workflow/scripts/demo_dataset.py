"""Write the embedded demo dataset (UCF101 layout, with ground-truth masks)."""

from pathlib import Path

from videoxai.demo.dataset import write_demo_dataset
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    root = Path(snakemake.output[0]).parent
    # Snakemake removed DONE.json because it wants the demo rebuilt; replace an earlier demo
    # (recognised by its class list), but never a folder that holds something else.
    summary = write_demo_dataset(
        root,
        n_train=snakemake.params.n_train,
        n_test=snakemake.params.n_test,
        seed=snakemake.params.seed,
        overwrite=(root / "classInd.txt").is_file(),
        workers=snakemake.threads,
    )
    log.info("demo dataset: %s", summary)
