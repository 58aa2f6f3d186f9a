"""The event watch's own logic, without a server: filters, names, positions, the hand-over from
a watcher's history read to the shared live feed, cursors and the slow-watcher policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from zanepool_server.domain import watch
from zanepool_server.domain.logs import StreamSettings
from zanepool_server.errors import InvalidArgument, ResourceExhausted
from zanepool_server.model import ClusterEvent, Driver, Pool
from zanepool_server.query import parse_filter
from zanepool_server.streams.cursor import Cursor
from zanepool_server.streams.mailbox import Mailbox
from zanepool_server.streams.subscription import Handover

POOL = Pool(pool_id="p", uid="uid-1", driver=Driver.SWARM, endpoint="unix:///nowhere.sock")


@pytest.mark.parametrize(
    ("text", "cluster", "zanepool"),
    [
        ("", True, True),
        ('source = "ZANEPOOL"', False, True),
        ("source = SOURCE_CLUSTER", True, False),
        ("source != ZANEPOOL", True, False),
        ("NOT source = ZANEPOOL", True, False),
        ('source = ZANEPOOL AND kind = "pool"', False, None),
        ('source = ZANEPOOL OR kind = "container"', None, True),
        ('kind = "container"', None, None),
        ("source:*", True, True),
    ],
)
def test_which_sources_a_filter_can_pass(text: str, cluster: bool | None, zanepool: bool | None) -> None:
    expr = parse_filter(text, watch.EVENT_FILTER)
    assert watch._can_match(expr, watch.CLUSTER) is cluster
    assert watch._can_match(expr, watch.ZANEPOOL) is zanepool


@pytest.mark.parametrize(
    ("relative", "resource"),
    [
        ("containers/abc", "pools/p/containers/abc"),
        ("nodes/n1", "pools/p/nodes/n1"),
        ("volumes/n1.data", "pools/p/volumes/n1.data"),
        ("uid-123", "uid-123"),
        ("docker.io/images/x:1", "docker.io/images/x:1"),
        ("registry:5000/app:1", "registry:5000/app:1"),
        ("containers/", "containers/"),
    ],
)
def test_a_drivers_relative_name_is_put_in_its_pool(relative: str, resource: str) -> None:
    item = watch._from_cluster(POOL, ClusterEvent("container", "start", relative, 7, 2, {"a": "b"}, "m"))
    assert item.event.body.resource == resource
    assert (item.source, item.position) == ("pools/p", (7, 2))
    assert item.event.source == watch.CLUSTER and item.event.pool == "pools/p"


def test_stored_events_are_ordered_by_time_then_id() -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    first = watch._stored(
        {"_id": "0000000000000000000000ff", "time": when, "pool": "pools/p", "action": "registered"}
    )
    second = watch._stored(
        {"_id": "000000000000000000000100", "time": when, "pool": "pools/p", "action": "updated"}
    )
    assert first.position is not None and second.position is not None
    assert first.position < second.position and first.position[0] == second.position[0]
    assert watch._datetime(first.position[0]) == when
    assert first.event.body.resource == "pools/p" and first.event.body.kind == "pool"
    odd = watch._stored({"_id": "zz", "attributes": {"n": 1}, "pool": "pools/q"})
    assert odd.position == (0, 0) and odd.event.body.attributes == {"n": "1"}


def test_a_forged_store_position_is_refused() -> None:
    with pytest.raises(InvalidArgument) as refused:
        watch._check_positions(Cursor(1, {watch.STORE: (1, 2**96)}))
    assert refused.value.reason == "INVALID_RESUME_TOKEN"
    watch._check_positions(Cursor(1, {watch.STORE: (1, 2**96 - 1), "pools/p": (5, 2**70)}))


async def test_a_handover_holds_live_items_until_the_history_is_in() -> None:
    passed: list[int] = []
    spilled: list[int] = []
    tap: Handover[int] = Handover(2, passed.append, spilled.append)
    for n in (1, 2, 3):
        tap.offer(n)
    assert (list(tap.staged), passed, spilled) == ([1, 2], [], [3])

    task = asyncio.create_task(tap.go_live())
    await asyncio.sleep(0)
    tap.offer(4)
    tap.ended(None)
    await task
    assert passed == [1, 2, 4] and tap.done and tap.error is None


class FakeCluster:
    """An EventOps: events published to every watch, and to a watch from ``since_ns`` those
    published before it too."""

    def __init__(self) -> None:
        self.published: list[ClusterEvent] = []
        self.queues: list[asyncio.Queue[ClusterEvent]] = []
        self.opened = 0
        self.driver = FakeDriver(self)  # one connection: its watchers share one feed

    def publish(self, ts: int, action: str = "start") -> None:
        event = ClusterEvent("container", action, f"containers/c{ts}", ts)
        self.published.append(event)
        for queue in self.queues:
            queue.put_nowait(event)

    def watch(self, *, since_ns: int | None) -> AsyncIterator[ClusterEvent]:
        return self._watch(since_ns)

    async def _watch(self, since_ns: int | None) -> AsyncIterator[ClusterEvent]:
        queue: asyncio.Queue[ClusterEvent] = asyncio.Queue()
        self.queues.append(queue)
        self.opened += 1
        try:
            for event in list(self.published) if since_ns is not None else []:
                if event.ts_ns >= since_ns:  # type: ignore[operator]
                    yield event
            while True:
                yield await queue.get()
        finally:
            self.queues.remove(queue)


class FakeDriver:
    def __init__(self, events: Any) -> None:
        self.events = events


def subscriber(capacity: int = 100, text: str = "") -> watch._Watch:
    return watch._Watch(
        Mailbox(capacity), Cursor(), "scope", "pools/p", parse_filter(text, watch.EVENT_FILTER)
    )


def drained(sub: watch._Watch) -> list[int]:
    out = []
    while len(sub.mailbox):
        out.append(sub.mailbox._items.popleft().position[0])  # type: ignore[union-attr]
        sub.mailbox._count -= 1
    return out


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "CATCHUP_FIRST", 0.2)
    monkeypatch.setattr(watch, "CATCHUP_IDLE", 0.1)


async def read(
    watches: watch.Watches, sub: watch._Watch, cluster: FakeCluster, since: int | None, after: Any = None
) -> asyncio.Task[Any]:
    driver = cast(Any, cluster.driver)
    task = asyncio.create_task(watches._read_cluster(sub, POOL, driver, since, after, lambda: None))
    await asyncio.sleep(0.05)
    return task


async def stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.usefixtures("quick")
async def test_history_then_live_loses_and_repeats_nothing() -> None:
    watches = watch.Watches(cast(Any, None), cast(Any, None), StreamSettings())
    cluster = FakeCluster()
    cluster.publish(10)
    cluster.publish(20)
    sub = subscriber()
    task = await read(watches, sub, cluster, since=10)
    cluster.publish(30)  # while the history is read: both the history and the live feed have it
    await asyncio.sleep(0.4)
    cluster.publish(40)
    await asyncio.sleep(0.05)
    assert drained(sub) == [10, 20, 30, 40]
    assert watches.clusters.open_count == 1 and cluster.opened == 2  # the shared feed, the history read
    await stop(task)
    assert watches.clusters.open_count == 0 and not cluster.queues


@pytest.mark.usefixtures("quick")
async def test_a_resumed_read_skips_what_was_sent_and_one_upstream_serves_all() -> None:
    watches = watch.Watches(cast(Any, None), cast(Any, None), StreamSettings())
    cluster = FakeCluster()
    for ts in (10, 20, 30):
        cluster.publish(ts)
    resumed, fresh = subscriber(), subscriber()
    tasks = [
        await read(watches, resumed, cluster, since=20, after=(20, 0)),
        await read(watches, fresh, cluster, None),
    ]
    await asyncio.sleep(0.3)
    cluster.publish(40)
    await asyncio.sleep(0.05)
    assert drained(resumed) == [30, 40] and drained(fresh) == [40]
    assert watches.clusters.open_count == 1
    for task in tasks:
        await stop(task)


async def test_a_failed_feed_is_the_reads_error() -> None:
    watches = watch.Watches(cast(Any, None), cast(Any, None), StreamSettings())

    async def broken(*, since_ns: int | None) -> AsyncIterator[ClusterEvent]:
        raise watch.ClusterUnavailable("gone", reason="EVENT_STREAM_ENDED")
        yield  # pragma: no cover

    driver = cast(Any, FakeDriver(SimpleNamespace(watch=broken)))
    error = await watches._read_cluster(subscriber(), POOL, driver, None, None, lambda: None)
    assert error.reason == "EVENT_STREAM_ENDED"


def item(ts: int, kind: str = "container") -> Any:
    return watch._from_cluster(POOL, ClusterEvent(kind, "start", f"containers/c{ts}", ts))


async def test_the_cursor_covers_filtered_events_once_the_mailbox_is_empty() -> None:
    watches = watch.Watches(cast(Any, None), cast(Any, None), StreamSettings(heartbeat=0.05))
    sub = subscriber(text='kind = "container"')
    sub.take(item(1))
    sub.take(item(2, kind="image"))  # filtered out, but handled
    stream = watches._deliver(sub)
    first = await anext(stream)
    assert first.event is not None and first.event.body.ts_ns == 1
    assert Cursor.decode(first.cursor, "scope").positions == {"pools/p": (2, 0)}
    beat = await anext(stream)
    assert beat.event is None and beat.cursor == first.cursor
    await stream.aclose()


async def test_a_slow_watcher_ends_with_resource_exhausted_after_what_it_was_sent() -> None:
    watches = watch.Watches(cast(Any, None), cast(Any, None), StreamSettings(heartbeat=0.05))
    sub = subscriber(capacity=2)
    for ts in (1, 2, 3, 4):
        sub.take(item(ts))
    got: list[watch.Message] = []

    async def read_all() -> None:
        async for message in watches._deliver(sub):
            got.append(message)

    with pytest.raises(ResourceExhausted) as ended:
        await read_all()
    assert [m.event.body.ts_ns for m in got if m.event] == [1, 2]
    assert ended.value.reason == "WATCHER_TOO_SLOW"
    token = ended.value.metadata["resume_token"]
    assert token == got[-1].cursor and Cursor.decode(token, "scope").positions == {"pools/p": (2, 0)}
