"""The pool log subscription: the log lines of every container of a pool that a filter picks.

For each subscriber and container, a reader taps the container's shared live feed first
(one upstream read per container, however many subscribers), then reads the history the
subscriber asked for (since / tail / after its resume cursor) on its own, and only then
passes the live lines on, skipping what the history already gave: nothing is lost
between the two and nothing is repeated. With ``follow``, a shared roster of the pool's
containers (one list every ``roster_interval`` per pool) lets containers that start later
join, and containers that end are announced.

Each subscriber has a bounded mailbox (see streams.mailbox): when it falls behind the
live lines, the newest are dropped and a gap message says how many. Its history is read
at its own pace (the reader waits for room: nothing of it is dropped), and live lines
that arrive while the history is read are held, up to the mailbox's capacity (beyond, they
count in a gap). Cursors (streams.cursor) hold the last position delivered per
container; a stream resumed from one continues after it.

With ``follow``, the containers that run when the stream opens are followed; the others
give their history only. A container that starts later, or starts again (a new run: its
start time changed) once its last run ended, joins (a source change, then its lines from
the stream's start: its since/tail, or the resumed cursor's time); one whose run ends is
announced as it leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from zanepool_server import deadline
from zanepool_server.domain import validation
from zanepool_server.domain.pools import Pools
from zanepool_server.drivers.base import ClusterDriver
from zanepool_server.errors import ClusterUnavailable, InvalidArgument, NotFound, ZanePoolError
from zanepool_server.model import ContainerInfo, ContainerState, LogLine, Pool
from zanepool_server.query import Expr, Field, Kind, matches, parse_filter
from zanepool_server.streams.cursor import Cursor, Position
from zanepool_server.streams.feeds import Feeds
from zanepool_server.streams.mailbox import Gap, Mailbox
from zanepool_server.streams.subscription import Handover, Subscription, Subscriptions

#: The most lines a subscriber may ask for in one message, and the text one message holds
#: at most (a batch stops growing past it: with lines of up to 64 KiB, a message stays far
#: below gRPC's default 4 MiB limit on what a client takes).
MAX_BATCH_LINES = 10_000
BATCH_TEXT_BYTES = 1 << 20

#: A container that joins a followed stream is read from this long before the stream opened
#: (its engine's clock may be a little behind ours).
JOIN_SLACK_NS = 1_000_000_000

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
    #: Only lines at or after this time (nanoseconds since the epoch).
    since_ns: int | None = None
    tail: int = 0
    follow: bool = False
    timestamps: bool = False
    resume_token: str = ""
    #: Above 1: lines waiting to be sent go out together, up to this many per message.
    max_batch: int = 0


@dataclass(frozen=True)
class SourceChange:
    """A container joined or left the stream (never dropped from a mailbox)."""

    source: str
    node_id: str
    joined: bool
    message: str = ""


@dataclass(frozen=True)
class Message:
    """What a subscriber receives: ``body`` is a LogLine, a batch of them (a list: when the
    request asked for batches), a SourceChange, a Gap or None (a heartbeat)."""

    pool: Pool
    body: LogLine | list[LogLine] | SourceChange | Gap | None
    cursor: str


class _Subscription(Subscription):
    def __init__(
        self,
        pool: Pool,
        mailbox: Mailbox[Any],
        cursor: Cursor,
        scope: str,
        *,
        single: bool = False,
        resumed_ns: int = 0,
    ) -> None:
        super().__init__(mailbox, cursor, scope)
        self.pool = pool
        #: A stream of one container (it ends with it).
        self.single = single
        #: The time of the cursor it resumed from (0: none): where containers it did not know start.
        self.resumed_ns = resumed_ns
        #: When the stream opened (containers that join later are read from about then).
        self.opened_ns = time.time_ns()
        self.readers: dict[str, asyncio.Task[None]] = {}
        #: The start time of the run each reader began with (a later run joins again).
        self.runs: dict[str, datetime | None] = {}


class Logs:
    """Owns the shared feeds of every log stream; :meth:`aclose` ends them all (shutdown)."""

    def __init__(self, pools: Pools, settings: StreamSettings) -> None:
        self._pools = pools
        self.settings = settings
        self.live: Feeds[list[LogLine]] = Feeds("logs")
        self.rosters: Feeds[list[ContainerInfo]] = Feeds("roster")
        self._subs = Subscriptions()

    async def aclose(self) -> None:
        """Server shutdown: every stream ends with UNAVAILABLE and its resume token."""
        self._subs.shut_down()
        await asyncio.gather(self.live.aclose(), self.rosters.aclose())

    async def stream(self, request: LogRequest) -> AsyncGenerator[Message, None]:
        if request.tail < 0:
            raise InvalidArgument.field("tail_lines", "must not be negative", reason="INVALID_TAIL_LINES")
        if not 0 <= request.max_batch <= MAX_BATCH_LINES:
            raise InvalidArgument.field(
                "max_batch_lines", f"must be from 0 to {MAX_BATCH_LINES}", reason="INVALID_MAX_BATCH_LINES"
            )
        self._subs.admit()
        pool_id, only = _parse_parent(request.parent)
        expr = parse_filter(request.filter_text, LOG_FILTER)
        pool = await self._pools.get(pool_id)
        driver = self._pools.driver(pool)
        scope = f"{request.parent}|{request.filter_text}"
        cursor = Cursor.decode(request.resume_token, scope)
        sub = _Subscription(
            pool,
            Mailbox(self.settings.buffer),
            cursor,
            scope,
            single=only is not None,
            resumed_ns=cursor.made_ns,
        )
        if only is None:
            chosen = [c for c in await driver.containers.list() if _wanted(pool, c, expr)]
        else:  # one container: looked up alone, not by listing the pool
            try:
                chosen = [await driver.containers.get(only)]
            except NotFound:
                raise NotFound(
                    f"{request.parent} does not exist",
                    reason="CONTAINER_NOT_FOUND",
                    metadata={"container": request.parent},
                ) from None
        async with self._subs.running(sub):
            for container in chosen:
                self._start_reader(sub, driver, container, request, announce=False)
            if request.follow and only is None:
                sub.spawn(self._follow_roster(sub, driver, expr, request), "log-roster")
            elif not request.follow:
                sub.spawn(_close_when_done(sub), "log-end")
            async for message in self._deliver(sub, request):
                yield message

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
        sub.runs[container.container_id] = container.start_time
        sub.readers[container.container_id] = sub.spawn(
            self._read(sub, driver, container, request, joined=announce),
            f"log-reader-{container.container_id}",
        )

    async def _read(
        self,
        sub: _Subscription,
        driver: ClusterDriver,
        container: ContainerInfo,
        request: LogRequest,
        *,
        joined: bool,
    ) -> None:
        """History, then the shared live feed, for one container of one subscriber."""
        cid = container.container_id
        key = (sub.pool.uid, cid)
        # A stream of one container follows it whatever its state (a managed container that
        # is starting runs soon); a pool's stream follows what runs, the roster the rest.
        live = request.follow and (sub.single or container.state is ContainerState.RUNNING)

        def upstream() -> AsyncIterator[list[LogLine]]:
            return driver.logs.read(container, since_ns=time.time_ns(), tail=None, follow=True)

        start = sub.cursor.after(cid)
        since_ns, tail = _history_window(request, sub, start, joined=joined)
        if start is None and tail is None:
            # Where this container's lines begin for this stream, in every cursor from now
            # on: a stream resumed before its first line reads it from the same point.
            sub.cursor.baseline(cid, (since_ns or 0, -1))
        after = start  # the furthest position the history gave, then the live feed
        mailbox = sub.mailbox

        def pass_on(line: LogLine) -> None:
            nonlocal after
            if after is None or (line.ts_ns, line.index) > after:
                after = (line.ts_ns, line.index)
                mailbox.offer(_on_node(line, container.node_id))

        # Held back too long: a gap, never out of order.
        tap: Handover[LogLine] = Handover(mailbox.capacity, pass_on, lambda line: mailbox.lose(line.source))
        async with contextlib.AsyncExitStack() as stack:
            if live:
                await stack.enter_async_context(self.live.tap(key, upstream, _EachLine(tap)))
            try:
                history = driver.logs.read(container, since_ns=since_ns, tail=tail, follow=False)
                async with contextlib.aclosing(history):  # type: ignore[type-var]
                    async for lines in history:
                        if start is not None:
                            lines = [line for line in lines if (line.ts_ns, line.index) > start]
                            if not lines:
                                continue
                        if after is None:  # the first line of a tail: where resuming starts
                            sub.cursor.baseline(cid, (lines[0].ts_ns, lines[0].index - 1))
                        last = max(lines, key=_position)
                        if after is None or (last.ts_ns, last.index) > after:
                            after = (last.ts_ns, last.index)
                        if container.node_id and not lines[0].node_id:  # a read's lines share it
                            lines = [_on_node(line, container.node_id) for line in lines]
                        if not await _post(mailbox, lines):
                            return
            except NotFound:
                if sub.single:
                    raise
                tap.ended(None)  # gone since the roster listed it: nothing to read
            except ZanePoolError as exc:
                if not live:
                    raise
                tap.ended(exc)
            if live:
                await tap.go_live()
        if tap.error is not None:
            sub.mailbox.close(tap.error)
        elif live:
            ended = await _how_it_ended(driver, cid)
            sub.mailbox.offer(SourceChange(cid, container.node_id, joined=False, message=ended), force=True)
            if sub.single:
                sub.mailbox.close()  # a stream of one container ends with it

    async def _follow_roster(
        self, sub: _Subscription, driver: ClusterDriver, expr: Expr | None, request: LogRequest
    ) -> None:
        """New containers that match join the stream (the roster is polled once per pool), and
        so do containers that run again after their last run ended."""
        interval = self.settings.roster_interval

        async def poll() -> AsyncIterator[list[ContainerInfo]]:
            while True:
                await asyncio.sleep(interval)
                yield list(await driver.containers.list())

        while True:
            roster = _RosterTap()
            async with self.rosters.tap(sub.pool.uid, poll, roster):
                while (current := await roster.next()) is not None:
                    for container in current:
                        if self._joins(sub, container, expr):
                            self._start_reader(sub, driver, container, request, announce=True)
            # The roster read failed (the readers report real failures): poll again later.
            await asyncio.sleep(interval)

    @staticmethod
    def _joins(sub: _Subscription, container: ContainerInfo, expr: Expr | None) -> bool:
        reader = sub.readers.get(container.container_id)
        # Read already: again only for a new run, once the reader of the last one is done.
        if reader is not None and (
            not reader.done() or sub.runs.get(container.container_id) == container.start_time
        ):
            return False
        return container.state is ContainerState.RUNNING and _wanted(sub.pool, container, expr)

    async def _deliver(self, sub: _Subscription, request: LogRequest) -> AsyncIterator[Message]:
        batch = request.max_batch if request.max_batch > 1 else 0
        cursor = sub.cursor
        async for item in sub.items(self.settings.heartbeat):  # None: a heartbeat
            if not isinstance(item, LogLine):
                yield Message(sub.pool, item, sub.token())
                continue
            if not batch:
                cursor.advance(item.source, (item.ts_ns, item.index), item.ts_ns)
                yield Message(sub.pool, _stamped(item) if request.timestamps else item, sub.token())
                continue
            # Every line waiting behind this one, up to the batch's size and text.
            lines = [item, *sub.mailbox.take_while(_TextBudget(len(item.text)), batch - 1)]
            for line in lines:
                cursor.advance(line.source, (line.ts_ns, line.index), line.ts_ns)
            if request.timestamps:
                lines = [_stamped(line) for line in lines]
            yield Message(sub.pool, lines, sub.token())


class _TextBudget:
    """Takes log lines into a batch until their text passes BATCH_TEXT_BYTES (stops at
    anything else: a source change goes out on its own, in its place)."""

    def __init__(self, used: int) -> None:
        self._left = BATCH_TEXT_BYTES - used

    def __call__(self, item: object) -> bool:
        if not isinstance(item, LogLine) or self._left <= 0:
            return False
        self._left -= len(item.text)
        return True


_position = operator.attrgetter("ts_ns", "index")


async def _post(mailbox: Mailbox[Any], lines: list[LogLine]) -> bool:
    """A subscriber's own history read: hand the lines over as room is made, losing none
    (False: the mailbox closed meanwhile)."""
    while lines:
        room = mailbox.capacity - len(mailbox)
        if room <= 0:
            await mailbox.room()
            if mailbox.closed:
                return False
            continue
        mailbox.offer_all(lines[:room])
        lines = lines[room:]
    return True


class _EachLine:
    """A reader's tap on a container's live feed (lists of lines): line by line to its Handover."""

    def __init__(self, handover: Handover[LogLine]) -> None:
        self._handover = handover

    def offer(self, lines: list[LogLine]) -> None:
        for line in lines:
            self._handover.offer(line)

    def ended(self, error: BaseException | None) -> None:
        self._handover.ended(error)


#: The longest a container that left is looked at, for the exit code its LEFT message gives.
ENDED_LOOKUP = 2.0


async def _how_it_ended(driver: ClusterDriver, cid: str) -> str:
    """The one line a LEFT message gives: the exit code when the cluster still knows it."""
    try:
        with deadline.detached(ENDED_LOOKUP):
            async with asyncio.timeout(ENDED_LOOKUP):
                info = await driver.containers.get(cid)
    except NotFound:
        return "the container ended and is gone"
    except (ZanePoolError, TimeoutError):
        return "the container ended"
    if info.state in (ContainerState.EXITED, ContainerState.DEAD):
        return f"the container exited with code {info.exit_code}"
    return "the container ended"


async def _close_when_done(sub: _Subscription) -> None:
    """Without follow, the stream ends when every container's history is read (a reader
    that fails closes the mailbox with its error itself)."""
    await asyncio.gather(*sub.readers.values(), return_exceptions=True)
    sub.mailbox.close()


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
        """The latest roster; None once the roster has failed (the feed is over)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._error is not None:
                return None
            latest, self._latest = self._latest, None
            if latest is not None:
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


def _wanted(pool: Pool, container: ContainerInfo, expr: Expr | None) -> bool:
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
    request: LogRequest, sub: _Subscription, after: Position | None, *, joined: bool
) -> tuple[int | None, int | None]:
    """(since, tail) of a container's history: after its cursor position; from the resumed
    cursor's time for a container that cursor did not know; for one that joined the stream
    later, from when the stream opened (less JOIN_SLACK_NS, for the engine's clock); else
    the request's own."""
    if after is not None:
        return after[0] or None, None
    if sub.resumed_ns:
        return sub.resumed_ns, None
    if joined:
        return max(request.since_ns or 0, sub.opened_ns - JOIN_SLACK_NS), None
    return request.since_ns, request.tail or None


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
