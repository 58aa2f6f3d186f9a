"""Shared fixtures: the real components (from tests/testbed/up.sh) and in-process servers.

The testbed scripts write one env file with every ZANEPOOL_TB_* variable; fixtures read it.
Without it a test that needs a component is skipped, except under CI=true, where a
missing component fails the run: CI must never pass by skipping.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from tests.support import testbed
from tests.support.servers import RunningServer, start_server, swarm_pool
from zanepool.v1 import pool_service_pb2


@pytest.fixture(scope="session")
def tb() -> testbed.Testbed:
    return testbed.load()


@pytest.fixture(scope="session")
def mongo_uri(tb: testbed.Testbed) -> str:
    return tb.require("ZANEPOOL_TB_MONGODB_URI")


@pytest.fixture(scope="session")
def swarm_unix(tb: testbed.Testbed) -> str:
    return tb.require("ZANEPOOL_TB_DOCKER_UNIX")


@pytest.fixture
def database() -> str:
    """A database of its own for each test, so tests never see each other's pools."""
    return f"zp_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def server(mongo_uri: str, database: str) -> AsyncIterator[RunningServer]:
    async with start_server(mongodb_uri=mongo_uri, database=database) as running:
        yield running


@pytest.fixture
def channel(server: RunningServer) -> grpc.aio.Channel:
    return server.channel


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def tmp_data(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def cluster(tb: testbed.Testbed) -> testbed.Cluster:
    """The multi-node swarm (tests/testbed/swarm): engines in network namespaces."""
    return testbed.cluster(tb)


@pytest.fixture
async def cluster_pool(server: RunningServer, cluster: testbed.Cluster) -> str:
    """The multi-node swarm registered as `pools/multi`, with every node's own engine known."""
    await server.pools.RegisterPool(
        pool_service_pb2.RegisterPoolRequest(
            pool_id="multi",
            pool=swarm_pool(cluster.manager, node_endpoints=cluster.node_endpoints()),
        ),
        timeout=30,
    )
    return "pools/multi"
