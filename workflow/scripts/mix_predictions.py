"""A mixture model's predictions from its members' predictions files (videoxai.extract.mixture)."""

from videoxai.extract.mixture import write_mixture
from videoxai.extract.mixture_config import Mixture
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    m = snakemake.params.mixture
    mixture = Mixture(m["key"], tuple(m["members"]), tuple(m["weights"]))
    summary = write_mixture(mixture, list(snakemake.input.members), snakemake.output[0], snakemake.params.convention)
    log.info("wrote %s: %s (weights %s)", snakemake.output[0], summary, list(mixture.weights))
