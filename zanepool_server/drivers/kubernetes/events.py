"""Kubernetes events: core/v1 Event objects of every namespace, listed then watched.

API
    ``GET /api/v1/events`` (every namespace, in pages) gives a resourceVersion to watch from
    and, when history is asked for, the events the cluster still holds (an hour by
    default); then ``GET /api/v1/events?watch=1&resourceVersion=...`` streams what changes
    after it, one JSON watch event per line. A watch the server ends (``timeoutSeconds``)
    is opened again from the last resourceVersion seen; an expired one (410 Gone: the
    server no longer holds that version) lists again and passes on what it had not passed
    on yet. ADDED and MODIFIED (an Event seen again: its count and time move on) are
    events; DELETED (an Event's time to live ran out) and BOOKMARK are not.

Normalised (``ClusterEvent``)
    ``kind`` = ``involvedObject.kind`` lower-cased, ``action`` = ``reason``, ``message`` =
    ``message``; ``attributes``: ``type`` (Normal, Warning), ``namespace``, ``name`` (of the
    object), ``count``, ``component`` (``source.component`` or ``reportingComponent``), those
    that are set. ``ts_ns`` is the Event's latest time (``series.lastObservedTime``,
    ``lastTimestamp``, ``eventTime``, ``firstTimestamp``, then its creation); ``index`` is
    its resourceVersion (it orders the events of one second: most times have seconds only).
    ``resource`` is the name of one of our resources, relative to the pool, when the
    object is one: ``containers/{namespace}_{pod}_{container}`` for a pod's container
    (``fieldPath`` ``spec.containers{name}``), ``nodes/{name}``,
    ``volumes/pvc_{namespace}_{name}``, ``volumes/pv_{name}``; otherwise the object's uid.

``since_ns`` keeps the listed events whose time is at or after it, in time order. Errors
go through ``errors.translate``; cancelling or closing the watch closes its response.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from zanepool_server.drivers.kubernetes import parse
from zanepool_server.drivers.kubernetes.client import PAGE, Doc, Kube
from zanepool_server.drivers.kubernetes.errors import api_error, not_kubernetes, translate
from zanepool_server.drivers.kubernetes.pods import container_key
from zanepool_server.errors import Aborted, ClusterUnavailable
from zanepool_server.model import ClusterEvent

URL = "/api/v1/events"
#: How long the server keeps one watch open before it ends it (then it is opened again).
WATCH_SECONDS = 300
#: Watches that end sooner than this, this many times in a row, mean the server is failing.
SHORT_WATCH = 1.0
SHORT_WATCHES = 5
_CONTAINER_PATH = re.compile(r"^spec\.containers\{(.+)\}$")

Position = tuple[int, int]


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


class KubeEvents:
    """EventOps over one API server."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube

    async def watch(self, *, since_ns: int | None) -> AsyncIterator[ClusterEvent]:
        # Past what was passed on (or before the start), nothing is passed on again after a re-list.
        floor: Position = (time.time_ns() if since_ns is None else since_ns, -1)
        version, listed = await self._list(everything=since_ns is not None)
        for event in _sorted(listed, floor):
            floor = max(floor, _position(event))
            yield event
        short = 0
        while True:
            began = time.monotonic()
            try:
                async for kind, obj in self._stream(version):
                    version = str(parse.dig(obj, "metadata").get("resourceVersion") or version)
                    if kind in ("ADDED", "MODIFIED"):
                        event = normalise(obj)
                        floor = max(floor, _position(event))
                        yield event
            except _Expired:
                version, listed = await self._list(everything=True)
                for event in _sorted(listed, floor):
                    floor = max(floor, _position(event))
                    yield event
            short = short + 1 if time.monotonic() - began < SHORT_WATCH else 0
            if short >= SHORT_WATCHES:
                raise ClusterUnavailable(
                    f"{self._kube.endpoint} keeps ending the event watch at once",
                    reason="EVENT_STREAM_ENDED",
                    metadata={"endpoint": self._kube.endpoint},
                )

    async def _list(self, *, everything: bool) -> tuple[str, list[Doc]]:
        """The collection's resourceVersion, with every Event (or none: one page of one item)."""
        params = {"limit": str(PAGE if everything else 1)}
        items: list[Doc] = []
        version = ""
        while True:
            page = await self._kube.get(URL, params)
            meta = page.get("metadata") or {}
            version = version or str(meta.get("resourceVersion") or "")
            items.extend(i for i in page.get("items") or () if isinstance(i, dict))
            token = meta.get("continue")
            if not everything or not token:
                break
            params["continue"] = str(token)
        if not version:
            raise not_kubernetes(self._kube.endpoint, f"GET {URL}", "the list has no resourceVersion")
        return version, items if everything else []

    async def _stream(self, version: str) -> AsyncIterator[tuple[str, Doc]]:
        """One watch from ``version``: (type, object) until the server ends it."""
        what = f"GET {URL}?watch=1"
        query = {
            "watch": "1",
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        try:
            response = await self._kube.stream(URL, query)
        except Aborted:  # 410 Gone before the stream began
            raise _Expired() from None
        try:
            with translate(self._kube.endpoint, what):
                try:
                    while line := await response.content.readline():
                        if line.strip():
                            yield _watch_event(json.loads(line), self._kube.endpoint, what)
                except aiohttp.ClientPayloadError as exc:  # the server went away mid-stream
                    raise ClusterUnavailable(
                        f"{self._kube.endpoint} broke off the event watch: {exc}",
                        metadata={"endpoint": self._kube.endpoint, "operation": what},
                    ) from exc
        finally:
            response.close()


def _watch_event(doc: Any, endpoint: str, what: str) -> tuple[str, Doc]:
    kind, obj = str(doc["type"]), doc["object"]
    if kind != "ERROR":
        return kind, obj
    if int(obj.get("code") or 0) == 410:
        raise _Expired()
    failure = ApiException(status=int(obj.get("code") or 500), reason=str(obj.get("reason") or ""))
    failure.body = json.dumps(obj).encode()
    error = api_error(failure, endpoint, what)
    if isinstance(error, Aborted):  # a 409/410 the server words otherwise: its version is gone all the same
        raise _Expired()
    raise error


def _sorted(items: list[Doc], floor: Position) -> Iterator[ClusterEvent]:
    """The listed events after ``floor``, oldest first."""
    events = (normalise(item) for item in items)
    return iter(sorted((e for e in events if _position(e) > floor), key=_position))


def _position(event: ClusterEvent) -> Position:
    return event.ts_ns, event.index


def normalise(obj: Doc) -> ClusterEvent:
    involved = parse.dig(obj, "involvedObject")
    meta = parse.dig(obj, "metadata")
    series = parse.dig(obj, "series")
    kind = str(involved.get("kind") or "").lower()
    count = obj.get("count") or series.get("count")
    attributes = {
        "type": obj.get("type"),
        "namespace": involved.get("namespace") or meta.get("namespace"),
        "name": involved.get("name"),
        "count": count,
        "component": parse.dig(obj, "source").get("component") or obj.get("reportingComponent"),
    }
    version = str(meta.get("resourceVersion") or "")
    return ClusterEvent(
        kind=kind,
        action=str(obj.get("reason") or ""),
        resource=_resource(involved) or str(involved.get("uid") or ""),
        ts_ns=_time_ns(obj, series, meta),
        index=int(version) if version.isdigit() else 0,
        attributes={k: str(v) for k, v in attributes.items() if v not in (None, "")},
        message=str(obj.get("message") or ""),
    )


def _time_ns(obj: Doc, series: Doc, meta: Doc) -> int:
    for value in (
        series.get("lastObservedTime"),
        obj.get("lastTimestamp"),
        obj.get("eventTime"),
        obj.get("firstTimestamp"),
        meta.get("creationTimestamp"),
    ):
        when = parse.time(value)
        if when is not None:
            seconds = int(when.timestamp())
            return seconds * 1_000_000_000 + when.microsecond * 1000
    return 0


def _resource(involved: Doc) -> str:
    """Our resource name (relative to the pool) of the event's object, or ""."""
    kind, name = involved.get("kind"), str(involved.get("name") or "")
    namespace = str(involved.get("namespace") or "")
    if not name:
        return ""
    if kind == "Pod" and namespace:
        found = _CONTAINER_PATH.match(str(involved.get("fieldPath") or ""))
        return f"containers/{container_key(namespace, name, found.group(1))}" if found else ""
    if kind == "Node":
        return f"nodes/{name}"
    if kind == "PersistentVolumeClaim" and namespace:
        return f"volumes/{parse.key('pvc', namespace, name)}"
    if kind == "PersistentVolume":
        return f"volumes/{parse.key('pv', name)}"
    return ""
