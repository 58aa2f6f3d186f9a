"""The pool log subscription: the log lines of every container of a pool that a filter picks.

For each subscriber and container, a reader taps the container's shared live feed first
(one upstream read per container, however many subscribers), then reads the history the
subscriber asked for (since / tail / after its resume cursor) on its own, and only then
passes the live lines on, skipping what the history already gave: nothing is lost
between the two and nothing is repeated. With ``follow``, a shared roster of the pool's
containers (one list every ``roster_interval`` per pool) lets containers that start later
join, and containers that end are announced.

Each subscriber has a bounded mailbox (see streams.mailbox): when it falls behind, the
newest lines are dropped and a gap message says how many. Cursors (streams.cursor) hold
the last position delivered per container; a stream resumed from one continues after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from zanepool_server import tasks
from zanepool_server.domain import validation
from zanepool_server.domain.pools import Pools
from zanepool_server.drivers.base import ClusterDriver
from zanepool_server.errors import ClusterUnavailable, InvalidArgument, NotFound, Unavailable, ZanePoolError
from zanepool_server.model import ContainerInfo, ContainerState, LogLine, Pool
from zanepool_server.query import Expr, Field, Kind, matches, parse_filter
from zanepool_server.streams.cursor import Cursor, Position
from zanepool_server.streams.feeds import Feeds
from zanepool_server.streams.mailbox import Closed, Gap, Idle, Mailbox

LOG_FILTER: Mapping[str, Field] = {
    "labels": Field(Kind.MAP),
    "owner": Field(Kind.STRING),
    "node": Field(Kind.STRING),
    "namespace": Field(Kind.STRING),
    "container": Field(Kind.STRING),
    "image": Field(Kind.STRING),
}


@dataclass(frozen=True)
class StreamSettings:
    heartbeat: float = 15.0
    buffer: int = 1000
    roster_interval: float = 2.0


@dataclass(frozen=True)
class LogRequest:
    parent: str
    filter_text: str = ""
    since: datetime | None = None
    tail: int = 0
    follow: bool = False
    timestamps: bool = False
    resume_token: str = ""


@dataclass(frozen=True)
class SourceChange:
    """A container joined or left the stream (never dropped from a mailbox)."""

    source: str
    node_id: str
    joined: bool
    message: str = ""


@dataclass(frozen=True)
class Message:
    """What a subscriber receives: ``body`` is a LogLine, SourceChange, Gap or None (heartbeat)."""

    pool: Pool
    body: LogLine | SourceChange | Gap | None
    cursor: str


@dataclass(eq=False)
class _Subscription:
    pool: Pool
    mailbox: Mailbox[Any]
    cursor: Cursor
    scope: str
    readers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, coro: Any, name: str) -> asyncio.Task[None]:
        """A task owned by this subscription: a failure ends the stream with it."""
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.mailbox.close(task.exception())

    async def stop(self) -> None:
        await tasks.stop(list(self.tasks))


class Logs:
    """Owns the shared feeds of every log stream; :meth:`aclose` ends them all (shutdown)."""

    def __init__(self, pools: Pools, settings: StreamSettings) -> None:
        self._pools = pools
        self.settings = settings
        self.live: Feeds[LogLine] = Feeds("logs")
        self.rosters: Feeds[list[ContainerInfo]] = Feeds("roster")
        self._open: set[_Subscription] = set()
        self._closing = False

    async def aclose(self) -> None:
        """Server shutdown: every stream ends with UNAVAILABLE and its resume token."""
        self._closing = True
        for sub in list(self._open):
            sub.mailbox.close(
                Unavailable("the server is shutting down; resume elsewhere", reason="SERVER_SHUTTING_DOWN")
            )
        await asyncio.gather(self.live.aclose(), self.rosters.aclose())

    async def stream(self, request: LogRequest) -> AsyncGenerator[Message, None]:
        if request.tail < 0:
            raise InvalidArgument.field("tail_lines", "must not be negative", reason="INVALID_TAIL_LINES")
        if self._closing:
            raise Unavailable("the server is shutting down", reason="SERVER_SHUTTING_DOWN")
        pool_id, only = _parse_parent(request.parent)
        expr = parse_filter(request.filter_text, LOG_FILTER)
        pool = await self._pools.get(pool_id)
        driver = self._pools.driver(pool)
        scope = f"{request.parent}|{request.filter_text}"
        sub = _Subscription(
            pool, Mailbox(self.settings.buffer), Cursor.decode(request.resume_token, scope), scope
        )
        containers = await driver.containers.list()
        chosen = [c for c in containers if _wanted(pool, c, expr, only)]
        if only and not chosen:
            raise NotFound(
                f"{request.parent} does not exist",
                reason="CONTAINER_NOT_FOUND",
                metadata={"container": request.parent},
            )
        self._open.add(sub)
        try:
            for container in chosen:
                self._start_reader(sub, driver, container, request, announce=False)
            if request.follow and only is None:
                sub.spawn(self._follow_roster(sub, driver, expr, request), "log-roster")
            elif not request.follow:
                sub.spawn(_close_when_done(sub), "log-end")
            async for message in self._deliver(sub, request):
                yield message
        finally:
            # The stream is over, or the client went away: stop every read at once.
            self._open.discard(sub)
            await sub.stop()

    def _start_reader(
        self,
        sub: _Subscription,
        driver: ClusterDriver,
        container: ContainerInfo,
        request: LogRequest,
        *,
        announce: bool,
    ) -> None:
        if announce:
            sub.mailbox.offer(
                SourceChange(container.container_id, container.node_id, joined=True), force=True
            )
        sub.readers[container.container_id] = sub.spawn(
            self._read(sub, driver, container, request), f"log-reader-{container.container_id}"
        )

    async def _read(
        self, sub: _Subscription, driver: ClusterDriver, container: ContainerInfo, request: LogRequest
    ) -> None:
        """History, then the shared live feed, for one container of one subscriber."""
        cid = container.container_id
        tap = _Tap(sub.mailbox, container.node_id)
        key = (sub.pool.uid, cid)

        def upstream() -> AsyncIterator[LogLine]:
            return driver.logs.read(cid, since_ns=time.time_ns(), tail=None, follow=True)

        after = sub.cursor.after(cid)
        since_ns, tail = _history_window(request, sub.cursor, after)
        async with contextlib.AsyncExitStack() as stack:
            if request.follow:
                await stack.enter_async_context(self.live.tap(key, upstream, tap))
            try:
                async for line in driver.logs.read(cid, since_ns=since_ns, tail=tail, follow=False):
                    if after is None or (line.ts_ns, line.index) > after:
                        sub.mailbox.offer(_on_node(line, container.node_id))
                        after = (line.ts_ns, line.index)
            except ZanePoolError as exc:
                if not request.follow:
                    raise
                tap.ended(exc)
            if request.follow:
                await tap.go_live(after)
        if tap.error is not None:
            sub.mailbox.close(tap.error)
        elif request.follow:
            sub.mailbox.offer(
                SourceChange(cid, container.node_id, joined=False, message="the container ended"), force=True
            )
            if sub.scope.split("|", 1)[0].count("/") == 3:
                sub.mailbox.close()  # a stream of one container ends with it

    async def _follow_roster(
        self, sub: _Subscription, driver: ClusterDriver, expr: Expr | None, request: LogRequest
    ) -> None:
        """New containers that match join the stream (the roster is polled once per pool)."""
        roster = _RosterTap()
        interval = self.settings.roster_interval

        async def poll() -> AsyncIterator[list[ContainerInfo]]:
            while True:
                await asyncio.sleep(interval)
                yield list(await driver.containers.list())

        async with self.rosters.tap(sub.pool.uid, poll, roster):
            while True:
                current = await roster.next()
                if current is None:
                    continue  # the roster read failed once: the readers report real failures
                for container in current:
                    cid = container.container_id
                    if cid in sub.readers or not _wanted(sub.pool, container, expr, None):
                        continue
                    if container.state is ContainerState.RUNNING:
                        self._start_reader(sub, driver, container, request, announce=True)

    async def _deliver(self, sub: _Subscription, request: LogRequest) -> AsyncIterator[Message]:
        while True:
            item = await sub.mailbox.next(self.settings.heartbeat)
            if isinstance(item, Closed):
                if item.error is not None:
                    raise _with_resume(item.error, sub)
                return
            if isinstance(item, Idle):
                yield Message(sub.pool, None, sub.cursor.encode(sub.scope))
                continue
            if isinstance(item, LogLine):
                sub.cursor.advance(item.source, (item.ts_ns, item.index), item.ts_ns)
                if request.timestamps:
                    item = _stamped(item)
            yield Message(sub.pool, item, sub.cursor.encode(sub.scope))


async def _close_when_done(sub: _Subscription) -> None:
    """Without follow, the stream ends when every container's history is read (a reader
    that fails closes the mailbox with its error itself)."""
    await asyncio.gather(*sub.readers.values(), return_exceptions=True)
    sub.mailbox.close()


class _Tap:
    """A reader's end of a shared live feed: holds live lines back until the history is read."""

    def __init__(self, mailbox: Mailbox[Any], node_id: str) -> None:
        self._mailbox = mailbox
        self._node_id = node_id
        self._staged: list[LogLine] = []
        self._after: Position | None = None
        self._live = False
        self._done = asyncio.Event()
        self.error: BaseException | None = None

    def offer(self, line: LogLine) -> None:
        if not self._live:
            if len(self._staged) < self._mailbox.capacity:
                self._staged.append(line)
            else:
                self._mailbox.offer(line)  # counted as a gap if the mailbox is full too
            return
        self._pass(line)

    def _pass(self, line: LogLine) -> None:
        if self._after is None or (line.ts_ns, line.index) > self._after:
            self._after = (line.ts_ns, line.index)
            self._mailbox.offer(_on_node(line, self._node_id))

    def ended(self, error: BaseException | None) -> None:
        self.error = self.error or error
        self._done.set()

    async def go_live(self, after: Position | None) -> None:
        """The history is in the mailbox: pass on what was held back, then everything; wait for the end."""
        self._after = after
        self._live = True
        staged, self._staged = self._staged, []
        for line in staged:
            self._pass(line)
        await self._done.wait()


