"""PoolService end to end: a real gRPC channel, a real server, a real Swarm, a real store."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import field_mask_pb2

from tests.support.servers import RunningServer, error_info, swarm_pool
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb


async def register(server: RunningServer, pool_id: str, endpoint: str, **fields: object) -> pb.Pool:
    resp = await server.pools.RegisterPool(
        ps.RegisterPoolRequest(pool_id=pool_id, pool=swarm_pool(endpoint, **fields)), timeout=30
    )
    return resp.pool


async def test_register_get_list_update_delete(server: RunningServer, swarm_unix: str) -> None:
    pool = await register(server, "alpha", swarm_unix, display_name="Alpha", labels={"env": "test"})
    assert pool.name == "pools/alpha"
    assert pool.uid and pool.etag and pool.cluster_id
    assert pool.driver == pb.DRIVER_SWARM
    assert pool.state == pb.Pool.STATE_READY, pool.state_message
    assert pool.info.node_count == 1 and pool.info.cpus >= 1 and pool.info.memory_bytes > 0
    assert pool.info.server_version and pool.info.api_version and pool.info.kernel_version
    assert pool.create_time.seconds and pool.last_sync_time.seconds
    assert not pool.credentials_set
    assert pb.CAPABILITY_NODE_IMPORT in pool.capabilities
    assert not pool.nodes, "nodes belong to the FULL view only"

    basic = (await server.pools.GetPool(ps.GetPoolRequest(name="pools/alpha"))).pool
    assert basic == pool

    full = (await server.pools.GetPool(ps.GetPoolRequest(name="pools/alpha", view=pb.POOL_VIEW_FULL))).pool
    assert len(full.nodes) == 1
    node = full.nodes[0]
    assert node.name.startswith("pools/alpha/nodes/")
    assert node.role == pb.Node.ROLE_MANAGER and node.leader
    assert node.state == pb.Node.STATE_READY and node.availability == pb.Node.AVAILABILITY_ACTIVE
    assert node.engine_version and node.cpus >= 1 and node.hostname

    listed = await server.pools.ListPools(ps.ListPoolsRequest())
    assert [p.name for p in listed.pools] == ["pools/alpha"] and not listed.next_page_token

    updated = (
        await server.pools.UpdatePool(
            ps.UpdatePoolRequest(
                pool=pb.Pool(
                    name="pools/alpha", display_name="Renamed", labels={"team": "core"}, etag=pool.etag
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name", "labels.team"]),
            )
        )
    ).pool
    assert updated.display_name == "Renamed"
    assert dict(updated.labels) == {"env": "test", "team": "core"}
    assert updated.etag != pool.etag and updated.update_time.ToDatetime() >= pool.update_time.ToDatetime()

    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await server.pools.UpdatePool(
            ps.UpdatePoolRequest(
                pool=pb.Pool(name="pools/alpha", display_name="x", etag=pool.etag),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            )
        )
    assert stale.value.code() == grpc.StatusCode.ABORTED
    assert error_info(stale.value).reason == "ETAG_MISMATCH"

    refreshed = (await server.pools.RefreshPool(ps.RefreshPoolRequest(name="pools/alpha"))).pool
    assert refreshed.state == pb.Pool.STATE_READY and len(refreshed.nodes) == 1
    assert refreshed.last_sync_time.ToDatetime() >= pool.last_sync_time.ToDatetime()

    await server.pools.DeletePool(ps.DeletePoolRequest(name="pools/alpha", etag=updated.etag))
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await server.pools.GetPool(ps.GetPoolRequest(name="pools/alpha"))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(gone.value).reason == "POOL_NOT_FOUND"


async def test_validate_only_stores_nothing(server: RunningServer, swarm_unix: str) -> None:
    resp = await server.pools.RegisterPool(
        ps.RegisterPoolRequest(pool_id="dry", pool=swarm_pool(swarm_unix), validate_only=True)
    )
    assert resp.pool.name == "pools/dry" and resp.pool.cluster_id
    listed = await server.pools.ListPools(ps.ListPoolsRequest())
    assert not listed.pools


async def test_same_swarm_twice_is_refused(server: RunningServer, swarm_unix: str, tb: object) -> None:
    from tests.support.testbed import Testbed

    assert isinstance(tb, Testbed)
    await register(server, "first", swarm_unix)
    # The same engine through its plain TCP endpoint is the same swarm.
    with pytest.raises(grpc.aio.AioRpcError) as dup:
        await register(server, "second", tb.require("ZANEPOOL_TB_DOCKER_TCP"))
    assert dup.value.code() == grpc.StatusCode.ALREADY_EXISTS
    info = error_info(dup.value)
    assert info.reason == "CLUSTER_ALREADY_REGISTERED" and info.metadata["pool"] == "pools/first"

    with pytest.raises(grpc.aio.AioRpcError) as same_name:
        await register(server, "first", swarm_unix)
    assert same_name.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_info(same_name.value).reason == "POOL_ALREADY_EXISTS"


async def test_list_paging_filter_and_order(server: RunningServer, swarm_unix: str) -> None:
    # One swarm can be registered once, so paging is exercised on pools written straight
    # to the store, as another server replica would; they reach this server through the
    # store's change stream.
    await register(server, "real", swarm_unix, labels={"env": "prod"})
    store = server.server.store
    pools = server.server.pools
    assert store is not None and pools is not None
    real = await pools.get("real")
    for i in range(7):
        await store.insert_pool(
            real.with_changes(
                pool_id=f"p{i}",
                uid=f"u{i}",
                cluster_id=f"c{i}",
                labels={"env": "prod" if i % 2 else "dev", "n": str(i)},
            )
        )
    for _ in range(50):
        if len((await server.pools.ListPools(ps.ListPoolsRequest())).pools) == 8:
            break
        await asyncio.sleep(0.1)
    names: list[str] = []
    token = ""
    while True:
        page = await server.pools.ListPools(ps.ListPoolsRequest(page_size=3, page_token=token))
        assert len(page.pools) <= 3
        names += [p.name for p in page.pools]
        token = page.next_page_token
        if not token:
            break
    assert names == sorted(names) and len(names) == 8

    prod = await server.pools.ListPools(ps.ListPoolsRequest(filter='labels.env = "prod"'))
    assert sorted(p.name for p in prod.pools) == ["pools/p1", "pools/p3", "pools/p5", "pools/real"]
    swarm_dev = await server.pools.ListPools(
        ps.ListPoolsRequest(filter="driver = SWARM AND NOT labels.env = prod AND state = READY")
    )
    assert sorted(p.name for p in swarm_dev.pools) == ["pools/p0", "pools/p2", "pools/p4", "pools/p6"]
    has_n = await server.pools.ListPools(ps.ListPoolsRequest(filter="labels.n:*"))
    assert len(has_n.pools) == 7

    desc = await server.pools.ListPools(ps.ListPoolsRequest(order_by="name desc", page_size=2))
    assert [p.name for p in desc.pools] == ["pools/real", "pools/p6"]
    nxt = await server.pools.ListPools(
        ps.ListPoolsRequest(order_by="name desc", page_size=2, page_token=desc.next_page_token)
    )
    assert [p.name for p in nxt.pools] == ["pools/p5", "pools/p4"]

    with pytest.raises(grpc.aio.AioRpcError) as mismatch:
        await server.pools.ListPools(ps.ListPoolsRequest(order_by="name", page_token=desc.next_page_token))
    assert error_info(mismatch.value).reason == "PAGE_TOKEN_MISMATCH"


async def test_credentials_are_never_returned(server: RunningServer, tb: object) -> None:
    from tests.support.testbed import Testbed

    assert isinstance(tb, Testbed)
    pki = tb.require("ZANEPOOL_TB_DOCKER_PKI")
    from pathlib import Path

    creds = pb.Credentials(
        ca_pem=Path(pki, "ca.pem").read_text(),
        cert_pem=Path(pki, "cert.pem").read_text(),
        key_pem=Path(pki, "key.pem").read_text(),
    )
    pool = await register(server, "tls", tb.require("ZANEPOOL_TB_DOCKER_TLS"), credentials=creds)
    assert pool.state == pb.Pool.STATE_READY
    assert pool.credentials_set and not pool.HasField("credentials")
    got = (await server.pools.GetPool(ps.GetPoolRequest(name="pools/tls", view=pb.POOL_VIEW_FULL))).pool
    assert got.credentials_set and not got.HasField("credentials") and got.nodes
