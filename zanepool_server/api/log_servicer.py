"""LogService: one stream of log lines for a pool (or one container)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from zanepool.v1 import log_service_pb2 as ls
from zanepool.v1 import log_service_pb2_grpc as ls_grpc
from zanepool_server.api.convert import heartbeat, since_in
from zanepool_server.api.convert_storage import node_name
from zanepool_server.api.status import Context, streaming
from zanepool_server.domain.logs import LogRequest, Logs, Message, SourceChange
from zanepool_server.model import LogLine, LogStream
from zanepool_server.streams.mailbox import Gap

_STREAMS = {
    LogStream.STDOUT: ls.LogEntry.STREAM_STDOUT,
    LogStream.STDERR: ls.LogEntry.STREAM_STDERR,
    LogStream.TTY: ls.LogEntry.STREAM_TTY,
}


class _Entries:
    """LogEntries of one pool, as plain values; each container's and node's resource names
    are made once per message, not once per line."""

    def __init__(self, pool: str) -> None:
        self._pool = pool
        self._names: dict[tuple[str, str], tuple[str, str]] = {}

    def entry(self, line: LogLine) -> Any:
        names = self._names.get((line.source, line.node_id))
        if names is None:
            names = self._names[line.source, line.node_id] = (
                f"{self._pool}/containers/{line.source}",
                node_name(self._pool, line.node_id),
            )
        seconds, nanos = divmod(line.ts_ns, 1_000_000_000)
        return {
            "container": names[0],
            "node": names[1],
            "stream": _STREAMS[line.stream],
            "time": {"seconds": seconds, "nanos": nanos},
            "line": line.text,
        }


def response(message: Message) -> ls.StreamLogsResponse:
    pool, body = message.pool.name, message.body
    if isinstance(body, LogLine):
        return ls.StreamLogsResponse(entry=_Entries(pool).entry(body), cursor=message.cursor)
    if isinstance(body, list):
        batch: Any = {"entries": list(map(_Entries(pool).entry, body))}
        return ls.StreamLogsResponse(batch=batch, cursor=message.cursor)
    if isinstance(body, SourceChange):
        change = ls.LogSourceChange(
            container=f"{pool}/containers/{body.source}",
            node=node_name(pool, body.node_id),
            change=ls.LogSourceChange.CHANGE_JOINED if body.joined else ls.LogSourceChange.CHANGE_LEFT,
            message=body.message,
        )
        return ls.StreamLogsResponse(source_change=change, cursor=message.cursor)
    if isinstance(body, Gap):
        gap = ls.LogGap(
            dropped_lines=body.dropped, containers=sorted(f"{pool}/containers/{s}" for s in body.sources)
        )
        return ls.StreamLogsResponse(gap=gap, cursor=message.cursor)
    return ls.StreamLogsResponse(heartbeat=heartbeat(), cursor=message.cursor)


class LogServicer(ls_grpc.LogServiceServicer):
    def __init__(self, logs: Logs) -> None:
        self._logs = logs

    @streaming
    async def StreamLogs(
        self, request: ls.StreamLogsRequest, context: Context
    ) -> AsyncIterator[ls.StreamLogsResponse]:
        stream = self._logs.stream(
            LogRequest(
                parent=request.parent,
                filter_text=request.filter,
                since_ns=since_in(request),
                tail=request.tail_lines,
                follow=request.follow,
                timestamps=request.timestamps,
                resume_token=request.resume_token,
                max_batch=request.max_batch_lines,
            )
        )
        try:
            async for message in stream:
                yield response(message)
        finally:
            await stream.aclose()  # stop every upstream read now, not when the generator is collected
