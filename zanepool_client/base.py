"""What the async and the sync client share: the channel, the settings, the open/closed state,
one multi-callable per RPC, and the dispatch of a method's :class:`~zanepool_client.methods.Call`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, Self, TypeVar, Unpack

from zanepool_client.config import ClientConfig, Settings, TlsConfig, channel_settings
from zanepool_client.errors import ClientClosedError
from zanepool_client.methods import Call, Kind, Metadata, Rpc

ChannelT = TypeVar("ChannelT")


class ClientCore(Generic[ChannelT]):
    def __init__(self, channel: ChannelT, **settings: Unpack[Settings]) -> None:
        self.channel = channel
        self.config = ClientConfig(**settings)
        self.closed = False
        self._owns_channel = False  # set by connect(): close() then closes the channel
        self._callables: dict[tuple[str, bool], Any] = {}

    @classmethod
    def _open(
        cls,
        channels: Any,  # the module: grpc.aio or grpc
        target: str,
        tls: bool | TlsConfig,
        options: Sequence[tuple[str, str | int]],
        settings: Settings,
    ) -> Self:
        credentials, channel_options = channel_settings(tls, tuple(options))
        if credentials is None:
            channel = channels.insecure_channel(target, options=channel_options)
        else:
            channel = channels.secure_channel(target, credentials, options=channel_options)
        client = cls(channel, **settings)
        client._owns_channel = True
        return client

    def _check_open(self) -> None:
        if self.closed:
            raise ClientClosedError("the client is closed; make a new one")

    def _invoke(self, call: Call) -> Any:
        self._check_open()
        run = {Kind.UNARY: self._unary, Kind.PAGED: self._paged, Kind.STREAM: self._stream}[call.kind]
        return run(call)

    def _unary(self, call: Call) -> Any:
        raise NotImplementedError

    def _paged(self, call: Call) -> Any:
        raise NotImplementedError

    def _stream(self, call: Call) -> Any:
        raise NotImplementedError

    def _callable(self, rpc: Rpc[Any, Any], streaming: bool) -> Any:
        """The channel's multi-callable for an RPC (made once)."""
        key = (rpc.path, streaming)
        if key not in self._callables:
            make = self.channel.unary_stream if streaming else self.channel.unary_unary  # type: ignore[attr-defined]
            self._callables[key] = make(
                rpc.path,
                request_serializer=rpc.request_type.SerializeToString,
                response_deserializer=rpc.response_type.FromString,
            )
        return self._callables[key]

    def _timeout(self, call: Call) -> float | None:
        """A unary call's deadline: its own, else the client's; a stream has only its own."""
        if call.timeout is not None or call.kind is Kind.STREAM:
            return call.timeout
        return self.config.timeout

    def _metadata(self, call: Call) -> Metadata:
        return self.config.metadata(call.metadata)
