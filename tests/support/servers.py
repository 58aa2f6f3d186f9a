"""In-process Zane Pool servers on port 0 with a real channel, and rich-error helpers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from zanepool.v1 import pool_service_pb2_grpc, resources_pb2
from zanepool_server.app import ZanePoolServer
from zanepool_server.config import Settings


@dataclass
class RunningServer:
    server: ZanePoolServer
    channel: grpc.aio.Channel
    address: str

    @property
    def pools(self) -> pool_service_pb2_grpc.PoolServiceStub:
        return pool_service_pb2_grpc.PoolServiceStub(self.channel)


@contextlib.asynccontextmanager
async def start_server(**overrides: Any) -> AsyncIterator[RunningServer]:
    defaults: dict[str, Any] = {"listen": "127.0.0.1:0", "monitor_interval": 60.0, "shutdown_grace": 2.0}
    settings = replace(Settings(data_dir=Path("/nonexistent")), **(defaults | overrides))
    server = ZanePoolServer(settings)
    try:
        port = await server.start()
        address = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(address) as channel:
            yield RunningServer(server, channel, address)
    finally:
        await server.stop()


def error_info(err: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    """The one ErrorInfo of a rich error (fails when there is not exactly one)."""
    infos = [d for d in details(err) if isinstance(d, error_details_pb2.ErrorInfo)]
    assert len(infos) == 1, f"expected one ErrorInfo in {err!r}"
    return infos[0]


def details(err: grpc.aio.AioRpcError) -> list[Any]:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, f"no google.rpc.Status in {err!r}"
    out: list[Any] = []
    for any_msg in status.details:
        for cls in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest):
            if any_msg.Is(cls.DESCRIPTOR):
                msg = cls()
                any_msg.Unpack(msg)
                out.append(msg)
    return out


def swarm_pool(endpoint: str, **fields: Any) -> resources_pb2.Pool:
    return resources_pb2.Pool(driver=resources_pb2.DRIVER_SWARM, endpoint=endpoint, **fields)
