"""Nodes and pools over the 3-node swarm in network namespaces: import, drain, remove, create."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator

import aiodocker
import grpc
import pytest
from google.protobuf import field_mask_pb2

from tests.support import testbed
from tests.support.servers import RunningServer, error_info, swarm_pool
from zanepool.v1 import node_service_pb2 as ns
from zanepool.v1 import node_service_pb2_grpc
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb

pytestmark = pytest.mark.slow


@pytest.fixture
def nodes(server: RunningServer) -> node_service_pb2_grpc.NodeServiceStub:
    return node_service_pb2_grpc.NodeServiceStub(server.channel)


@pytest.fixture
def bare_engines(cluster: testbed.Cluster) -> Iterator[testbed.Cluster]:
    """The bare engines, left bare again after the test whatever it did."""
    yield cluster
    testbed.script("swarm/reset-bare.sh")


@pytest.fixture
async def manager(cluster: testbed.Cluster) -> AsyncIterator[aiodocker.Docker]:
    docker = aiodocker.Docker(url=cluster.manager)
    yield docker
    await docker.close()


async def test_cluster_pool_lists_three_ready_nodes(
    cluster_pool: str, nodes: node_service_pb2_grpc.NodeServiceStub
) -> None:
    listed = (await nodes.ListNodes(ns.ListNodesRequest(parent=cluster_pool, order_by="hostname"))).nodes
    assert [n.hostname for n in listed] == ["zpn1", "zpn2", "zpn3"]
    assert all(n.state == pb.Node.STATE_READY for n in listed)
    assert [n.role for n in listed] == [pb.Node.ROLE_MANAGER, pb.Node.ROLE_WORKER, pb.Node.ROLE_WORKER]
    workers = await nodes.ListNodes(
        ns.ListNodesRequest(parent=cluster_pool, filter="role = WORKER", page_size=1)
    )
    assert len(workers.nodes) == 1 and workers.next_page_token
    rest = await nodes.ListNodes(
        ns.ListNodesRequest(
            parent=cluster_pool, filter="role = WORKER", page_size=1, page_token=workers.next_page_token
        )
    )
    assert len(rest.nodes) == 1 and not rest.next_page_token
    assert rest.nodes[0].name != workers.nodes[0].name


async def test_drain_moves_tasks_away(
    cluster_pool: str, nodes: node_service_pb2_grpc.NodeServiceStub, manager: aiodocker.Docker
) -> None:
    spec = {
        "Name": "drain-probe",
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": "local/busybox:1",
                "Command": ["sh", "-c", "trap exit TERM; while :; do sleep 1; done"],
                "StopGracePeriod": 1_000_000_000,
            },
            "Placement": {"Constraints": ["node.role==worker"]},
        },
        "Mode": {"Replicated": {"Replicas": 1}},
    }
    service = await manager._query_json("services/create", "POST", data=spec)
    try:
        host = await _running_node(manager, service["ID"])
        name = f"{cluster_pool}/nodes/{host}"
        drained = (
            await nodes.UpdateNode(
                ns.UpdateNodeRequest(
                    node=pb.Node(name=name, availability=pb.Node.AVAILABILITY_DRAIN),
                    update_mask=field_mask_pb2.FieldMask(paths=["availability"]),
                )
            )
        ).node
        assert drained.availability == pb.Node.AVAILABILITY_DRAIN
        moved = await _running_node(manager, service["ID"], not_on=host)
        assert moved != host
    finally:
        await manager._query_json(f"services/{service['ID']}", "DELETE")
        await nodes.UpdateNode(
            ns.UpdateNodeRequest(
                node=pb.Node(name=f"{cluster_pool}/nodes/{host}", availability=pb.Node.AVAILABILITY_ACTIVE),
                update_mask=field_mask_pb2.FieldMask(paths=["availability"]),
            )
        )


async def _running_node(docker: aiodocker.Docker, service_id: str, not_on: str = "") -> str:
    filters = json.dumps({"service": [service_id], "desired-state": ["running"]})
    for _ in range(150):
        tasks = await docker._query_json("tasks", params={"filters": filters})
        for task in tasks:
            if task["Status"]["State"] == "running" and task["NodeID"] != not_on:
                return str(task["NodeID"])
        await asyncio.sleep(0.2)
    pytest.fail(f"no running task of {service_id} (away from {not_on or 'nothing'}) within 30 s")


async def test_import_then_remove_a_bare_engine(
    cluster_pool: str,
    nodes: node_service_pb2_grpc.NodeServiceStub,
    bare_engines: testbed.Cluster,
    server: RunningServer,
) -> None:
    engine = pb.Engine(endpoint=bare_engines.bare[0], advertise_address=bare_engines.bare_addrs[0])
    node = (await nodes.ImportNode(ns.ImportNodeRequest(parent=cluster_pool, engine=engine), timeout=60)).node
    assert node.state == pb.Node.STATE_READY and node.role == pb.Node.ROLE_WORKER
    assert node.hostname == "zpb1"
    listed = (await nodes.ListNodes(ns.ListNodesRequest(parent=cluster_pool))).nodes
    assert node.name in [n.name for n in listed] and len(listed) == 4
    pool = (await server.pools.GetPool(ps.GetPoolRequest(name=cluster_pool))).pool
    assert pool.node_endpoints[node.name.rsplit("/", 1)[1]] == bare_engines.bare[0], (
        "the engine is remembered"
    )

    with pytest.raises(grpc.aio.AioRpcError) as again:
        await nodes.ImportNode(ns.ImportNodeRequest(parent=cluster_pool, engine=engine), timeout=30)
    assert error_info(again.value).reason == "ENGINE_ALREADY_IN_SWARM"

    # Up, so only with force; its engine is known, so it leaves the swarm as well.
    await nodes.RemoveNode(ns.RemoveNodeRequest(name=node.name, force=True, drain=True), timeout=60)
    listed = (await nodes.ListNodes(ns.ListNodesRequest(parent=cluster_pool))).nodes
    assert node.name not in [n.name for n in listed]
    async with _engine(bare_engines.bare[0]) as docker:
        assert (await docker.system.info())["Swarm"]["LocalNodeState"] == "inactive"


@contextlib.asynccontextmanager
async def _engine(endpoint: str) -> AsyncIterator[aiodocker.Docker]:
    docker = aiodocker.Docker(url=endpoint)
    try:
        yield docker
    finally:
        await docker.close()


async def test_create_pool_from_bare_engines(server: RunningServer, bare_engines: testbed.Cluster) -> None:
    engines = [
        pb.Engine(endpoint=e, advertise_address=a)
        for e, a in zip(bare_engines.bare, bare_engines.bare_addrs, strict=True)
    ]
    pool = (
        await server.pools.CreatePool(
            ps.CreatePoolRequest(
                pool_id="fresh", pool=swarm_pool("", labels={"made": "here"}), engines=engines
            ),
            timeout=90,
        )
    ).pool
    assert pool.state == pb.Pool.STATE_READY, pool.state_message
    assert pool.info.node_count == 2 and pool.endpoint == bare_engines.bare[0]
    assert sorted(pool.node_endpoints.values()) == sorted(bare_engines.bare)
    nodes = node_service_pb2_grpc.NodeServiceStub(server.channel)
    listed = (await nodes.ListNodes(ns.ListNodesRequest(parent="pools/fresh", order_by="hostname"))).nodes
    assert [(n.hostname, n.role) for n in listed] == [
        ("zpb1", pb.Node.ROLE_MANAGER),
        ("zpb2", pb.Node.ROLE_WORKER),
    ]


async def test_create_pool_undoes_a_half_built_swarm(
    server: RunningServer, bare_engines: testbed.Cluster
) -> None:
    engines = [
        pb.Engine(endpoint=bare_engines.bare[0], advertise_address=bare_engines.bare_addrs[0]),
        # The same engine again through its TCP endpoint: it passes the check (no swarm yet),
        # then fails to join because, by then, it is the new swarm's manager.
        pb.Engine(endpoint=f"tcp://{bare_engines.bare_addrs[0]}:2375"),
    ]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.pools.CreatePool(
            ps.CreatePoolRequest(pool_id="half", pool=swarm_pool(""), engines=engines), timeout=90
        )
    info = error_info(err.value)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info.reason == "ENGINE_ALREADY_IN_SWARM"
    assert info.metadata["engine_index"] == "1" and info.metadata["step"] == "join the swarm"
    for endpoint in bare_engines.bare:
        async with _engine(endpoint) as docker:
            assert (await docker.system.info())["Swarm"]["LocalNodeState"] == "inactive", endpoint
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await server.pools.GetPool(ps.GetPoolRequest(name="pools/half"))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


async def test_create_pool_refuses_an_engine_in_a_swarm(
    server: RunningServer, cluster: testbed.Cluster
) -> None:
    engines = [pb.Engine(endpoint=cluster.bare[0]), pb.Engine(endpoint=cluster.nodes[1])]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.pools.CreatePool(
            ps.CreatePoolRequest(pool_id="no", pool=swarm_pool(""), engines=engines)
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(err.value)
    assert info.reason == "ENGINE_ALREADY_IN_SWARM" and info.metadata["engine_index"] == "1"


async def test_every_pool_lists_what_answered_and_names_the_rest(
    server: RunningServer, cluster_pool: str, swarm_unix: str, nodes: node_service_pb2_grpc.NodeServiceStub
) -> None:
    await server.pools.RegisterPool(ps.RegisterPoolRequest(pool_id="single", pool=swarm_pool(swarm_unix)))
    both = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-"))
    assert len(both.nodes) == 4 and not both.unreachable

    # A page token works across pools: walk every node one at a time.
    seen, token = [], ""
    while True:
        page = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-", page_size=1, page_token=token))
        seen += [n.name for n in page.nodes]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(n.name for n in both.nodes)

    testbed.script("swarm/engine.sh", "stop", "zpn1")  # the cluster pool's only manager
    try:
        partial = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-"), timeout=30)
        assert list(partial.unreachable) == [cluster_pool]
        assert [n.name.split("/nodes/")[0] for n in partial.nodes] == ["pools/single"]
        with pytest.raises(grpc.aio.AioRpcError) as one:
            await nodes.ListNodes(ns.ListNodesRequest(parent=cluster_pool), timeout=30)
        assert one.value.code() == grpc.StatusCode.UNAVAILABLE
        assert error_info(one.value).reason == "CLUSTER_UNREACHABLE"
    finally:
        testbed.script("swarm/engine.sh", "start", "zpn1")
        await _all_ready(nodes, cluster_pool)


async def _all_ready(nodes: node_service_pb2_grpc.NodeServiceStub, pool: str) -> None:
    """Wait until the restarted manager sees every node ready again (for the tests after this one)."""
    for _ in range(150):
        with contextlib.suppress(grpc.aio.AioRpcError):
            listed = (await nodes.ListNodes(ns.ListNodesRequest(parent=pool), timeout=5)).nodes
            if len(listed) == 3 and all(n.state == pb.Node.STATE_READY for n in listed):
                return
        await asyncio.sleep(0.2)
    pytest.fail("the cluster's nodes were not ready again within 30 s")