class _RosterTap:
    def __init__(self) -> None:
        self._latest: list[ContainerInfo] | None = None
        self._wake = asyncio.Event()
        self._error: BaseException | None = None

    def offer(self, containers: list[ContainerInfo]) -> None:
        self._latest = containers
        self._wake.set()

    def ended(self, error: BaseException | None) -> None:
        self._error = error or ClusterUnavailable("the container roster ended")
        self._wake.set()

    async def next(self) -> list[ContainerInfo] | None:
        await self._wake.wait()
        self._wake.clear()
        if self._error is not None:
            self._error = None
            return None
        latest, self._latest = self._latest, None
        return latest


def _parse_parent(parent: str) -> tuple[str, str | None]:
    """``pools/{pool}`` or ``pools/{pool}/containers/{container}`` -> (pool id, container id or None)."""
    parts = parent.split("/")
    if len(parts) == 4 and parts[2] == "containers" and parts[3]:
        return validation.pool_name("/".join(parts[:2]), "parent"), parts[3]
    if len(parts) == 2 and parts[1] == "-":
        raise InvalidArgument.field(
            "parent",
            "logs stream from one pool (or one container), not pools/-",
            reason="WILDCARD_NOT_ALLOWED",
        )
    return validation.pool_name(parent, "parent"), None


