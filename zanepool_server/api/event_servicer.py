"""EventService: one stream of the events of a pool (or of every pool)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from google.protobuf import timestamp_pb2

from zanepool.v1 import event_service_pb2 as es
from zanepool.v1 import event_service_pb2_grpc as es_grpc
from zanepool_server.api.convert import heartbeat, since_in
from zanepool_server.api.status import Context, streaming
from zanepool_server.domain.watch import CLUSTER, Message, Watches, WatchRequest

_SOURCES = {CLUSTER: es.Event.SOURCE_CLUSTER}


def response(message: Message) -> es.WatchEventsResponse:
    if message.event is None:
        return es.WatchEventsResponse(heartbeat=heartbeat(), cursor=message.cursor)
    event = message.event.body
    return es.WatchEventsResponse(
        event=es.Event(
            source=_SOURCES.get(message.event.source, es.Event.SOURCE_ZANEPOOL),
            pool=message.event.pool,
            kind=event.kind,
            action=event.action,
            resource=event.resource,
            attributes=dict(event.attributes),
            time=timestamp_pb2.Timestamp(seconds=event.ts_ns // 10**9, nanos=event.ts_ns % 10**9),
            message=event.message,
        ),
        cursor=message.cursor,
    )


def _request(request: es.WatchEventsRequest) -> WatchRequest:
    return WatchRequest(
        parent=request.parent,
        filter_text=request.filter,
        since_ns=since_in(request),
        resume_token=request.resume_token,
    )


class EventServicer(es_grpc.EventServiceServicer):
    def __init__(self, watches: Watches) -> None:
        self._watches = watches

    @streaming
    async def WatchEvents(
        self, request: es.WatchEventsRequest, context: Context
    ) -> AsyncIterator[es.WatchEventsResponse]:
        # Closed at once when the caller goes: every upstream read stops now, not when collected.
        async with contextlib.aclosing(self._watches.stream(_request(request))) as stream:
            async for message in stream:
                yield response(message)
