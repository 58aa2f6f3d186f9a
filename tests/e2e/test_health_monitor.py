"""The health monitor and the FULL view when clusters fail, against the real Swarm engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import grpc
import pytest

from tests.support import testbed
from tests.support.proxy import proxy_to
from tests.support.servers import RunningServer, start_server, swarm_pool
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb


async def eventually(check: Callable[[], object], *, within: float, what: str) -> None:
    """Poll an async check until it returns truthy; fail with ``what`` after ``within`` seconds."""
    end = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > end:
            pytest.fail(f"not within {within}s: {what}")
        await asyncio.sleep(0.2)


async def state_of(server: RunningServer, name: str) -> int:
    return (await server.pools.GetPool(ps.GetPoolRequest(name=name))).pool.state


async def test_full_view_falls_back_to_the_snapshot(server: RunningServer, swarm_unix: str) -> None:
    async with proxy_to(swarm_unix) as proxy:
        await server.pools.RegisterPool(
            ps.RegisterPoolRequest(pool_id="hang", pool=swarm_pool(proxy.endpoint))
        )
        proxy.frozen = True
        await proxy.drop_connections()
        started = time.monotonic()
        full = (
            await server.pools.GetPool(
                ps.GetPoolRequest(name="pools/hang", view=pb.POOL_VIEW_FULL), timeout=20
            )
        ).pool
        waited = time.monotonic() - started
        assert full.state == pb.Pool.STATE_UNREACHABLE
        assert "snapshot" in full.state_message
        assert full.info.node_count == 1, "the last snapshot's info is still there"
        assert len(full.nodes) == 1
        assert waited < 8, f"the FULL view waited {waited:.1f}s on a hung cluster"

        # A caller's shorter deadline wins, and BASIC never waits on the cluster at all.
        started = time.monotonic()
        basic = (await server.pools.GetPool(ps.GetPoolRequest(name="pools/hang"), timeout=2)).pool
        assert time.monotonic() - started < 1
        assert basic.state == pb.Pool.STATE_READY, "BASIC shows what the monitor last stored"
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await server.pools.GetPool(
                ps.GetPoolRequest(name="pools/hang", view=pb.POOL_VIEW_FULL), timeout=1
            )
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


@pytest.mark.slow
async def test_engine_stop_makes_pool_unreachable_then_ready(
    mongo_uri: str, database: str, swarm_unix: str
) -> None:
    async with start_server(
        mongodb_uri=mongo_uri, database=database, monitor_interval=0.5, monitor_timeout=2.0
    ) as server:
        await server.pools.RegisterPool(ps.RegisterPoolRequest(pool_id="engine", pool=swarm_pool(swarm_unix)))
        events_before = await _events(server)
        testbed.script("docker-down.sh", "--keep-data")
        try:
            await eventually(
                lambda: _is(server, "pools/engine", pb.Pool.STATE_UNREACHABLE),
                within=15,
                what="the monitor marks the pool UNREACHABLE",
            )
            pool = (await server.pools.GetPool(ps.GetPoolRequest(name="pools/engine"))).pool
            assert pool.state_message, "the state says why"
        finally:
            testbed.script("docker-up.sh")
        await eventually(
            lambda: _is(server, "pools/engine", pb.Pool.STATE_READY),
            within=30,
            what="the pool is READY again without a server restart",
        )
        actions = [(e["action"], e["attributes"].get("new_state")) for e in await _events(server)]
        assert actions[len(events_before) :] == [("state_changed", "UNREACHABLE"), ("state_changed", "READY")]


async def _is(server: RunningServer, name: str, state: int) -> bool:
    return await state_of(server, name) == state


async def _events(server: RunningServer) -> list[dict[str, object]]:
    store = server.server.store
    assert store is not None
    return [e async for e in store.events()]


async def test_two_replicas_never_sync_the_same_pool(mongo_uri: str, database: str, swarm_unix: str) -> None:
    settings = {
        "mongodb_uri": mongo_uri,
        "database": database,
        "monitor_interval": 0.3,
        "monitor_timeout": 2.0,
    }
    async with start_server(**settings) as first, start_server(**settings) as second:
        await first.pools.RegisterPool(ps.RegisterPoolRequest(pool_id="shared", pool=swarm_pool(swarm_unix)))
        monitors = {s.address: s.server.monitor for s in (first, second)}
        live = [m for m in monitors.values() if m is not None]
        assert len(live) == 2
        await eventually(
            lambda: sum(m.syncs["shared"] for m in live) >= 8,
            within=15,
            what="eight syncs of the shared pool",
        )
        counts = sorted(m.syncs["shared"] for m in live)
        assert counts[0] == 0, f"both replicas synced the pool: {counts}"

        # Hand-over: the owner releases its lease when it stops, so the other takes over at once
        # (not after the lease would have lapsed).
        owner, other = (first, second) if live[0].syncs["shared"] else (second, first)
        await owner.server.stop()
        other_monitor = other.server.monitor
        assert other_monitor is not None
        before = other_monitor.syncs["shared"]
        await eventually(
            lambda: other_monitor.syncs["shared"] >= before + 2,
            within=5,
            what="the other replica takes the pool over",
        )
