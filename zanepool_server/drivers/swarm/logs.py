"""Swarm container logs: LogOps over the Engine API's log endpoints.

Where a container's log is read depends on what it is (``SwarmContainers.find``):

- a managed container (a one-replica service): ``GET /services/{id}/logs`` on the manager,
  which reaches whatever node runs its task, and the tasks it had before;
- a task of another service: ``GET /tasks/{id}/logs`` on the manager (or, when the manager
  no longer knows the task, ``GET /containers/{id}/logs`` on the engine that holds it);
- a standalone container: ``GET /containers/{id}/logs`` on the engine that holds it.

Every read asks for ``stdout``, ``stderr`` and ``timestamps`` (each line's position is its
timestamp and its rank among lines of that timestamp), ``since`` in seconds with a
nanosecond fraction, ``tail``, ``follow``, over HTTP/1.0 (``Engine.stream``: no chunked
framing around every line); the body is decoded (``logframes``) chunk by chunk as it
arrives, raw when the container has a TTY, and handed over a list of lines per chunk.
The connection and the headers are bounded by the call's deadline; the body is not (a
followed log has no end), but a read without ``follow`` that goes silent for
``REQUEST_CAP`` seconds fails (CLUSTER_TIMEOUT).
Closing the iterator (or cancelling it) closes the HTTP response, that is its connection.

The end of a followed log. An engine ends a container's followed log when the container
stops, but a service's or a task's followed log never ends: it stays open after the task
has ended, even after the service is removed. So while such a log is followed, the
container is looked up every ``PROBE_INTERVAL`` seconds; once it has ended (the service
is gone, scaled to zero or its task ended; the task ended), what is still in flight is
read (until ``DRAIN_QUIET`` seconds pass without data, at most ``DRAIN_MAX``) and the log
ends. A followed log the engine ends is checked the same way: if the engine does not
answer, or the container still runs as before, the read fails with UNAVAILABLE (the
engine went away, or restarted) rather than ending as if the container had ended.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp

from zanepool_server import deadline
from zanepool_server.drivers.swarm import parse
from zanepool_server.drivers.swarm.containers import (
    ENDED,
    ENGINE_ID,
    Found,
    Kind,
    SwarmContainers,
    task_state,
)
from zanepool_server.drivers.swarm.engine import CONNECT_TIMEOUT, REQUEST_CAP, Engine, since_param
from zanepool_server.drivers.swarm.errors import translate
from zanepool_server.drivers.swarm.logframes import LogDecoder
from zanepool_server.errors import ClusterUnavailable, NotFound, ZanePoolError
from zanepool_server.model import ContainerInfo, ContainerState, LogLine

if TYPE_CHECKING:
    from zanepool_server.drivers.swarm.driver import SwarmDriver

#: Seconds between two looks at a followed service's or task's container.
PROBE_INTERVAL = 1.0
#: Once it has ended: stop after this long without data, or this long in all.
DRAIN_QUIET = 0.5
DRAIN_MAX = 3.0
#: A followed log the engine ended while the container seems to run: looked at again for this long.
SETTLE = 3.0
_GONE = frozenset({ContainerState.EXITED, ContainerState.DEAD})

Probe = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class _Source:
    """Where one container's log is read, and how to tell that the container still runs."""

    engine: Engine
    path: str
    info: ContainerInfo
    #: True while the container runs as it did when the read began.
    alive: Probe
    #: The engine never ends this log by itself (services and tasks): watch the container.
    endless: bool


class SwarmLogs:
    """LogOps over a swarm manager and the node engines the pool knows."""

    def __init__(self, driver: SwarmDriver, containers: SwarmContainers) -> None:
        self._driver = driver
        self._containers = containers
        self._managed = _ManagedStates(containers)

    async def read(
        self, container: ContainerInfo, *, since_ns: int | None, tail: int | None, follow: bool
    ) -> AsyncIterator[list[LogLine]]:
        container_id = container.container_id
        if ENGINE_ID.match(container_id):  # a task or a standalone container: which, and where?
            source = self._source(await self._containers.find(container_id))
        else:  # a managed container: its service's log, by name, on the manager; nothing to look up
            source = self._managed_source(container)
        params = {
            "stdout": "1",
            "stderr": "1",
            "timestamps": "1",
            "follow": "1" if follow else "0",
            "tail": str(tail) if tail else "all",
        }
        if since_ns is not None:
            params["since"] = since_param(since_ns)
        decoder = LogDecoder(container_id, tty=source.info.tty, node_id=source.info.node_id)
        what = f"GET /{source.path}"
        response = await _open(source.engine, source.path, params, follow=follow)
        reading = _Reading(response)
        watcher = asyncio.create_task(reading.watch(source)) if follow and source.endless else None
        try:
            with translate(source.engine.endpoint, what):
                try:
                    while chunk := await response.content.readany():
                        reading.last_data = time.monotonic()
                        if lines := decoder.feed(chunk):
                            yield lines
                except (aiohttp.ClientError, OSError) as exc:
                    if not reading.stopped:
                        raise _broken(source.engine, what, exc) from exc
                if reading.error is not None:
                    raise reading.error
                if lines := decoder.flush():
                    yield lines
                if follow and not reading.stopped:
                    await _confirm_end(source, what)
        finally:
            response.close()
            if watcher is not None:
                watcher.cancel()

    def _source(self, found: Found) -> _Source:
        info, manager = found.info, self._driver.manager
        if found.kind is Kind.MANAGED:
            return self._managed_source(info)
        if found.kind is Kind.TASK and found.tasks:
            task_id = str(found.tasks[0]["ID"])
            return _Source(manager, f"tasks/{task_id}/logs", info, self._task_alive(task_id), True)
        if found.engine is None:  # a task on a node whose engine is unknown, and the manager forgot it
            raise NotFound(
                f"the log of container {info.container_id} cannot be read: its task is gone and its "
                "node's engine is not in the pool's node_endpoints",
                reason="CONTAINER_LOG_UNREACHABLE",
                metadata={"container": info.container_id, "node": info.node_id},
            )
        engine = found.engine
        return _Source(
            engine, f"containers/{info.container_id}/logs", info, self._engine_alive(engine, info), False
        )

    def _managed_source(self, info: ContainerInfo) -> _Source:
        # The Engine API finds a service by its name too (the name before an id prefix).
        path = f"services/{info.container_id}/logs"
        return _Source(self._driver.manager, path, info, self._managed_alive(info), True)

    def _managed_alive(self, info: ContainerInfo) -> Probe:
        async def alive() -> bool:
            return await self._managed.alive(info.container_id)

        return alive

    def _task_alive(self, task_id: str) -> Probe:
        async def alive() -> bool:
            try:
                task = await self._driver.manager.get(f"tasks/{task_id}")
            except NotFound:
                return False
            return task_state(task) not in ENDED

        return alive

    @staticmethod
    def _engine_alive(engine: Engine, info: ContainerInfo) -> Probe:
        async def alive() -> bool:
            try:
                raw = await engine.get(f"containers/{info.container_id}/json")
            except NotFound:
                return False
            state = raw.get("State") or {}
            # Restarted since the read began: the run it followed has ended.
            return bool(state.get("Running")) and parse.time(state.get("StartedAt")) == info.start_time

        return alive


