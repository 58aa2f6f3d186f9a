"""A loopback TCP proxy to a unix socket that a test can freeze, to make a cluster hang."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Proxy:
    """Forwards 127.0.0.1:port to a unix socket; while frozen, new connections hang unanswered."""

    def __init__(self, unix_path: str) -> None:
        self.unix_path = unix_path
        self.frozen = False
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self.frozen:
                await asyncio.sleep(3600)
            up_reader, up_writer = await asyncio.open_unix_connection(self.unix_path)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(_pipe(reader, up_writer))
                tg.create_task(_pipe(up_reader, writer))
        except (OSError, asyncio.CancelledError, ExceptionGroup):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    async def drop_connections(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.drop_connections()
        if self._server is not None:
            await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError):
            writer.close()


@contextlib.asynccontextmanager
async def proxy_to(unix_endpoint: str) -> AsyncIterator[Proxy]:
    proxy = Proxy(unix_endpoint.removeprefix("unix://"))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
