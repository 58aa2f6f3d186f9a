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
from tests.support.servers import RunningServer, start_server


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
