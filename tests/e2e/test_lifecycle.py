"""The server's life: embedded store, restarts, SIGTERM, health, a store that goes away."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.servers import error_info, start_server, swarm_pool
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import pool_service_pb2_grpc
from zanepool_server.domain.pool_cache import FRESH_FOR
from zanepool_server.store.embedded import EmbeddedMongo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_embedded_store_keeps_pools_across_restarts(tmp_data: Path, swarm_unix: str) -> None:
    async with start_server(mongodb_uri="", data_dir=tmp_data) as first:
        registered = (
            await first.pools.RegisterPool(
                ps.RegisterPoolRequest(pool_id="kept", pool=swarm_pool(swarm_unix, labels={"k": "v"}))
            )
        ).pool
    assert not (tmp_data / "store.pid").exists(), "the embedded engine stopped with the server"
    async with start_server(mongodb_uri="", data_dir=tmp_data) as second:
        again = (await second.pools.GetPool(ps.GetPoolRequest(name="pools/kept"))).pool
    assert again.uid == registered.uid and again.etag == registered.etag and dict(again.labels) == {"k": "v"}


async def _health(address: str) -> AsyncIterator[int]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        async for reply in stub.Watch(health_pb2.HealthCheckRequest(service="")):
            yield reply.status


async def test_sigterm_drains_and_reports_not_serving(tmp_data: Path) -> None:
    """The README's way to run it: no flags, embedded store; then SIGTERM."""
    port = free_port()
    env = {
        **os.environ,
        "ZANEPOOL_LISTEN": f"127.0.0.1:{port}",
        "ZANEPOOL_DATA_DIR": str(tmp_data),
        "ZANEPOOL_SHUTDOWN_GRACE": "2",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zanepool_server",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        address = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(address) as channel:
            await asyncio.wait_for(channel.channel_ready(), 60)
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "zanepool.v1.PoolService", "zanepool.v1.LogService"):
                reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
            pools = pool_service_pb2_grpc.PoolServiceStub(channel)
            assert not (await pools.ListPools(ps.ListPoolsRequest(), timeout=5)).pools

            watch = _health(address)
            assert await anext(watch) == health_pb2.HealthCheckResponse.SERVING
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(anext(watch), 10) == health_pb2.HealthCheckResponse.NOT_SERVING
            await watch.aclose()
        started = time.monotonic()
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert time.monotonic() - started < 15
        assert proc.stderr is not None
        log = (await proc.stderr.read()).decode()
        assert "msg=stopped" in log, log
        assert not (tmp_data / "store.pid").exists()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_store_outage_gives_unavailable_then_recovers(
    tmp_data: Path, swarm_unix: str, database: str
) -> None:
    store = EmbeddedMongo(tmp_data, port=free_port())
    uri = await store.start()
    try:
        async with start_server(mongodb_uri=uri, database=database) as server:
            await server.pools.RegisterPool(ps.RegisterPoolRequest(pool_id="s", pool=swarm_pool(swarm_unix)))
            await store.stop()
            # The in-memory mirror of the pools answers only while the store is heard from.
            await asyncio.sleep(FRESH_FOR + 0.5)
            for call in (
                server.pools.GetPool(ps.GetPoolRequest(name="pools/s"), timeout=20),
                server.pools.ListPools(ps.ListPoolsRequest(), timeout=20),
            ):
                started = time.monotonic()
                with pytest.raises(grpc.aio.AioRpcError) as down:
                    await call
                assert down.value.code() == grpc.StatusCode.UNAVAILABLE
                assert error_info(down.value).reason == "STORE_UNAVAILABLE"
                assert time.monotonic() - started < 8, "a store outage must not hang a call"

            await store.start()  # the same port and data: the server reconnects by itself
            await wait_until_answered(server.pools, "pools/s", within=30)
    finally:
        await store.stop()


async def wait_until_answered(
    pools: pool_service_pb2_grpc.PoolServiceStub, name: str, *, within: float
) -> None:
    """Retry GetPool while it answers UNAVAILABLE, as a client with retries would."""
    give_up = time.monotonic() + within
    while True:
        try:
            await pools.GetPool(ps.GetPoolRequest(name=name), timeout=10)
            return
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > give_up:
                raise
        await asyncio.sleep(0.5)