class _ManagedStates:
    """The state of the managed containers whose logs are followed, looked at together: two
    manager requests per PROBE_INTERVAL however many are followed (not three each). A
    probe reads the last look when it is recent and names its container, else looks
    again (one look at a time: the probes waiting meanwhile share it)."""

    def __init__(self, containers: SwarmContainers) -> None:
        self._containers = containers
        # When a probe last asked about each name (names not asked about for a while drop out).
        self._asked: dict[str, float] = {}
        self._states: dict[str, ContainerState] = {}
        self._seen: frozenset[str] = frozenset()  # the names the last look was for
        self._at = -PROBE_INTERVAL
        self._lock = asyncio.Lock()

    async def alive(self, name: str) -> bool:
        self._asked[name] = time.monotonic()
        async with self._lock:
            if name not in self._seen or time.monotonic() - self._at >= PROBE_INTERVAL * 0.9:
                await self._look()
        state = self._states.get(name)
        return state is not None and state not in _GONE

    async def _look(self) -> None:
        now = time.monotonic()
        names = frozenset(n for n, t in self._asked.items() if now - t < 3 * PROBE_INTERVAL)
        self._asked = {n: self._asked[n] for n in names}
        found = await self._containers.managed_states(names)
        self._states = {name: info.state for name, info in found.items()}
        self._seen, self._at = names, time.monotonic()


async def _open(engine: Engine, path: str, params: dict[str, str], *, follow: bool) -> aiohttp.ClientResponse:
    """Send the request and wait for the headers, within the call's deadline."""
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=CONNECT_TIMEOUT,
        sock_connect=CONNECT_TIMEOUT,
        # A followed log may be silent for hours; a plain read streams until it is done.
        sock_read=None if follow else REQUEST_CAP,
    )
    with translate(engine.endpoint, f"GET /{path}"):
        async with asyncio.timeout(deadline.remaining(REQUEST_CAP)):
            return await engine.stream(path, params, timeout)


def _broken(engine: Engine, what: str, exc: BaseException) -> ClusterUnavailable:
    """The engine went away mid-stream (it closed the connection, or the body was cut)."""
    if isinstance(exc, TimeoutError):
        return ClusterUnavailable(
            f"{engine.endpoint} went silent ({what})",
            reason="CLUSTER_TIMEOUT",
            metadata={"endpoint": engine.endpoint, "operation": what},
        )
    return ClusterUnavailable(
        f"{engine.endpoint} broke off the log ({what}): {exc}",
        metadata={"endpoint": engine.endpoint, "operation": what},
    )


async def _confirm_end(source: _Source, what: str) -> None:
    """The engine ended a followed log: fine if the container ended, else UNAVAILABLE."""
    until = time.monotonic() + SETTLE
    while await source.alive():  # a failing engine raises ClusterUnavailable here
        if time.monotonic() >= until:
            raise ClusterUnavailable(
                f"{source.engine.endpoint} ended the log of a running container ({what})",
                reason="LOG_STREAM_ENDED",
                metadata={"endpoint": source.engine.endpoint, "operation": what},
            )
        await asyncio.sleep(PROBE_INTERVAL / 4)


class _Reading:
    """One open log response, and the watch that ends it once its container has ended."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.last_data = time.monotonic()
        self.stopped = False  # closed by the watch: what follows is the end, not a failure
        self.error: BaseException | None = None

    async def watch(self, source: _Source) -> None:
        try:
            while True:
                await asyncio.sleep(PROBE_INTERVAL)
                with deadline.detached(REQUEST_CAP):
                    if not await source.alive():
                        break
            # It has ended: take what is still on its way, then close.
            ended = time.monotonic()
            while time.monotonic() - max(self.last_data, ended) < DRAIN_QUIET:
                if time.monotonic() - ended >= DRAIN_MAX:
                    break
                await asyncio.sleep(DRAIN_QUIET / 5)
        except ZanePoolError as exc:  # the manager went away: the read fails with it
            self.error = exc
        self.stopped = True
        self._response.close()
