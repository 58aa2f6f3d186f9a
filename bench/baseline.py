"""The baseline: a bare grpc.aio PoolService that answers with prebuilt responses.

``python -m bench.baseline DIR`` serves ``DIR/get_pool.bin`` (a GetPoolResponse) for GetPool
and ``DIR/list_pools.bin`` (a ListPoolsResponse) for ListPools, whatever the request, on a
free loopback port, and prints ``port N`` on stdout once it serves. It uses the real
server's channel options, so the two differ only in what happens inside the handlers.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import grpc

from bench.child import stop_when_parent_goes
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import pool_service_pb2_grpc as ps_grpc
from zanepool_server.app import SERVER_OPTIONS

GET_FILE = "get_pool.bin"
LIST_FILE = "list_pools.bin"


class BareServicer(ps_grpc.PoolServiceServicer):
    def __init__(self, get: ps.GetPoolResponse, listed: ps.ListPoolsResponse) -> None:
        self._get = get
        self._list = listed

    async def GetPool(
        self, request: ps.GetPoolRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> ps.GetPoolResponse:
        return self._get

    async def ListPools(
        self, request: ps.ListPoolsRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> ps.ListPoolsResponse:
        return self._list


async def serve(folder: Path) -> None:
    get = ps.GetPoolResponse.FromString((folder / GET_FILE).read_bytes())
    listed = ps.ListPoolsResponse.FromString((folder / LIST_FILE).read_bytes())
    server = grpc.aio.server(options=SERVER_OPTIONS)
    # Only GetPool and ListPools are served; the other methods stay UNIMPLEMENTED.
    servicer = BareServicer(get, listed)  # type: ignore[abstract]
    ps_grpc.add_PoolServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        print(f"port {port}", flush=True)
        await stop.wait()
    finally:
        await server.stop(0.5)


if __name__ == "__main__":
    stop_when_parent_goes()
    asyncio.run(serve(Path(sys.argv[1])))
