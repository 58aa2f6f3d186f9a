"""The pool log subscription over a fake driver: the hand-over from history to the live feed,
history read at the subscriber's pace, containers that join, leave and run again, a roster
that fails for a while, and cursors that resume containers not delivered yet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from zanepool_server.domain import logs as domain_logs
from zanepool_server.domain.logs import JOIN_SLACK_NS, LogRequest, Logs, Message, SourceChange, StreamSettings
from zanepool_server.domain.pools import Pools
from zanepool_server.errors import ClusterUnavailable, NotFound
from zanepool_server.model import ContainerInfo, ContainerState, Driver, LogLine, Pool
from zanepool_server.streams.mailbox import Gap

POOL = Pool(pool_id="p", uid="uid-1", driver=Driver.SWARM, endpoint="unix:///nowhere.sock")
RUNNING = ContainerState.RUNNING
#: The lines' times: later than any stream's start (a container that joins is read from then).
T0 = time.time_ns() + 3_600 * 1_000_000_000


def line(source: str, n: int) -> LogLine:
    return LogLine(source, T0 + n, 0, f"{source}-{n}")


@dataclass
class FakeDriver:
    """Histories and live queues by container; what each read asked for."""

    roster: list[ContainerInfo] = field(default_factory=list)
    history: dict[str, list[LogLine]] = field(default_factory=dict)
    live: dict[str, asyncio.Queue[LogLine | None]] = field(default_factory=dict)
    reads: list[tuple[str, int | None, int | None, bool]] = field(default_factory=list)
    fail_lists: int = 0

    @property
    def containers(self) -> FakeDriver:
        return self

    @property
    def logs(self) -> FakeDriver:
        return self

    async def list(self) -> list[ContainerInfo]:
        if self.fail_lists:
            self.fail_lists -= 1
            raise ClusterUnavailable("the roster is down")
        return list(self.roster)

    async def get(self, cid: str) -> ContainerInfo:
        for info in self.roster:
            if info.container_id == cid:
                return info
        raise NotFound(f"no {cid}")

    def read(
        self, container: ContainerInfo, *, since_ns: int | None, tail: int | None, follow: bool
    ) -> AsyncIterator[list[LogLine]]:
        cid = container.container_id
        self.reads.append((cid, since_ns, tail, follow))
        return self._follow(cid) if follow else self._history(cid, since_ns, tail)

    async def _history(
        self, cid: str, since_ns: int | None, tail: int | None
    ) -> AsyncIterator[list[LogLine]]:
        got = [x for x in self.history.get(cid, []) if since_ns is None or x.ts_ns >= since_ns]
        got = got[-tail:] if tail else got
        for n in range(0, len(got), 2):  # two lines a chunk, as an engine's chunk holds several
            yield got[n : n + 2]

    async def _follow(self, cid: str) -> AsyncIterator[list[LogLine]]:
        queue = self.live.setdefault(cid, asyncio.Queue())
        while (item := await queue.get()) is not None:
            yield [item]

    def run(self, cid: str, started: int = 0) -> ContainerInfo:
        info = ContainerInfo(container_id=cid, state=RUNNING, start_time=datetime.fromtimestamp(started, UTC))
        self.roster = [c for c in self.roster if c.container_id != cid] + [info]
        self.live.setdefault(cid, asyncio.Queue())
        return info


class FakePools:
    def __init__(self, driver: FakeDriver) -> None:
        self._driver = driver

    async def get(self, pool_id: str) -> Pool:
        return POOL

    def driver(self, pool: Pool) -> FakeDriver:
        return self._driver


def logs_over(driver: FakeDriver, **settings: Any) -> Logs:
    base = StreamSettings(heartbeat=5.0, buffer=1000, roster_interval=0.01)
    return Logs(cast(Pools, FakePools(driver)), replace(base, **settings))


async def take(stream: AsyncIterator[Message], count: int) -> list[Message]:
    got = []
    async for message in stream:
        got.append(message)
        if len(got) == count:
            break
    return got


def texts(messages: list[Message]) -> list[str]:
    """The lines' texts, whether they came one a message or in batches."""
    return [
        x.text
        for m in messages
        for x in (m.body if isinstance(m.body, list) else [m.body])
        if isinstance(x, LogLine)
    ]


async def test_live_lines_the_history_gave_are_not_repeated() -> None:
    driver = FakeDriver(history={"a": [line("a", n) for n in range(3)]})
    driver.run("a")
    logs = logs_over(driver)
    stream = logs.stream(LogRequest("pools/p/containers/a", follow=True))
    first = await take(stream, 3)
    for n in (1, 2, 3, 4):  # the live feed started before the history was read: they overlap
        driver.live["a"].put_nowait(line("a", n))
    driver.live["a"].put_nowait(None)  # the container ends
    rest = [m async for m in stream]
    assert texts(first + rest) == ["a-0", "a-1", "a-2", "a-3", "a-4"]
    assert rest[-1].body == SourceChange("a", "", joined=False, message="the container ended")
    assert logs.live.open_count == 0


