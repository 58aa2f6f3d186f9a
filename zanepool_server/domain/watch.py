"""The event watch (EventService): what happens in one pool, or in every pool, as one stream.

Sources
    Each pool's cluster (its driver's ``events.watch``) and Zane Pool's own events, which
    ``events.EventLog`` stores: a change stream on the store's ``events`` collection brings
    them from whichever server replica stored them. ``pools/-`` watches every pool: pools
    registered later join when their ``registered`` event arrives, deleted ones leave. A
    filter that only ``source = ZANEPOOL`` events can pass reads no cluster at all.

Sharing
    One upstream per pool's cluster connection, and one store change stream, however many
    watchers (``streams.feeds``); an upstream stops when its last watcher leaves.

History and hand-over (``streams.subscription.Handover``)
    A watcher taps a source's live feed first, then reads the history it asked for on its
    own: for the store, the stored events in (time, id) order (after its resume position,
    or since ``since_time``); for a cluster, a watch of its own from that time, which
    ends once it reaches an event the live feed holds too, or after ``CATCHUP_IDLE``
    seconds without an event (``CATCHUP_FIRST`` for the first): engines send what they
    hold at once. Then the live events follow, but for those the history gave (matched by
    store id, or by time, rank, kind, action and resource). A history read waits for room
    in the mailbox and fills it half at most: live events of other sources always fit.

Cursors
    A cursor holds, per source (the store: ``zanepool``; a cluster: the pool's name), the
    furthest (time, index) handled: store events are ordered by (time, id), Docker's by
    (timeNano, rank), Kubernetes's by (time, resourceVersion). An event the filter drops is
    handled too: a cursor sent while the mailbox is empty covers it. A resumed stream reads
    each known source from its position (skipping what is not after it) and any other from
    the cursor's time (the time its first stream started, or its ``since_time``). Events
    that reach a source late with an earlier time (nodes whose clocks disagree; another
    replica's write in flight) can be missed by a resume.

A slow watcher
    The proto has no gap message for events, and a silently dropped event is a wrong
    picture of a cluster, so a watcher whose mailbox (``stream_buffer`` events) fills up
    is not sent a partial stream: it ends with RESOURCE_EXHAUSTED ``WATCHER_TOO_SLOW`` and
    a resume token in its ErrorInfo after the events it was sent. Resuming from it replays
    what was lost (the store keeps every event; a cluster what it still holds: Docker its
    last 256 events per engine, Kubernetes an hour), so nothing is lost and a fast
    watcher never pays for a slow one. (A counter on the next event would lose events
    for good and hide it in an attribute few clients read.)

A cluster that fails
    ``pools/{pool}``: the stream ends with UNAVAILABLE and a resume token. ``pools/-``: one
    broken cluster must not blind a watcher to all the others, so the stream goes on: an
    ``events_interrupted`` event (source ZANEPOOL, kind ``pool``, the error as its message
    and its ``reason`` in its attributes) says that pool's cluster events stopped, and the pool
    rejoins when it is READY again (its ``state_changed`` event), when it is updated, or
    at the latest after a back-off (``RETRY_FIRST`` doubling to ``RETRY_MAX`` seconds); it
    then reads what the cluster still holds since its last position and an
    ``events_resumed`` event follows. These two are not stored and not filtered: they say
    what the stream no longer covers. A pool whose connection changed (UpdatePool of its
    endpoint or credentials, a node engine added) is read again from where it was,
    silently. A deleted pool leaves (``pools/-``) or ends the stream normally after its
    ``deleted`` event (``pools/{pool}``).

The store failing (its change stream breaks) ends every stream with UNAVAILABLE and a
resume token; server shutdown ends every stream with UNAVAILABLE ``SERVER_SHUTTING_DOWN``
and a resume token.

Resource names: a driver gives the name of one of our resources relative to the pool
(``containers/x``, ``nodes/y``: a collection of ``COLLECTIONS`` and a key without ``/``),
which is put in the pool here; anything else is the cluster's own id, passed on as it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from zanepool_server.domain import validation
from zanepool_server.domain.logs import StreamSettings
from zanepool_server.domain.pools import Pools
from zanepool_server.drivers.base import ClusterDriver
from zanepool_server.errors import (
    ClusterUnavailable,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    StoreUnavailable,
    ZanePoolError,
)
from zanepool_server.model import ClusterEvent, Pool, PoolState
from zanepool_server.query import And, Compare, Expr, Field, Kind, Not, Or, matches, parse_filter
from zanepool_server.store.mongo import Store
from zanepool_server.streams.cursor import Cursor, Position
from zanepool_server.streams.feeds import Feeds
from zanepool_server.streams.mailbox import Gap, Mailbox
from zanepool_server.streams.subscription import Handover, Subscription, Subscriptions

log = logging.getLogger(__name__)

CLUSTER, ZANEPOOL = "CLUSTER", "ZANEPOOL"
EVENT_FILTER: Mapping[str, Field] = {
    "source": Field(Kind.ENUM, (CLUSTER, ZANEPOOL), "SOURCE_"),
    "kind": Field(Kind.STRING),
    "action": Field(Kind.STRING),
    "resource": Field(Kind.STRING),
    "attributes": Field(Kind.MAP),
}
#: The cursor key of the stored events (a cluster's is its pool's name, ``pools/...``).
STORE = "zanepool"
#: Stored events read per request of a history.
PAGE = 500
#: A cluster's own history read ends after this long without an event (the first: CATCHUP_FIRST).
CATCHUP_FIRST = 2.0
CATCHUP_IDLE = 0.5
#: ``pools/-``: an interrupted pool is tried again after this long (doubling up to RETRY_MAX).
RETRY_FIRST = 2.0
RETRY_MAX = 60.0
#: ``pools/{pool}`` whose pool is gone: the stream ends at its deleted event, or after this long.
DELETED_GRACE = 5.0
#: How long before a stream's start a stored event may come in late (another replica's write).
LATE_WRITES = timedelta(seconds=60)
#: The resource collections of a pool: a driver's relative name starts with one of them.
COLLECTIONS = frozenset({"containers", "nodes", "networks", "images", "volumes"})
_MAX_NS = 253402300799 * 10**9  # 9999-12-31T23:59:59Z
_OBJECT_ID_LIMIT = 2**96
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WatchRequest:
    parent: str
    filter_text: str = ""
    #: Also send the stored events since this time (nanoseconds since the epoch).
    since_ns: int | None = None
    resume_token: str = ""


@dataclass(frozen=True)
class PoolEvent:
    """An event as a watcher receives it: where it comes from (CLUSTER or ZANEPOOL), its pool's
    name, and what happened, normalised as a driver normalises a cluster's events (the
    resource as a full resource name when it is one of ours)."""

    source: str
    pool: str
    body: ClusterEvent


@dataclass(frozen=True)
class Message:
    """What a watcher receives: an event, or None for a heartbeat; and the cursor after it."""

    event: PoolEvent | None
    cursor: str


@dataclass(frozen=True)
class _Item:
    """An event in a mailbox: ``source`` is its cursor key, ``position`` its place there (None
    for a notice of the stream's own), ``key`` what tells it apart from every other."""

    source: str
    position: Position | None
    key: Hashable
    event: PoolEvent


class _Watch(Subscription):
    def __init__(
        self, mailbox: Mailbox[Any], cursor: Cursor, scope: str, pool: str | None, expr: Expr | None
    ) -> None:
        super().__init__(mailbox, cursor, scope)
        #: The one pool's name (``pools/x``), or None for every pool.
        self.pool = pool
        self.expr = expr
        self.resumed = bool(cursor.positions) or cursor.made_ns > 0
        #: The furthest position of each source that has been passed on or filtered out.
        self.handled: dict[str, Position] = {}
        #: The cluster reader of each pool: (the pool's uid, its task).
        self.readers: dict[str, tuple[str, asyncio.Task[None]]] = {}
        self.kicks: dict[str, asyncio.Event] = {}
        self.store_ready = asyncio.Event()

    def take(self, item: _Item, *, wanted: bool = True) -> None:
        """An event of a source has been handled: passed on when it is wanted and matches."""
        if item.position is not None:
            held = self.handled.get(item.source)
            if held is None or item.position > held:
                self.handled[item.source] = item.position
        if wanted and matches(self.expr, lambda f, k: _column(item.event, f, k)):
            self.mailbox.offer(item)

    def notice(self, item: _Item) -> None:
        """A notice of the stream's own: never filtered, never dropped."""
        self.mailbox.offer(item, force=True)

    def too_slow(self, _item: object = None) -> None:
        self.mailbox.close(_too_slow(self.mailbox.capacity))

    def kick(self, pool_id: str) -> asyncio.Event:
        return self.kicks.setdefault(pool_id, asyncio.Event())


class Watches:
    """Owns the shared feeds of every event stream; :meth:`aclose` ends them all (shutdown)."""

    def __init__(self, pools: Pools, store: Store, settings: StreamSettings) -> None:
        self._pools = pools
        self._store = store
        self.settings = settings
        self.clusters: Feeds[ClusterEvent] = Feeds("cluster-events")
        self.stored: Feeds[_Item] = Feeds("stored-events")
        self._subs = Subscriptions()
        self._store_open = asyncio.Event()

    @property
    def watching(self) -> int:
        """The streams that watch the store already (and so miss none of its events)."""
        return sum(1 for sub in self._subs if isinstance(sub, _Watch) and sub.store_ready.is_set())

    async def aclose(self) -> None:
        """Server shutdown: every stream ends with UNAVAILABLE and its resume token."""
        self._subs.shut_down()
        await asyncio.gather(self.clusters.aclose(), self.stored.aclose())

    async def stream(self, request: WatchRequest) -> AsyncGenerator[Message, None]:
        pool_id = _parse_parent(request.parent)
        expr = parse_filter(request.filter_text, EVENT_FILTER)
        scope = f"{request.parent}|{request.filter_text}"
        cursor = Cursor.decode(request.resume_token, scope)
        _check_positions(cursor)
        self._subs.admit()
        if pool_id != "-":
            await self._pools.get(pool_id)  # NOT_FOUND before the stream begins
        sub = _Watch(
            Mailbox(self.settings.buffer),
            cursor,
            scope,
            None if pool_id == "-" else f"pools/{pool_id}",
            expr,
        )
        if not sub.resumed:
            since = request.since_ns
            cursor.made_ns = time.time_ns() if since is None else min(max(since, 0), _MAX_NS)
        history = request.since_ns is not None
        async with self._subs.running(sub):
            sub.spawn(self._follow_store(sub, history), "events-store")
            if _can_match(expr, CLUSTER) is not False:
                sub.spawn(self._join_pools(sub, pool_id, history), "events-pools")
            async for message in self._deliver(sub):
                yield message

    async def _deliver(self, sub: _Watch) -> AsyncIterator[Message]:
        async for item in sub.items(self.settings.heartbeat):
            if isinstance(item, Gap):
                raise sub.resumable(_too_slow(sub.mailbox.capacity))
            if item is not None and item.position is not None:
                sub.cursor.advance(item.source, item.position, sub.cursor.made_ns)
            if not len(sub.mailbox) and not sub.mailbox.dropped_total:
                # Everything handled so far has been sent or filtered out: the cursor covers it.
                for source, position in sub.handled.items():
                    sub.cursor.advance(source, position, sub.cursor.made_ns)
            yield Message(None if item is None else item.event, sub.token())

    def _start(self, sub: _Watch, source: str, history: bool) -> tuple[int | None, Position | None]:
        """Where a source's history read begins (None: no history) and what it skips."""
        positions = [p for p in (sub.handled.get(source), sub.cursor.after(source)) if p is not None]
        after = max(positions) if positions else None
        if after is not None:
            return after[0], after
        if sub.resumed or history:
            return sub.cursor.made_ns, None
        return None, None

    # --- Zane Pool's own events -------------------------------------------------------------

    async def _store_feed(self) -> AsyncIterator[_Item]:
        try:
            async with self._store.watch_events() as changes:
                self._store_open.set()
                async for doc in changes:
                    if doc is not None:
                        yield _stored(doc)
        finally:
            self._store_open.clear()

    async def _follow_store(self, sub: _Watch, history: bool) -> None:
        since, after = self._start(sub, STORE, history)
        given: set[Hashable] = set()

        def pass_on(item: _Item) -> None:
            if item.key in given or (
                after is not None and item.position is not None and item.position <= after
            ):
                return
            self._on_stored(sub, item)

        tap: Handover[_Item] = Handover(sub.mailbox.capacity, pass_on, sub.too_slow)
        async with self.stored.tap(STORE, self._store_feed, tap):
            await _first(self._store_open.wait(), tap.wait_ended())
            if not tap.done:
                sub.store_ready.set()
                if since is not None:
                    await self._store_history(sub, since, after, given)
            await tap.go_live()
        raise tap.error or StoreUnavailable("the event store's change stream ended")

    async def _store_history(
        self, sub: _Watch, since_ns: int, after: Position | None, given: set[Hashable]
    ) -> None:
        """The stored events since ``since_ns`` (or after ``after``), at the watcher's pace."""
        late = datetime.now(UTC) - LATE_WRITES
        since = None if after is not None else _datetime(since_ns)
        key = None if after is None else (_datetime(after[0]), f"{after[1]:024x}")
        while True:
            page = await self._store.event_page(pool=sub.pool, since=since, after=key, limit=PAGE)
            for doc in page:
                item = _stored(doc)
                if doc.get("time", late) >= late:  # the live feed may bring it too
                    given.add(item.key)
                if not await _room_for_history(sub.mailbox):
                    return
                sub.take(item)
            if len(page) < PAGE:
                return
            key = (page[-1]["time"], str(page[-1]["_id"]))

    def _on_stored(self, sub: _Watch, item: _Item) -> None:
        """A live stored event: passed on (for this watcher's pools), and what it says of the pools."""
        event = item.event.body
        mine = sub.pool is None or item.event.pool == sub.pool
        sub.take(item, wanted=mine)
        if not mine or event.kind != "pool":
            return
        pool_id = item.event.pool.removeprefix("pools/")
        if event.action == "deleted":
            if sub.pool is not None:
                sub.mailbox.close()  # a stream of one pool ends with it
            else:
                self._leave(sub, pool_id)
        elif event.action == "registered" and sub.pool is None:
            sub.spawn(self._join_later(sub, pool_id), f"events-join-{pool_id}")
        elif event.action == "updated" or (
            event.action == "state_changed" and event.attributes.get("new_state") == PoolState.READY.value
        ):
            sub.kick(pool_id).set()

    # --- the pools' clusters ------------------------------------------------------------------

    async def _join_pools(self, sub: _Watch, pool_id: str, history: bool) -> None:
        """Once the store is watched (so no registration in between is missed), read the clusters."""
        await sub.store_ready.wait()
        try:
            pools = await self._pools.targets(pool_id)
        except NotFound:
            sub.mailbox.close()  # deleted since the stream began: its deleted event ends it
            return
        for pool in pools:
            self._join(sub, pool, history)

    async def _join_later(self, sub: _Watch, pool_id: str) -> None:
        await sub.store_ready.wait()
        try:
            pool = await self._pools.get(pool_id)
        except NotFound:
            return  # deleted again already
        self._join(sub, pool, False)  # a new pool: its events from now on

    def _join(self, sub: _Watch, pool: Pool, history: bool) -> None:
        if _can_match(sub.expr, CLUSTER) is False:
            return
        current = sub.readers.get(pool.pool_id)
        if current is not None and current[0] == pool.uid and not current[1].done():
            return
        if current is not None:
            current[1].cancel()
        task = sub.spawn(self._follow_cluster(sub, pool, history), f"events-cluster-{pool.pool_id}")
        sub.readers[pool.pool_id] = (pool.uid, task)

    def _leave(self, sub: _Watch, pool_id: str) -> None:
        reader = sub.readers.pop(pool_id, None)
        if reader is not None:
            reader[1].cancel()

    async def _follow_cluster(self, sub: _Watch, pool: Pool, history: bool) -> None:
        """One pool's cluster events for one watcher, through failures as the parent says."""
        interrupted: ZanePoolError | None = None
        delay = RETRY_FIRST

        def live() -> None:
            nonlocal interrupted, delay
            if interrupted is not None:
                log.info("cluster events resumed", extra={"pool": pool.name})
                sub.notice(_notice(pool, "events_resumed", "the pool's cluster events are back", {}))
                interrupted, delay = None, RETRY_FIRST

        while True:
            driver = self._pools.driver(pool)
            since, after = self._start(sub, pool.name, history)
            error = await self._read_cluster(sub, pool, driver, since, after, live)
            history = True  # from now on, what the cluster held meanwhile is read first
            try:
                current: Pool | None = await self._pools.get(pool.pool_id)
            except NotFound:
                current = None
            if current is None or current.uid != pool.uid:
                if sub.pool is not None:  # its deleted event ends the stream; if none comes, this does
                    await asyncio.sleep(DELETED_GRACE)
                    sub.mailbox.close()
                return
            if self._pools.driver(current) is not driver:
                pool = current  # its connection changed: read it again from where it was
                continue
            if sub.pool is not None:
                raise error
            if interrupted is None:
                interrupted = error
                log.info("cluster events interrupted", extra={"pool": pool.name, "why": error.message})
                sub.notice(
                    _notice(
                        pool,
                        "events_interrupted",
                        f"the pool's cluster events stopped: {error.message}",
                        {"reason": error.reason},
                    )
                )
            kick = sub.kick(pool.pool_id)
            kick.clear()
            try:
                await asyncio.wait_for(kick.wait(), delay)
            except TimeoutError:
                delay = min(delay * 2, RETRY_MAX)
            pool = current

    async def _read_cluster(
        self,
        sub: _Watch,
        pool: Pool,
        driver: ClusterDriver,
        since: int | None,
        after: Position | None,
        live: Callable[[], None],
    ) -> ZanePoolError:
        """The live feed of the pool's cluster, after its history since ``since`` (if any),
        until the feed ends; the error it ended with."""
        given: set[Hashable] = set()

        def pass_on(event: ClusterEvent) -> None:
            item = _from_cluster(pool, event)
            if item.key not in given:
                sub.take(item)

        def upstream() -> AsyncIterator[ClusterEvent]:
            return driver.events.watch(since_ns=None)

        tap: Handover[ClusterEvent] = Handover(sub.mailbox.capacity, pass_on, sub.too_slow)
        async with self.clusters.tap((pool.uid, driver), upstream, tap):
            if since is not None:
                try:
                    await self._catch_up(sub, pool, driver, tap, since, after, given)
                except ZanePoolError as exc:
                    tap.ended(exc)
            if not tap.done:
                live()
            await tap.go_live()
        error = tap.error
        if isinstance(error, ZanePoolError):
            return error
        return ClusterUnavailable(
            f"the event stream of {pool.name} ended{f': {error!r}' if error else ''}",
            reason="EVENT_STREAM_ENDED",
            metadata={"pool": pool.name},
        )

    async def _catch_up(
        self,
        sub: _Watch,
        pool: Pool,
        driver: ClusterDriver,
        tap: Handover[ClusterEvent],
        since: int,
        after: Position | None,
        given: set[Hashable],
    ) -> None:
        """The cluster's history since ``since`` from a watch of this watcher's own, until it
        reaches the live feed (an event the tap holds) or goes quiet."""
        history = driver.events.watch(since_ns=since)
        held: set[Hashable] = set()  # the keys of the live events staged so far
        seen = 0  # how many staged events ``held`` has taken in
        wait = CATCHUP_FIRST
        try:
            while not tap.done:
                try:
                    async with asyncio.timeout(wait):
                        event = await anext(history)
                except (TimeoutError, StopAsyncIteration):
                    return
                wait = CATCHUP_IDLE
                item = _from_cluster(pool, event)
                staged = tap.staged  # only grows until the tap goes live, after this catch-up
                held.update(_key(e) for e in staged[seen:])
                seen = len(staged)
                if item.key in held:
                    return  # the rest is in the live feed
                if after is not None and item.position is not None and item.position <= after:
                    continue
                if not await _room_for_history(sub.mailbox):
                    return
                given.add(item.key)
                sub.take(item)
        finally:
            close = getattr(history, "aclose", None)
            if close is not None:
                await close()


async def _first(*waits: Any) -> None:
    """Wait until the first of ``waits`` is done; cancel the others."""
    pending = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in pending:
            task.cancel()


async def _room_for_history(mailbox: Mailbox[Any]) -> bool:
    """Wait until the mailbox is less than half full (a history never takes the room live
    events need); False once it is closed."""
    while len(mailbox) >= mailbox.capacity // 2 and not mailbox.closed:
        if len(mailbox) >= mailbox.capacity:
            await mailbox.room()
        else:
            await asyncio.sleep(0.01)
    return not mailbox.closed


def _too_slow(capacity: int) -> ResourceExhausted:
    return ResourceExhausted(
        f"the watcher fell more than {capacity} events behind; resume from the resume_token",
        reason="WATCHER_TOO_SLOW",
        metadata={"buffer": capacity},
    )


def _parse_parent(parent: str) -> str:
    """``pools/{pool}`` -> the pool id; ``pools/-`` -> ``-``."""
    if parent == "pools/-":
        return "-"
    return validation.pool_name(parent, "parent")


def _check_positions(cursor: Cursor) -> None:
    for source, (ts_ns, index) in cursor.positions.items():
        if not 0 <= ts_ns <= _MAX_NS or (source == STORE and not 0 <= index < _OBJECT_ID_LIMIT):
            raise InvalidArgument.field(
                "resume_token", "is not a cursor this server made", reason="INVALID_RESUME_TOKEN"
            )


def _can_match(expr: Expr | None, source: str) -> bool | None:
    """Whether events of ``source`` can pass the filter: True always, False never, None it depends."""
    if expr is None:
        return True
    if isinstance(expr, Compare):
        if expr.field != "source":
            return None
        if expr.value is None:
            return True  # source:* (every event has a source)
        return bool(expr.value == source) == (expr.op != "!=")
    if isinstance(expr, Not):
        inner = _can_match(expr.item, source)
        return None if inner is None else not inner
    results = [_can_match(e, source) for e in expr.items]
    if isinstance(expr, And):
        return False if False in results else (True if all(results) else None)
    assert isinstance(expr, Or)
    return True if True in results else (False if all(r is False for r in results) else None)


def _column(event: PoolEvent, field_name: str, key: str) -> Any:
    body = event.body
    if field_name == "attributes":
        return body.attributes.get(key)
    return {"source": event.source, "kind": body.kind, "action": body.action, "resource": body.resource}.get(
        field_name
    )


def _key(event: ClusterEvent) -> Hashable:
    return event.ts_ns, event.index, event.kind, event.action, event.resource


def _from_cluster(pool: Pool, event: ClusterEvent) -> _Item:
    head, sep, rest = event.resource.partition("/")
    ours = bool(sep) and head in COLLECTIONS and bool(rest) and "/" not in rest
    body = replace(event, resource=f"{pool.name}/{event.resource}") if ours else event
    return _Item(pool.name, (event.ts_ns, event.index), _key(event), PoolEvent(CLUSTER, pool.name, body))


def _stored(doc: Mapping[str, Any]) -> _Item:
    """A stored event (``store.event_page`` / ``watch_events``) as a watcher's item."""
    when = doc.get("time")
    ts_ns = _ns(when) if isinstance(when, datetime) else 0
    oid = str(doc.get("_id", ""))
    pool = str(doc.get("pool", ""))
    attributes = doc.get("attributes") or {}
    index = int(oid, 16) if oid and all(c in "0123456789abcdef" for c in oid) else 0
    body = ClusterEvent(
        kind=str(doc.get("kind", "pool")),
        action=str(doc.get("action", "")),
        resource=str(doc.get("resource", pool)),
        ts_ns=ts_ns,
        index=index,
        attributes={str(k): str(v) for k, v in attributes.items()} if isinstance(attributes, Mapping) else {},
        message=str(doc.get("message", "")),
    )
    return _Item(STORE, (ts_ns, index), oid, PoolEvent(ZANEPOOL, pool, body))


def _notice(pool: Pool, action: str, message: str, attributes: dict[str, str]) -> _Item:
    body = ClusterEvent("pool", action, pool.name, time.time_ns(), 0, attributes, message)
    return _Item(pool.name, None, None, PoolEvent(ZANEPOOL, pool.name, body))


def _ns(when: datetime) -> int:
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1) * 1000


def _datetime(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=min(max(ns, 0), _MAX_NS) // 1000)
