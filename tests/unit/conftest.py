"""Unit tests run torch on one thread: results do not depend on the core count, and parallel tests do not fight."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def fixtures():
    """prompt-tuning's golden fixtures (``../shared/origin-fixtures``); a module may define its own."""
    from tests.helpers import origin_fixtures

    return origin_fixtures()


@pytest.fixture(scope="module")
def families_fixtures():
    """The golden fixtures of prompt-tuning's other families (``../shared/origin-fixtures-families``)."""
    from tests.helpers import origin_fixtures_families

    return origin_fixtures_families()