def _wanted(pool: Pool, container: ContainerInfo, expr: Expr | None, only: str | None) -> bool:
    if only is not None:
        return container.container_id == only
    return matches(expr, lambda f, k: _column(pool, container, f, k))


def _column(pool: Pool, c: ContainerInfo, field: str, key: str) -> Any:
    values = {
        "owner": c.owner,
        "namespace": c.namespace,
        "container": c.container_id,
        "image": c.image,
        "node": f"{pool.name}/nodes/{c.node_id}" if c.node_id else "",
    }
    return c.labels.get(key) if field == "labels" else values.get(field)


def _history_window(
    request: LogRequest, cursor: Cursor, after: Position | None
) -> tuple[int | None, int | None]:
    if after is not None:
        return after[0], None
    if cursor.made_ns:
        return cursor.made_ns, None  # a container the cursor did not know yet
    since = int(request.since.timestamp() * 1e9) if request.since else None
    return since, request.tail or None


def _on_node(line: LogLine, node_id: str) -> LogLine:
    return (
        line
        if line.node_id or not node_id
        else LogLine(line.source, line.ts_ns, line.index, line.text, line.stream, node_id)
    )


def _stamped(line: LogLine) -> LogLine:
    when = datetime.fromtimestamp(line.ts_ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    text = f"{when}.{line.ts_ns % 1_000_000_000:09d}Z {line.text}"
    return LogLine(line.source, line.ts_ns, line.index, text, line.stream, line.node_id)


def _with_resume(error: BaseException, sub: _Subscription) -> BaseException:
    """A stream that fails tells the caller where to resume."""
    if isinstance(error, ZanePoolError):
        error.metadata["resume_token"] = sub.cursor.encode(sub.scope)
    return error