async def test_history_is_read_at_the_subscribers_pace_without_gaps() -> None:
    driver = FakeDriver(history={"a": [line("a", n) for n in range(100)]})
    driver.run("a")
    got = [m async for m in logs_over(driver, buffer=2).stream(LogRequest("pools/p"))]
    assert texts(got) == [f"a-{n}" for n in range(100)]
    assert not any(isinstance(m.body, Gap) for m in got)


async def test_batches_take_the_lines_waiting_up_to_their_size_and_text() -> None:
    driver = FakeDriver(history={"a": [line("a", n) for n in range(10)], "b": [line("b", 0)]})
    driver.run("a")
    driver.run("b")
    got = [m async for m in logs_over(driver).stream(LogRequest("pools/p", max_batch=4))]
    everything = texts(got)
    assert [t for t in everything if t.startswith("a")] == [f"a-{n}" for n in range(10)]
    assert "b-0" in everything and len(everything) == 11
    assert all(isinstance(m.body, list) and 1 <= len(m.body) <= 4 for m in got)
    # A batch's cursor is past its last line: resuming from any gives exactly the rest.
    for n, message in enumerate(got):
        request = LogRequest("pools/p", max_batch=4, resume_token=message.cursor)
        rest = [m async for m in logs_over(driver).stream(request)]
        assert sorted(texts(got[: n + 1]) + texts(rest)) == sorted(everything)


async def test_a_batch_stops_at_its_text_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(domain_logs, "BATCH_TEXT_BYTES", 10)
    driver = FakeDriver(history={"a": [line("a", n) for n in range(6)]})  # "a-0" ... 3 bytes each
    driver.run("a")
    got = [m async for m in logs_over(driver).stream(LogRequest("pools/p", max_batch=100))]
    assert texts(got) == [f"a-{n}" for n in range(6)]
    assert [len(m.body) for m in got if isinstance(m.body, list)] == [4, 2], "past 10 bytes: a new batch"


async def test_containers_join_from_the_streams_start_leave_and_run_again() -> None:
    driver = FakeDriver()
    driver.run("a")
    logs = logs_over(driver)
    stream = logs.stream(LogRequest("pools/p", follow=True, tail=1))
    reading = asyncio.ensure_future(take(stream, 6))
    await asyncio.sleep(0.05)
    driver.history["b"] = [line("b", 0)]
    driver.run("b", started=1)
    await asyncio.sleep(0.05)
    driver.live["b"].put_nowait(line("b", 1))
    driver.live["b"].put_nowait(None)  # b ends
    await asyncio.sleep(0.05)
    driver.run("b", started=2)  # and runs again: a new run joins again
    await asyncio.sleep(0.05)
    driver.live["b"].put_nowait(line("b", 2))
    got = await asyncio.wait_for(reading, 2)
    await stream.aclose()
    bodies = [m.body.text if isinstance(m.body, LogLine) else m.body for m in got]
    assert bodies == [
        SourceChange("b", "", joined=True),
        "b-0",
        "b-1",
        SourceChange("b", "", joined=False, message="the container ended"),
        SourceChange("b", "", joined=True),
        "b-2",
    ]
    joined = [r for r in driver.reads if r[0] == "b" and not r[3]]
    assert joined[0][2] is None, "no tail for a container that joins"
    assert joined[0][1] is not None and time.time_ns() - 2 * JOIN_SLACK_NS < joined[0][1] < T0
    assert joined[1][1:3] == (T0 + 1, None), "the new run: after the last line delivered"


async def test_a_roster_that_fails_is_polled_again() -> None:
    driver = FakeDriver()
    logs = logs_over(driver)
    stream = logs.stream(LogRequest("pools/p", follow=True))
    reading = asyncio.ensure_future(take(stream, 2))
    await asyncio.sleep(0.005)  # the stream has its first list: the next three fail
    driver.fail_lists = 3
    await asyncio.sleep(0.1)
    driver.history["late"] = [line("late", 0)]
    driver.run("late")
    got = await asyncio.wait_for(reading, 2)
    await stream.aclose()
    assert driver.fail_lists == 0
    assert got[0].body == SourceChange("late", "", joined=True) and texts(got) == ["late-0"]


async def test_a_cursor_resumes_containers_it_delivered_nothing_of_from_their_start() -> None:
    driver = FakeDriver(history={c: [line(c, n) for n in range(3)] for c in ("a", "b")})
    driver.run("a")
    driver.run("b")
    logs = logs_over(driver)
    first = await take(logs.stream(LogRequest("pools/p")), 2)
    rest = [m async for m in logs.stream(LogRequest("pools/p", resume_token=first[-1].cursor))]
    assert sorted(texts(first) + texts(rest)) == sorted(f"{c}-{n}" for c in "ab" for n in range(3))
