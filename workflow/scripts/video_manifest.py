"""Rule video_manifest: the id, label, size and sha256 of every clip a dataset split lists."""

from videoxai.checksums import HashCache
from videoxai.data.manifest import write_manifest
from videoxai.joblog import job_logging

with job_logging(snakemake.log[0], snakemake.rule, snakemake.resources.get("mem_mb")) as log:
    cache = HashCache()
    write_manifest(snakemake.output[0], snakemake.params.dataset, snakemake.wildcards.base, cache)
    cache.save()
    log.info("%d clips hashed (the others' hashes were cached)", cache.hashed)
