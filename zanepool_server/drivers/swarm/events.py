"""Swarm events: the Engine API's ``/events`` streams of the manager and of the node engines, merged.

Which engines
    The manager's engine gives the swarm-scope events (service, node, secret, config, swarm
    networks) and its own local ones (containers, images, volumes, networks). Every other
    node engine the pool knows (``fleet``: the pool's ``node_endpoints``) gives its local
    events only (``filters={"scope":["local"]}``: a second manager would repeat the swarm's).
    Engines that do not answer when the watch starts are left out, as lists leave them out.

Engine API
    ``GET /events`` on every engine at once, with ``since`` (seconds, a nanosecond fraction)
    when history is asked for and no ``until``: the engine sends what it still holds since
    then (Docker keeps the last 256 events, not always in time order) and goes on with live
    events, one JSON document per line. The requests and their headers are bounded by the
    call's deadline; the bodies are not (a live stream has no end).

Normalised (``ClusterEvent``)
    ``kind`` = ``Type``, ``action`` = ``Action``, ``attributes`` = ``Actor.Attributes``,
    ``ts_ns`` = ``timeNano``, ``index`` = the event's rank among those of the same
    ``timeNano`` in this watch. ``resource`` is the name of one of our resources, relative to
    the pool, when the event is about one: ``containers/{service name}`` for a container
    that CreateContainer made (its service's events too), ``containers/{engine id}`` for any
    other container (the id rules of ``containers``), ``nodes/{id}``, ``networks/{name}``
    for a swarm-scope (overlay) network and ``networks/{node}.{name}`` for a local one,
    ``images/{node}.{hex}`` for an image event that names the image by id,
    ``volumes/{node}.{name}``; otherwise the engine's own id (``Actor.ID``: a secret's or a
    service's id, an image reference). An id is never mistaken for a name: a reference that
    would read like one (``images/x``) is given in full (``docker.io/images/x``).

Failure and cancellation
    An engine whose stream breaks or ends (a stream without ``until`` ends only when the
    engine goes away) ends the watch with ClusterUnavailable. Cancelling or closing the
    watch closes every response at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import aiohttp

from zanepool_server import deadline
from zanepool_server.drivers.swarm import fleet, networks
from zanepool_server.drivers.swarm.containers import ENGINE_ID, SERVICE_ID, is_managed
from zanepool_server.drivers.swarm.engine import CONNECT_TIMEOUT, REQUEST_CAP, Engine, since_param
from zanepool_server.drivers.swarm.errors import translate
from zanepool_server.errors import ClusterUnavailable, NotFound, ZanePoolError
from zanepool_server.model import ClusterEvent

if TYPE_CHECKING:
    from zanepool_server.drivers.swarm.driver import SwarmDriver

#: Events read ahead of the consumer, for all engines together (then the engines wait).
READ_AHEAD = 256
#: The resource collections of a pool: an id that starts like one of these is given in full.
COLLECTIONS = frozenset({"containers", "nodes", "networks", "images", "volumes"})
_LOCAL_ONLY = json.dumps({"scope": ["local"]})
_STREAM_TIMEOUT = aiohttp.ClientTimeout(
    total=None, connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT, sock_read=None
)

Raw = dict[str, Any]


class SwarmEvents:
    """EventOps over a swarm manager and the node engines the pool knows."""

    def __init__(self, driver: SwarmDriver) -> None:
        self._driver = driver

    async def watch(self, *, since_ns: int | None) -> AsyncIterator[ClusterEvent]:
        manager = self._driver.manager
        nodes, services = await fleet.gather_all(
            [fleet.read_fleet(self._driver), manager.get("services")], fleet.awaited
        )
        names = _Services(manager, services)
        # The manager's engine with every scope; the other engines with their local events.
        sources = [(manager, nodes.manager_node, None)] + [
            (n.engine, n.node_id, _LOCAL_ONLY)
            for n in nodes.engines.values()
            if n.engine is not manager and n.node_id != nodes.manager_node
        ]
        params = {} if since_ns is None else {"since": since_param(since_ns)}
        responses = await _open_all([(engine, params, scope) for engine, _, scope in sources])
        queue: asyncio.Queue[tuple[str, Raw] | BaseException] = asyncio.Queue(READ_AHEAD)
        pumps = [
            asyncio.create_task(_pump(engine, node_id, response, queue), name="swarm-events")
            for (engine, node_id, _), response in zip(sources, responses, strict=True)
        ]
        ranks = _Ranks()
        try:
            while True:
                got = await queue.get()
                if isinstance(got, BaseException):
                    raise got
                node_id, raw = got
                with translate(manager.endpoint, "read /events"):  # a document of the wrong shape
                    event = await _event(raw, node_id, names)
                yield _ranked(event, ranks)
        finally:
            for response in responses:
                response.close()
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)


async def _open(engine: Engine, params: dict[str, str], scope: str | None) -> aiohttp.ClientResponse:
    """Send ``GET /events`` and wait for the headers, within the call's deadline."""
    query = dict(params) | ({"filters": scope} if scope else {})
    with translate(engine.endpoint, "GET /events"):
        async with asyncio.timeout(deadline.remaining(REQUEST_CAP)):
            return await engine.docker._do_query("events", "GET", params=query, timeout=_STREAM_TIMEOUT)


