"""The asyncio convention: calls over a ``grpc.aio`` channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Self, Unpack

import grpc
from google.protobuf.message import Message

from zanepool_client import paging
from zanepool_client.base import ClientCore
from zanepool_client.config import Settings, TlsConfig
from zanepool_client.methods import Call
from zanepool_client.retry import Attempts
from zanepool_client.streams import Resumer


class AsyncCalls(ClientCore[grpc.aio.Channel]):
    """Awaitable calls, async iterators for lists and streams; ``async with`` closes the client."""

    @classmethod
    async def connect(
        cls,
        target: str,
        *,
        tls: bool | TlsConfig = False,
        options: Sequence[tuple[str, str | int]] = (),
        **settings: Unpack[Settings],
    ) -> Self:
        """A client with a channel of its own to ``target`` (``host:port``), closed by close()."""
        return cls._open(grpc.aio, target, tls, options, settings)

    async def close(self) -> None:
        """Close the client (and the channel it opened); later calls raise ClientClosedError."""
        if not self.closed:
            self.closed = True
            if self._owns_channel:
                await self.channel.close()

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _call(self, call: Call, request: Message) -> Any:
        """One unary call, retried on UNAVAILABLE when the RPC is idempotent."""
        method = self._callable(call.rpc, streaming=False)
        attempts = Attempts(self.config.retry, call.rpc.idempotent)
        for delay in attempts:
            await asyncio.sleep(delay)
            try:
                return await method(request, timeout=self._timeout(call), metadata=self._metadata(call))
            except grpc.RpcError as err:
                attempts.failed(err)
        raise AssertionError("unreachable")

    async def _unary(self, call: Call) -> Any:
        return call.pick(await self._call(call, call.request))

    async def _paged(self, call: Call) -> AsyncIterator[Any]:
        request: Message | None = call.request
        while request is not None:
            page = await self._call(call, request)
            for item in call.pick(page):
                yield item
            request = paging.next_request(request, page)

    async def _stream(self, call: Call) -> AsyncIterator[Any]:
        method = self._callable(call.rpc, streaming=True)
        resumer = Resumer(call.request, self.config.reconnect, call.reconnect)
        for delay in resumer:
            await asyncio.sleep(delay)
            stream = method(resumer.request(), timeout=self._timeout(call), metadata=self._metadata(call))
            try:
                async for message in stream:
                    resumer.seen(message)
                    yield message
                return
            except grpc.RpcError as err:
                resumer.failed(err)
            finally:
                stream.cancel()
