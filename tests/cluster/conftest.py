"""The localhost SLURM cluster, shared by every cluster test and stopped (by pid) when they are done.

The profile-mechanics workflow (tests/cluster/mini) spends most of its
time waiting for SLURM's polling, so it is started in the background as
early as any test wants it and overlaps with the demo workflow's run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.slurm import REPO, Cluster, SnakemakeRun, slurm_profile_args, start_cluster, stop_cluster

MINI = Path(__file__).with_name("mini") / "Snakefile"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test on the cluster needs SLURM: skipped without it (not root), a failure under CI=true."""
    for item in items:
        if "slurm_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.needs("slurm"))


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    yield cluster
    stop_cluster(cluster)


@pytest.fixture(scope="session")
def mini_workflow(slurm_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnakemakeRun]:
    """tests/cluster/mini run through profiles/slurm, in a folder laid out as a user's (with profiles/)."""
    wd = tmp_path_factory.mktemp("mini")
    shutil.copytree(REPO / "profiles", wd / "profiles")
    (wd / "workflow").mkdir()
    shutil.copy(MINI, wd / "workflow" / "Snakefile")
    run = SnakemakeRun(
        wd,
        *slurm_profile_args(),
        "--keep-going",
        *("--config", "slurm-account=none"),  # the test cluster has no accounts (last: --config takes every word)
        env={"VIDEOXAI_SLURM_PARTITION": slurm_cluster.partition},
        limit_s=300,
    )
    yield run
    run.wait()  # never leave it running past the cluster's shutdown
