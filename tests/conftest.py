"""Shared fixtures: the real components (from tests/testbed/up.sh) and in-process servers.

The testbed scripts write one env file with every ZANEPOOL_TB_* variable; fixtures read it.
Without it a test that needs a component is skipped, except under CI=true, where a
missing component fails the run: CI must never pass by skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from tests.support import kubernetes, testbed
from tests.support.servers import RunningServer, start_server, swarm_pool
from zanepool.v1 import pool_service_pb2
from zanepool_server.drivers.kubernetes import KubernetesDriver
from zanepool_server.errors import NotFound
from zanepool_server.model import Credentials


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


# --- Kubernetes (tests/testbed/k8s) ---------------------------------------------------------------


@pytest.fixture(scope="session")
def k8s(tb: testbed.Testbed) -> kubernetes.KubeBed:
    """The Kubernetes test bed: an API server, its credentials as text, its one node."""
    return kubernetes.load(tb)


@pytest.fixture(scope="session")
async def k8s_admin(k8s: kubernetes.KubeBed) -> AsyncIterator[KubernetesDriver]:
    """A driver as the test bed's admin, for a test's own setup, checks and clean-up."""
    driver = KubernetesDriver(k8s.api, Credentials(ca_pem=k8s.ca_pem, bearer_token=k8s.token))
    yield driver
    await driver.aclose()


@pytest.fixture
async def k8s_namespace(k8s_admin: KubernetesDriver) -> AsyncIterator[str]:
    """A namespace of the test's own, deleted (with all it holds) after it."""
    name = f"zp-{uuid.uuid4().hex[:10]}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    await k8s_admin.kube.request("POST", "/api/v1/namespaces", body=body)
    try:
        # Pods are refused until the token controller has given the namespace's default
        # service account its token (Kubernetes 1.20 mounts it into every pod).
        for _ in range(100):
            with contextlib.suppress(NotFound):  # the account itself comes first
                account = await k8s_admin.kube.get(f"/api/v1/namespaces/{name}/serviceaccounts/default")
                if account.get("secrets"):
                    break
            await asyncio.sleep(0.1)
        yield name
    finally:
        await k8s_admin.kube.request("DELETE", f"/api/v1/namespaces/{name}")


@pytest.fixture
async def k8s_pool(server: RunningServer, k8s: kubernetes.KubeBed) -> str:
    """The Kubernetes test bed registered as `pools/kube` with the admin token."""
    await server.pools.RegisterPool(
        pool_service_pb2.RegisterPoolRequest(pool_id="kube", pool=k8s.pool()), timeout=30
    )
    return "pools/kube"
