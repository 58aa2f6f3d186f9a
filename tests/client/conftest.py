"""Client fixtures: the test bed's swarm registered on a real server, and a scripted server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.client.fakes import Fake, fake_server
from tests.support.servers import RunningServer, swarm_pool
from zanepool.v1 import pool_service_pb2 as ps
from zanepool_client import RetryPolicy

#: Retries and reconnects that do not slow the tests down.
FAST = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05)


@pytest.fixture
async def bed_pool(server: RunningServer, swarm_unix: str) -> str:
    """The test bed's single-engine swarm registered as ``pools/bed``."""
    await server.pools.RegisterPool(
        ps.RegisterPoolRequest(
            pool_id="bed", pool=swarm_pool(swarm_unix, display_name="Bed", labels={"env": "test"})
        ),
        timeout=30,
    )
    return "pools/bed"


@pytest.fixture
async def fake() -> AsyncIterator[Fake]:
    async with fake_server() as running:
        yield running
