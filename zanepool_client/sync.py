"""The blocking convention, for scripts: calls over a plain ``grpc`` channel (no event loop)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
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


class SyncCalls(ClientCore[grpc.Channel]):
    """Blocking calls, iterators for lists and streams; ``with`` closes the client."""

    @classmethod
    def connect(
        cls,
        target: str,
        *,
        tls: bool | TlsConfig = False,
        options: Sequence[tuple[str, str | int]] = (),
        **settings: Unpack[Settings],
    ) -> Self:
        """A client with a channel of its own to ``target`` (``host:port``), closed by close()."""
        return cls._open(grpc, target, tls, options, settings)

    def close(self) -> None:
        """Close the client (and the channel it opened); later calls raise ClientClosedError."""
        if not self.closed:
            self.closed = True
            if self._owns_channel:
                self.channel.close()

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, call: Call, request: Message) -> Any:
        """One unary call, retried on UNAVAILABLE when the RPC is idempotent."""
        method = self._callable(call.rpc, streaming=False)
        attempts = Attempts(self.config.retry, call.rpc.idempotent)
        for delay in attempts:
            time.sleep(delay)
            try:
                return method(request, timeout=self._timeout(call), metadata=self._metadata(call))
            except grpc.RpcError as err:
                attempts.failed(err)
        raise AssertionError("unreachable")

    def _unary(self, call: Call) -> Any:
        return call.pick(self._call(call, call.request))

    def _paged(self, call: Call) -> Iterator[Any]:
        request: Message | None = call.request
        while request is not None:
            page = self._call(call, request)
            yield from call.pick(page)
            request = paging.next_request(request, page)

    def _stream(self, call: Call) -> Iterator[Any]:
        method = self._callable(call.rpc, streaming=True)
        resumer = Resumer(call.request, self.config.reconnect, call.reconnect)
        for delay in resumer:
            time.sleep(delay)
            stream = method(resumer.request(), timeout=self._timeout(call), metadata=self._metadata(call))
            try:
                for message in stream:
                    resumer.seen(message)
                    yield message
                return
            except grpc.RpcError as err:
                resumer.failed(err)
            finally:
                stream.cancel()
