"""The ``bed`` fixture (the cluster pool and its node engines), for test modules that name
this module in ``pytest_plugins``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import testbed
from tests.support.engines import Bed, open_bed


@pytest.fixture
async def bed(cluster_pool: str, cluster: testbed.Cluster) -> AsyncIterator[Bed]:
    async with open_bed(cluster_pool, cluster) as opened:
        yield opened
