"""The typed facade, written once for both clients.

Every RPC is a :class:`Method` descriptor on :class:`zanepool_client._api.Api` (generated from
the service descriptors). Its signature comes from a signature function (the request message
or its fields as keywords, plus the call options) and its result type depends on the client
it is read from: ``Awaitable[T]`` / ``AsyncIterator[T]`` on :class:`~zanepool_client.aio.AsyncCalls`,
``T`` / ``Iterator[T]`` on :class:`~zanepool_client.sync.SyncCalls`. Both clients receive the
same built request and differ only in how they wait.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Self, TypedDict, TypeVar, overload

from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

if TYPE_CHECKING:
    from zanepool_client.aio import AsyncCalls
    from zanepool_client.sync import SyncCalls

P = ParamSpec("P")
A = TypeVar("A")
S = TypeVar("S")
T = TypeVar("T")
Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

#: Call metadata: (key, value) pairs; keys are lower case, ``-bin`` keys take bytes.
Metadata = Sequence[tuple[str, str | bytes]]

#: Methods whose calls may be repeated safely: only these are retried on UNAVAILABLE.
IDEMPOTENT_PREFIXES = ("Get", "List", "Refresh")


class CallOptions(TypedDict, total=False):
    """Keywords every method takes beside the request fields."""

    #: Seconds the call may take (default: the client's ``timeout``; streams: none).
    timeout: float | None
    #: Extra metadata, sent after the client's own (the bearer token).
    metadata: Metadata | None


class StreamOptions(CallOptions, total=False):
    """Keywords of the streaming methods."""

    #: Reconnect on UNAVAILABLE, continuing after the last cursor seen (default True).
    reconnect: bool


OPTION_KEYS = frozenset(StreamOptions.__annotations__)


@dataclass(frozen=True)
class Rpc(Generic[Req, Resp]):
    """One RPC of the API: its path and message types."""

    path: str  # /zanepool.v1.PoolService/GetPool
    request_type: type[Req]
    response_type: type[Resp]

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[1]

    @property
    def idempotent(self) -> bool:
        return self.name.startswith(IDEMPOTENT_PREFIXES)


class Kind(enum.Enum):
    UNARY = "unary"  # the call's result, picked from the response
    PAGED = "paged"  # every item of every page
    STREAM = "stream"  # every message of a server stream, reconnecting on UNAVAILABLE


@dataclass(frozen=True)
class Call:
    """What a client method hands to its client: the RPC, the request and the options."""

    rpc: Rpc[Any, Any]
    kind: Kind
    pick: Callable[[Any], Any]  # UNARY: the result; PAGED: the items of a page
    request: Message
    timeout: float | None
    metadata: Metadata
    reconnect: bool


class Method(Generic[P, A, S]):
    """A client method: ``A`` is what the async client returns, ``S`` what the sync one does."""

    def __init__(
        self, rpc: Rpc[Any, Any], kind: Kind, signature: Callable[P, Message], pick: Callable[[Any], Any]
    ) -> None:
        self.rpc, self.kind, self.signature, self.pick = rpc, kind, signature, pick

    @overload
    def __get__(self, obj: None, owner: type) -> Self: ...
    @overload
    def __get__(self, obj: AsyncCalls, owner: type) -> Callable[P, A]: ...
    @overload
    def __get__(self, obj: SyncCalls, owner: type) -> Callable[P, S]: ...
    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self

        def bound(*args: Any, **kwargs: Any) -> Any:
            request = self.signature(*args, **kwargs)
            call = Call(
                self.rpc,
                self.kind,
                self.pick,
                request,
                kwargs.get("timeout"),
                tuple(kwargs.get("metadata") or ()),
                kwargs.get("reconnect", True),
            )
            return obj._invoke(call)

        bound.__name__ = bound.__qualname__ = self.name
        bound.__doc__ = f"Calls {self.rpc.path}."
        return bound

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name


def unary(
    rpc: Rpc[Req, Resp], signature: Callable[P, Req], pick: Callable[[Resp], T]
) -> Method[P, Awaitable[T], T]:
    """A unary method returning ``pick(response)`` (the resource, the response, or None)."""
    return Method(rpc, Kind.UNARY, signature, pick)


def paged(
    rpc: Rpc[Req, Resp], signature: Callable[P, Req], items: Callable[[Resp], Iterable[T]]
) -> Method[P, AsyncIterator[T], Iterator[T]]:
    """A List method yielding the items of every page, following next_page_token."""
    return Method(rpc, Kind.PAGED, signature, items)


def streamed(
    rpc: Rpc[Req, Resp], signature: Callable[P, Req]
) -> Method[P, AsyncIterator[Resp], Iterator[Resp]]:
    """A server-streaming method that reconnects with resume_token on UNAVAILABLE."""
    return Method(rpc, Kind.STREAM, signature, lambda response: response)


def build(request_type: type[Req], request: Req | None, fields: Mapping[str, Any]) -> Req:
    """The request: the message passed, or one built from the keyword fields (None = unset).

    A FieldMask field also takes an iterable of paths, a Timestamp field a datetime.
    """
    values = {k: v for k, v in fields.items() if k not in OPTION_KEYS and v is not None}
    if request is not None:
        if not isinstance(request, request_type):
            raise TypeError(f"expected a {request_type.__name__}, got {type(request).__name__}")
        if values:
            raise TypeError(f"pass a {request_type.__name__} or its fields as keywords, not both")
        return request
    by_name = request_type.DESCRIPTOR.fields_by_name
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise TypeError(f"{request_type.__name__} has no field {', '.join(unknown)}")
    return request_type(**{k: _coerce(by_name[k].message_type, v) for k, v in values.items()})


def _coerce(message_type: Any, value: Any) -> Any:
    name = message_type.full_name if message_type is not None else ""
    if name == "google.protobuf.FieldMask" and not isinstance(value, field_mask_pb2.FieldMask):
        return field_mask_pb2.FieldMask(paths=[value] if isinstance(value, str) else list(value))
    if name == "google.protobuf.Timestamp" and isinstance(value, datetime.datetime):
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(value)
        return stamp
    return value


def snake(name: str) -> str:
    """``GetPool`` -> ``get_pool``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def is_paged(request: Descriptor, response: Descriptor) -> bool:
    """A List RPC: page_token in, next_page_token out."""
    return "page_token" in request.fields_by_name and "next_page_token" in response.fields_by_name
