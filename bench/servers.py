"""Starting the two servers under test: the real Zane Pool server and the bare baseline."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.procs import Child, free_port
from bench.testbed import BenchError

START_TIMEOUT = 30.0


async def _serving(address: str) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="zanepool.v1.PoolService"), timeout=1.0
            )
        except grpc.aio.AioRpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def start_zanepool(mongodb_uri: str, database: str, folder: Path) -> tuple[Child, str]:
    """``python -m zanepool_server`` on a free port (tried again on another port if it was taken)."""
    for attempt in range(3):
        port = free_port()
        address = f"127.0.0.1:{port}"
        child = await Child.start(
            "zanepool-server",
            "bench.serve",
            f"--listen={address}",
            f"--mongodb-uri={mongodb_uri}",
            f"--database={database}",
            # No background syncs during the measurement (see bench/README.md).
            "--monitor-interval=3600",
            "--shutdown-grace=1",
            log=folder / f"zanepool-server-{attempt}.log",
        )
        try:
            until = time.monotonic() + START_TIMEOUT
            while child.running and time.monotonic() < until:
                if await _serving(address):
                    return child, address
                await asyncio.sleep(0.1)
        except BaseException:
            await child.stop()
            raise
        await child.stop()
        if time.monotonic() >= until:
            raise BenchError(
                f"the Zane Pool server did not serve in {START_TIMEOUT:.0f} s:\n{child.log_tail()}"
            )
    raise BenchError(f"the Zane Pool server could not start:\n{child.log_tail()}")


async def start_baseline(folder: Path) -> tuple[Child, str]:
    """The bare PoolService of bench/baseline.py over the responses saved in ``folder``."""
    child = await Child.start(
        "baseline", "bench.baseline", str(folder), log=folder / "baseline.log", stdout=True
    )
    try:
        assert child.proc.stdout is not None
        try:
            line = await asyncio.wait_for(child.proc.stdout.readline(), START_TIMEOUT)
        except TimeoutError:
            line = b""
        word, _, port = line.decode().partition(" ")
        if word != "port" or not port.strip().isdigit():
            raise BenchError(f"the baseline server did not start:\n{child.log_tail()}")
    except BaseException:
        await child.stop()
        raise
    return child, f"127.0.0.1:{port.strip()}"
