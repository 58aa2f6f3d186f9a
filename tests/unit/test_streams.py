"""Mailboxes, shared feeds and cursors: pure asyncio logic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from zanepool_server.errors import InvalidArgument
from zanepool_server.streams.cursor import Cursor
from zanepool_server.streams.feeds import Feeds
from zanepool_server.streams.mailbox import Closed, Gap, Idle, Mailbox


@dataclass(frozen=True)
class Line:
    source: str
    n: int


async def test_slow_subscriber_loses_newest_items_and_is_told() -> None:
    box: Mailbox[Line] = Mailbox(capacity=3)
    for n in range(10):
        box.offer(Line("a" if n % 2 else "b", n))
    got = [await box.next(0.01) for _ in range(4)]
    assert got[:3] == [Line("b", 0), Line("a", 1), Line("b", 2)]
    assert got[3] == Gap(dropped=7, sources={"a", "b"})
    box.offer(Line("a", 10))
    assert await box.next(0.01) == Line("a", 10)
    assert isinstance(await box.next(0.01), Idle)
    box.close()
    assert await box.next(0.01) == Closed(None)
    assert box.dropped_total == 7


class Collect:
    def __init__(self) -> None:
        self.items: list[int] = []
        self.end: BaseException | str | None = "open"

    def offer(self, item: int) -> None:
        self.items.append(item)

    def ended(self, error: BaseException | None) -> None:
        self.end = error


async def test_feeds_share_one_upstream_and_stop_with_the_last_subscriber() -> None:
    feeds: Feeds[int] = Feeds("test")
    started, stopped = [], []
    gate = asyncio.Event()

    async def upstream() -> AsyncIterator[int]:
        started.append(1)
        try:
            for n in range(3):
                await gate.wait()
                yield n
            await asyncio.sleep(3600)
        finally:
            stopped.append(1)

    a, b = Collect(), Collect()
    async with feeds.tap("k", upstream, a):
        async with feeds.tap("k", upstream, b):
            gate.set()
            await asyncio.sleep(0.05)
            assert feeds.open_count == 1 and len(started) == 1
            assert a.items == b.items == [0, 1, 2]
        assert feeds.open_count == 1, "a still listens"
    await asyncio.sleep(0)
    assert feeds.open_count == 0 and stopped == [1]


async def test_a_failed_upstream_tells_its_subscribers_and_restarts_for_the_next() -> None:
    feeds: Feeds[int] = Feeds("test")
    runs = []

    async def upstream() -> AsyncIterator[int]:
        runs.append(1)
        yield 1
        raise ConnectionError("engine died")

    first = Collect()
    async with feeds.tap("k", upstream, first):
        await asyncio.sleep(0.05)
    assert isinstance(first.end, ConnectionError)
    second = Collect()
    async with feeds.tap("k", upstream, second):
        await asyncio.sleep(0.05)
    assert len(runs) == 2 and second.items == [1]


def test_cursor_round_trip_and_refusals() -> None:
    cursor = Cursor()
    cursor.advance("c1", (1_700_000_000_123_456_789, 0), 1_700_000_000_200_000_000)
    token = cursor.encode("pools/a|")
    again = Cursor.decode(token, "pools/a|")
    assert again.after("c1") == (1_700_000_000_123_456_789, 0) and again.made_ns == cursor.made_ns
    assert Cursor.decode("", "x").positions == {}
    with pytest.raises(InvalidArgument) as other:
        Cursor.decode(token, "pools/b|")
    assert other.value.reason == "RESUME_TOKEN_MISMATCH"
    with pytest.raises(InvalidArgument) as bad:
        Cursor.decode("not-a-token", "pools/a|")
    assert bad.value.reason == "INVALID_RESUME_TOKEN"
