"""The localhost SLURM cluster, shared by every cluster test and stopped (by pid) when they are done."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.slurm import Cluster, start_cluster, stop_cluster


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    yield cluster
    stop_cluster(cluster)
