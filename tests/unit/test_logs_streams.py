"""The parts of the streaming machinery the log stream leans on: a history reader that waits
for room, lines lost before they reach a mailbox, and cursors encoded incrementally."""

from __future__ import annotations

import asyncio
import base64
import json

from tests.unit.test_streams import Line
from zanepool_server.streams.cursor import Cursor
from zanepool_server.streams.mailbox import Closed, Gap, Mailbox


async def test_a_reader_that_waits_for_room_loses_nothing() -> None:
    box: Mailbox[Line] = Mailbox(capacity=4)

    async def history() -> None:
        for n in range(50):
            if len(box) >= box.capacity:
                await box.room()
            box.offer(Line("a", n))
        box.close()

    writer = asyncio.create_task(history())
    got = []
    while not isinstance(item := await box.next(1.0), Closed):
        assert len(box) <= box.capacity
        got.append(item)
    await writer
    assert got == [Line("a", n) for n in range(50)] and box.dropped_total == 0


async def test_room_returns_when_the_mailbox_closes() -> None:
    box: Mailbox[Line] = Mailbox(capacity=1)
    box.offer(Line("a", 0))
    waiting = asyncio.create_task(box.room())
    await asyncio.sleep(0)
    assert not waiting.done()
    box.close()
    await asyncio.wait_for(waiting, 1)


async def test_lines_lost_before_the_mailbox_are_a_gap_in_order() -> None:
    box: Mailbox[Line] = Mailbox(capacity=10)
    box.offer(Line("a", 0))
    box.lose("b")
    box.lose("a", 2)
    box.offer(Line("a", 3))
    assert [await box.next(0.01) for _ in range(3)] == [
        Line("a", 0),
        Gap(dropped=3, sources={"a", "b"}),
        Line("a", 3),
    ]
    assert box.dropped_total == 3


def _plain(cursor: Cursor, scope: str) -> str:
    """The token format: base64url (unpadded) of the JSON document."""
    doc = {"s": scope, "t": cursor.made_ns, "p": {k: list(v) for k, v in cursor.positions.items()}}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_incremental_tokens_are_the_json_document() -> None:
    scope = 'pools/p|labels.app = "wéb" AND name:"x\\"y"'
    cursor = Cursor()
    assert cursor.encode(scope) == _plain(cursor, scope)
    cursor.baseline("c1", (0, -1))
    cursor.advance("c2\u00e9", (5, 0), 5)
    cursor.advance("c1", (7, 1), 7)
    assert cursor.encode(scope) == _plain(cursor, scope)
    again = Cursor.decode(cursor.encode(scope), scope)
    assert again.positions == cursor.positions and again.made_ns == 7
    assert again.encode(scope) == cursor.encode(scope)


def test_a_cursor_keeps_the_furthest_position_and_a_baseline_only_when_new() -> None:
    cursor = Cursor()
    cursor.advance("a", (10, 0), 10)
    cursor.advance("a", (9, 3), 9)  # stdout and stderr arrive slightly out of order
    assert cursor.after("a") == (10, 0) and cursor.made_ns == 10
    cursor.baseline("a", (0, -1))
    cursor.baseline("b", (4, -1))
    assert cursor.after("a") == (10, 0) and cursor.after("b") == (4, -1)
    assert cursor.made_ns == 10, "a baseline is no delivery"


async def test_offer_all_keeps_what_fits_and_a_gap_follows_it() -> None:
    box: Mailbox[Line] = Mailbox(capacity=3)
    box.offer_all([Line("a", n) for n in range(5)])
    box.offer_all([])
    assert len(box) == 3 and box.dropped_total == 2
    got = [await box.next(0.01) for _ in range(4)]
    assert got == [Line("a", 0), Line("a", 1), Line("a", 2), Gap(dropped=2, sources={"a"})]


async def test_take_while_stops_at_a_gap_at_the_limit_and_where_told() -> None:
    box: Mailbox[Line] = Mailbox(capacity=100)
    box.offer_all([Line("a", n) for n in range(6)])
    box.lose("b")
    box.offer(Line("a", 9))
    assert box.take_while(lambda item: True, 2) == [Line("a", 0), Line("a", 1)]
    assert box.take_while(lambda item: isinstance(item, Line) and item.n < 4, 10) == [
        Line("a", 2),
        Line("a", 3),
    ]
    assert box.take_while(lambda item: True, 10) == [Line("a", 4), Line("a", 5)], "not past the gap"
    assert len(box) == 1
    assert await box.next(0.01) == Gap(dropped=1, sources={"b"})
    assert box.take_while(lambda item: True, 10) == [Line("a", 9)] and len(box) == 0


async def test_taking_a_run_makes_room_for_a_waiting_reader() -> None:
    box: Mailbox[Line] = Mailbox(capacity=4)
    box.offer_all([Line("a", n) for n in range(4)])
    waiting = asyncio.create_task(box.room())
    await asyncio.sleep(0)
    assert not waiting.done()
    box.take_while(lambda item: True, 3)
    await asyncio.wait_for(waiting, 1)
