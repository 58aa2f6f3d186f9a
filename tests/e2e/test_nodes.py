"""NodeService end to end on the single-node Swarm (multi-node cases: test_swarm_cluster.py)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2

from tests.support.servers import RunningServer, error_info, swarm_pool
from zanepool.v1 import node_service_pb2 as ns
from zanepool.v1 import node_service_pb2_grpc
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb


@pytest.fixture
async def nodes(server: RunningServer, swarm_unix: str) -> node_service_pb2_grpc.NodeServiceStub:
    await server.pools.RegisterPool(ps.RegisterPoolRequest(pool_id="one", pool=swarm_pool(swarm_unix)))
    return node_service_pb2_grpc.NodeServiceStub(server.channel)


async def test_list_get_update_node(nodes: node_service_pb2_grpc.NodeServiceStub) -> None:
    listed = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/one"))
    assert len(listed.nodes) == 1 and not listed.unreachable and not listed.next_page_token
    node = listed.nodes[0]
    assert node.name.startswith("pools/one/nodes/") and node.role == pb.Node.ROLE_MANAGER and node.etag

    got = (await nodes.GetNode(ns.GetNodeRequest(name=node.name))).node
    assert got.name == node.name and got.hostname == node.hostname and got.kernel_version

    updated = (
        await nodes.UpdateNode(
            ns.UpdateNodeRequest(
                node=pb.Node(
                    name=node.name,
                    labels={"zone": "a"},
                    availability=pb.Node.AVAILABILITY_PAUSE,
                    etag=got.etag,
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["labels.zone", "availability"]),
            )
        )
    ).node
    assert updated.labels["zone"] == "a" and updated.availability == pb.Node.AVAILABILITY_PAUSE
    assert updated.etag != got.etag

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await nodes.UpdateNode(
            ns.UpdateNodeRequest(
                node=pb.Node(name=node.name, availability=pb.Node.AVAILABILITY_ACTIVE, etag=got.etag),
                update_mask=field_mask_pb2.FieldMask(paths=["availability"]),
            )
        )
    assert stale.value.code() == grpc.StatusCode.ABORTED and error_info(stale.value).reason == "ETAG_MISMATCH"

    restored = (
        await nodes.UpdateNode(
            ns.UpdateNodeRequest(
                node=pb.Node(name=node.name, availability=pb.Node.AVAILABILITY_ACTIVE),
                update_mask=field_mask_pb2.FieldMask(paths=["availability", "labels.zone"]),
            )
        )
    ).node
    assert restored.availability == pb.Node.AVAILABILITY_ACTIVE and "zone" not in restored.labels

    filtered = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-", filter="role = MANAGER"))
    assert [n.name for n in filtered.nodes] == [node.name]
    none = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-", filter="labels.zone:*"))
    assert not none.nodes


@pytest.mark.parametrize(
    ("request_", "code", "reason"),
    [
        (ns.GetNodeRequest(name="pools/one/nodes/nosuchnode"), grpc.StatusCode.NOT_FOUND, "NODE_NOT_FOUND"),
        (ns.GetNodeRequest(name="pools/one/nodes"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_NAME"),
        (ns.GetNodeRequest(name="pools/zzz/nodes/x"), grpc.StatusCode.NOT_FOUND, "POOL_NOT_FOUND"),
        (
            ns.ListNodesRequest(parent="pools/one", filter="colour = red"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "UNSUPPORTED_FILTER_FIELD",
        ),
        (
            ns.ListNodesRequest(parent="pools/one", page_size=-1),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_PAGE_SIZE",
        ),
        (
            ns.ListNodesRequest(parent="pools/one", page_token="garbage"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_PAGE_TOKEN",
        ),
        (ns.ListNodesRequest(parent="nodes"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_NAME"),
        (ns.UpdateNodeRequest(), grpc.StatusCode.INVALID_ARGUMENT, "MISSING_FIELD"),
        (ns.ImportNodeRequest(parent="pools/one"), grpc.StatusCode.INVALID_ARGUMENT, "MISSING_FIELD"),
        (
            ns.ImportNodeRequest(parent="pools/one", engine=pb.Engine(endpoint="http://x:1")),
            grpc.StatusCode.INVALID_ARGUMENT,
            "UNSUPPORTED_ENDPOINT_SCHEME",
        ),
    ],
)
async def test_bad_node_requests(
    nodes: node_service_pb2_grpc.NodeServiceStub, request_: object, code: grpc.StatusCode, reason: str
) -> None:
    method = {
        ns.GetNodeRequest: nodes.GetNode,
        ns.ListNodesRequest: nodes.ListNodes,
        ns.UpdateNodeRequest: nodes.UpdateNode,
        ns.ImportNodeRequest: nodes.ImportNode,
    }[type(request_)]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await method(request_, timeout=10)  # type: ignore[operator]
    assert err.value.code() == code
    assert error_info(err.value).reason == reason


async def test_import_refuses_an_engine_already_in_a_swarm(
    nodes: node_service_pb2_grpc.NodeServiceStub, swarm_unix: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await nodes.ImportNode(
            ns.ImportNodeRequest(parent="pools/one", engine=pb.Engine(endpoint=swarm_unix))
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(err.value).reason == "ENGINE_ALREADY_IN_SWARM"


async def test_remove_refuses_a_live_manager(nodes: node_service_pb2_grpc.NodeServiceStub) -> None:
    node = (await nodes.ListNodes(ns.ListNodesRequest(parent="pools/one"))).nodes[0]
    for force, reason in ((False, "NODE_NOT_DOWN"), (True, "NODE_IS_MANAGER")):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await nodes.RemoveNode(ns.RemoveNodeRequest(name=node.name, force=force))
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_info(err.value).reason == reason
