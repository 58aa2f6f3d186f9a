"""NetworkService end to end on the 3-node swarm: overlay and local networks' lives, deletes
refused (in use, predefined), and bad input."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from tests.support.engines import Bad, Bed, refused, refused_by
from tests.support.servers import RunningServer
from zanepool.v1 import network_service_pb2 as ns
from zanepool.v1 import network_service_pb2_grpc
from zanepool.v1 import resources_pb2 as pb

pytestmark = pytest.mark.slow
# The `bed` fixture: the cluster pool and its engines.
pytest_plugins = ("tests.support.bed",)
Code = grpc.StatusCode
NetworkStub = network_service_pb2_grpc.NetworkServiceStub


@pytest.fixture
def networks(server: RunningServer) -> network_service_pb2_grpc.NetworkServiceStub:
    return network_service_pb2_grpc.NetworkServiceStub(server.channel)


async def overlay(bed: Bed, networks: network_service_pb2_grpc.NetworkServiceStub, name: str) -> pb.Network:
    bed.remove_later(bed.manager_id, f"networks/{name}")
    request = ns.CreateNetworkRequest(
        parent=bed.pool,
        network_id=name,
        network=pb.Network(
            attachable=True, subnets=["10.123.0.0/24"], gateways=["10.123.0.1"], labels={"app": "zp-test"}
        ),
    )
    return (await networks.CreateNetwork(request)).network


async def test_overlay_network_lifecycle(
    bed: Bed, networks: network_service_pb2_grpc.NetworkServiceStub
) -> None:
    name = f"zp-overlay-{bed.suffix}"
    made = await overlay(bed, networks, name)
    assert (made.name, made.driver, made.scope, made.node) == (
        f"{bed.pool}/networks/{name}",
        "overlay",
        "swarm",
        "",
    )
    assert (
        made.attachable and list(made.subnets) == ["10.123.0.0/24"] and list(made.gateways) == ["10.123.0.1"]
    )
    assert made.labels == {"app": "zp-test"} and made.network_id and made.create_time.seconds > 0
    seen = await bed.engines[bed.manager_id]._query_json(f"networks/{name}")
    assert seen["Id"] == made.network_id and seen["Scope"] == "swarm"
    assert (await networks.GetNetwork(ns.GetNetworkRequest(name=made.name))).network == made
    await refused(
        networks.CreateNetwork(ns.CreateNetworkRequest(parent=bed.pool, network_id=name)),
        Code.ALREADY_EXISTS,
        "NETWORK_ALREADY_EXISTS",
    )
    swarm = await networks.ListNetworks(ns.ListNetworksRequest(parent=bed.pool, filter="scope = swarm"))
    assert {made.name, f"{bed.pool}/networks/ingress"} <= {n.name for n in swarm.networks}
    assert all(not n.node for n in swarm.networks)

    await networks.DeleteNetwork(ns.DeleteNetworkRequest(name=made.name))
    await refused(
        networks.GetNetwork(ns.GetNetworkRequest(name=made.name)), Code.NOT_FOUND, "NETWORK_NOT_FOUND"
    )


async def test_a_network_in_use_is_not_deleted(
    bed: Bed, networks: network_service_pb2_grpc.NetworkServiceStub
) -> None:
    made = await overlay(bed, networks, f"zp-used-{bed.suffix}")
    container = await bed.container(bed.worker_ids[0], "on-overlay", NetworkMode=made.network_id)
    await refused(
        networks.DeleteNetwork(ns.DeleteNetworkRequest(name=made.name)),
        Code.FAILED_PRECONDITION,
        "NETWORK_IN_USE",
    )
    await bed.engines[bed.worker_ids[0]].containers.container(container).delete(force=True)
    await networks.DeleteNetwork(ns.DeleteNetworkRequest(name=made.name))


async def test_local_network_on_a_worker(
    bed: Bed, networks: network_service_pb2_grpc.NetworkServiceStub
) -> None:
    node_id, name = bed.worker_ids[-1], f"zp.local-{bed.suffix}"
    bed.remove_later(node_id, f"networks/{name}")
    request = ns.CreateNetworkRequest(
        parent=bed.pool,
        network_id=name,
        network=pb.Network(driver="bridge", node=bed.node(node_id), internal=True, subnets=["10.124.0.0/24"]),
    )
    check = ns.CreateNetworkRequest(validate_only=True)
    check.MergeFrom(request)
    preview = (await networks.CreateNetwork(check)).network
    assert preview.name == f"{bed.pool}/networks/{node_id}.{name}" and preview.scope == "local"
    made = (await networks.CreateNetwork(request)).network
    assert (made.name, made.node, made.driver, made.internal) == (
        preview.name,
        bed.node(node_id),
        "bridge",
        True,
    )
    on_node = await networks.ListNetworks(
        ns.ListNetworksRequest(parent=bed.pool, filter=f'node = "{made.node}" AND driver = bridge')
    )
    assert {made.name, f"{bed.pool}/networks/{node_id}.bridge"} <= {n.name for n in on_node.networks}
    await networks.DeleteNetwork(ns.DeleteNetworkRequest(name=made.name))
    await refused(
        networks.GetNetwork(ns.GetNetworkRequest(name=made.name)), Code.NOT_FOUND, "NETWORK_NOT_FOUND"
    )


async def test_predefined_networks_are_kept(
    bed: Bed, networks: network_service_pb2_grpc.NetworkServiceStub
) -> None:
    every = await networks.ListNetworks(ns.ListNetworksRequest(parent="pools/-"))
    names = {n.name for n in every.networks}
    predefined = [f"{bed.pool}/networks/ingress"] + [
        f"{bed.pool}/networks/{node}.{local}" for node in bed.engines for local in ("bridge", "host", "none")
    ]
    assert set(predefined) <= names and not every.unreachable
    for name in predefined[:2]:
        await refused(
            networks.DeleteNetwork(ns.DeleteNetworkRequest(name=name)),
            Code.FAILED_PRECONDITION,
            "PREDEFINED_NETWORK",
        )


def create(network_id: str = "n", **network: Any) -> ns.CreateNetworkRequest:
    return ns.CreateNetworkRequest(parent="pools/multi", network_id=network_id, network=pb.Network(**network))


@pytest.mark.parametrize(
    "bad",
    [
        Bad(create(""), "MISSING_FIELD", "network_id"),
        Bad(create("a b"), "INVALID_ID", "network_id"),
        Bad(create("x.y"), "INVALID_NETWORK_ID", "network_id"),
        Bad(create(subnets=["10.0.0.0/33"]), "INVALID_SUBNET", "network.subnets[0]"),
        Bad(create(subnets=["10.9.0.0/24"], gateways=["10.8.0.1"]), "INVALID_GATEWAY", "network.gateways[0]"),
        Bad(create(labels={"-x": "1"}), "INVALID_LABEL_KEY", "network.labels[-x]"),
        Bad(create(node="pools/multi/nodes/x"), "NODE_NOT_ALLOWED", "network.node"),
        Bad(create(driver="no-such"), "NETWORK_DRIVER_NOT_FOUND", code=Code.FAILED_PRECONDITION),
        Bad(
            ns.GetNetworkRequest(name="pools/multi/networks/no-such"),
            "NETWORK_NOT_FOUND",
            code=Code.NOT_FOUND,
        ),
        Bad(
            ns.GetNetworkRequest(name="pools/multi/networks/x.y.z"), "NETWORK_NOT_FOUND", code=Code.NOT_FOUND
        ),
        Bad(ns.GetNetworkRequest(name="pools/multi/networks/UP.x"), "INVALID_NAME", "name"),
        Bad(ns.DeleteNetworkRequest(name="pools/multi/networks"), "INVALID_NAME", "name"),
        Bad(
            ns.ListNetworksRequest(parent="pools/multi", order_by="driver"),
            "UNSUPPORTED_ORDER_BY",
            "order_by",
        ),
    ],
    ids=str,
)
async def test_bad_network_requests(cluster_pool: str, networks: NetworkStub, bad: Bad) -> None:
    await refused_by(networks, bad)