async def _open_all(
    requests: list[tuple[Engine, dict[str, str], str | None]],
) -> list[aiohttp.ClientResponse]:
    """Open every stream at once; when one fails (or the caller goes), close those that opened."""
    tasks = [asyncio.ensure_future(_open(*request)) for request in requests]
    try:
        await asyncio.wait(tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        _close_opened(tasks)
        raise
    errors = [t.exception() for t in tasks if t.exception() is not None]
    if errors:
        _close_opened(tasks)
        raise errors[0]  # type: ignore[misc]  # not None: filtered above
    return [t.result() for t in tasks]


def _close_opened(tasks: Iterable[asyncio.Future[aiohttp.ClientResponse]]) -> None:
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is None:
            task.result().close()


async def _pump(
    engine: Engine, node_id: str, response: aiohttp.ClientResponse, queue: asyncio.Queue[Any]
) -> None:
    """One engine's JSON lines into the shared queue; its failure (or its end) last."""
    meta = {"endpoint": engine.endpoint, "node": node_id}
    try:
        with translate(engine.endpoint, "GET /events"):
            try:
                while line := await response.content.readline():
                    if line.strip():
                        await queue.put((node_id, json.loads(line)))
            except aiohttp.ClientPayloadError as exc:  # the engine went away mid-stream
                raise ClusterUnavailable(
                    f"{engine.endpoint} broke off its event stream: {exc}", metadata=meta
                ) from exc
        raise ClusterUnavailable(
            f"{engine.endpoint} ended its event stream", reason="EVENT_STREAM_ENDED", metadata=meta
        )
    except ZanePoolError as exc:
        await queue.put(exc)


class _Services:
    """Which services CreateContainer made (their containers are known by the service's name)."""

    def __init__(self, manager: Engine, services: Iterable[Raw]) -> None:
        self._manager = manager
        self._names: dict[str, str | None] = {str(s["ID"]): _managed_name(s) for s in services}

    async def managed(self, service_id: str) -> str | None:
        """The service's name when CreateContainer made it, else None (looked up once per service)."""
        if service_id not in self._names:
            try:
                self._names[service_id] = _managed_name(await self._manager.get(f"services/{service_id}"))
            except NotFound:
                return None  # gone already: a later event of it is no different
            except ZanePoolError:
                return None  # not remembered: asked again at its next event
        return self._names[service_id]


def _managed_name(service: Raw) -> str | None:
    return str(service["Spec"]["Name"]) if is_managed(service) else None


async def _event(raw: Raw, node_id: str, names: _Services) -> ClusterEvent:
    actor = raw.get("Actor") or {}
    attributes = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
    kind, actor_id = str(raw.get("Type", "")), str(actor.get("ID", ""))
    ts_ns = int(raw.get("timeNano") or int(raw.get("time", 0)) * 10**9)
    return ClusterEvent(
        kind=kind,
        action=str(raw.get("Action", "")),
        resource=await _resource(kind, actor_id, attributes, node_id, names) or _full_id(actor_id),
        ts_ns=ts_ns,
        attributes=attributes,
    )


async def _resource(
    kind: str, actor_id: str, attributes: dict[str, str], node_id: str, names: _Services
) -> str:
    """Our resource name (relative to the pool) of what the event is about, or ""."""
    if kind == "container":
        service_id = attributes.get(SERVICE_ID)
        name = await names.managed(service_id) if service_id else None
        if name is not None:
            return f"containers/{name}"
        return f"containers/{actor_id}" if ENGINE_ID.match(actor_id) else ""
    if kind == "service":
        name = await names.managed(actor_id)
        return "" if name is None else f"containers/{name}"
    if kind == "node":
        return f"nodes/{actor_id}" if actor_id else ""
    if kind == "network":
        raw = {"Name": attributes.get("name", ""), "Id": actor_id}
        if attributes.get("type") in networks.SWARM_DRIVERS:
            return f"networks/{networks.cluster_key(raw)}"
        return f"networks/{networks.local_key(raw, node_id)}" if node_id else ""
    if not node_id:
        return ""
    if kind == "image" and actor_id.startswith("sha256:"):
        return f"images/{fleet.node_key(node_id, actor_id.removeprefix('sha256:'))}"
    if kind == "volume" and fleet.LOCAL_NAME.match(actor_id):
        return f"volumes/{fleet.node_key(node_id, actor_id)}"
    return ""


def _full_id(actor_id: str) -> str:
    """The engine's id, never one that reads like a resource name (an image reference may)."""
    return f"docker.io/{actor_id}" if actor_id.partition("/")[0] in COLLECTIONS else actor_id


class _Ranks:
    """Each event's rank among the events of the same nanosecond (the last few thousand kept)."""

    KEEP = 4096

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}

    def next(self, ts_ns: int) -> int:
        rank = self._seen.get(ts_ns, 0)
        self._seen[ts_ns] = rank + 1
        if len(self._seen) > self.KEEP:
            for old in list(self._seen)[: self.KEEP // 2]:
                del self._seen[old]
        return rank


def _ranked(event: ClusterEvent, ranks: _Ranks) -> ClusterEvent:
    rank = ranks.next(event.ts_ns)
    return replace(event, index=rank) if rank else event
