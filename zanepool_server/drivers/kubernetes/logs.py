"""Kubernetes container logs: LogOps over the pod log endpoint.

``GET /api/v1/namespaces/{namespace}/pods/{pod}/log`` with ``container``, ``timestamps=true``,
``follow``, ``tailLines`` and ``sinceTime``, the response read chunk by chunk as it arrives
(through the driver's ApiClient, authenticated as every other request). The API server
passes the kubelet's log on: one text stream, ``RFC3339Nano text`` a line, stdout and
stderr merged (so lines are STDOUT, or TTY for a container with a TTY). ``sinceTime`` has
whole seconds only: the read starts at the second and the lines before ``since_ns`` are
dropped here. A line's position is its timestamp and its rank among the lines of that
timestamp.

The connection and the headers are bounded by the call's deadline, the body is not (a
followed log has no end); a read without ``follow`` that goes silent for ``REQUEST_CAP``
seconds fails. Closing (or cancelling) the iterator closes the response.

A container that has not started yet has no log: the read is empty (the API server would
refuse it). The kubelet ends a followed log when the container stops; when it ends while
the pod still shows the same container running (after ``SETTLE`` seconds, the time the
kubelet takes to report a stop), the read fails with UNAVAILABLE (LOG_STREAM_ENDED), so
that the caller resumes rather than taking it for the container's end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp

from zanepool_server.drivers.kubernetes import pods
from zanepool_server.drivers.kubernetes.client import REQUEST_CAP, path
from zanepool_server.drivers.kubernetes.errors import translate
from zanepool_server.drivers.loglines import StampReader, line_text, split_lines
from zanepool_server.errors import ClusterUnavailable, InvalidArgument, NotFound
from zanepool_server.model import ContainerInfo, ContainerState, LogLine, LogStream

if TYPE_CHECKING:
    from zanepool_server.drivers.kubernetes.driver import KubernetesDriver

#: How long a followed log that ended may show its container running before it counts as broken.
SETTLE = 5.0
_LOOK_AGAIN = 0.25
#: A line longer than this is cut (the kubelet's own limit is 16 KiB per runtime write).


class KubeLogs:
    """LogOps over an API server."""

    def __init__(self, driver: KubernetesDriver) -> None:
        self._driver = driver

    async def read(
        self, container: ContainerInfo, *, since_ns: int | None, tail: int | None, follow: bool
    ) -> AsyncIterator[list[LogLine]]:
        container_id = container.container_id
        namespace, pod, name = pods.split_container_key(container_id)
        info = container
        if not info.engine_container_id:  # not started when it was listed: has it since?
            info = await self._driver.containers.get(container_id)
        if not info.engine_container_id:  # not started yet: no log to read
            return
        query = {"container": name, "timestamps": "true"}
        if follow:
            query["follow"] = "true"
        if tail:
            query["tailLines"] = str(tail)
        if since_ns is not None:
            since = datetime.fromtimestamp(since_ns // 1_000_000_000, UTC)
            query["sinceTime"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        url = path("api", "v1", "namespaces", namespace, "pods", pod, "log")
        endpoint, what = self._driver.kube.endpoint, f"GET {url}"
        response = await self._open(url, query, follow=follow)
        if response is None:
            return
        lines = _Lines(container_id, LogStream.TTY if info.tty else LogStream.STDOUT, info.node_id)
        floor = since_ns or 0
        try:
            with translate(endpoint, what):
                try:
                    while chunk := await response.content.readany():
                        if batch := lines.feed(chunk, floor):
                            yield batch
                except (aiohttp.ClientError, OSError) as exc:
                    raise ClusterUnavailable(
                        f"{endpoint} broke off the log ({what}): {exc}",
                        reason="CLUSTER_TIMEOUT" if isinstance(exc, TimeoutError) else None,
                        metadata={"endpoint": endpoint, "operation": what},
                    ) from exc
                if batch := lines.flush(floor):
                    yield batch
            if follow:
                await self._confirm_end(info, what)
        finally:
            response.close()

    async def _open(self, url: str, query: dict[str, str], *, follow: bool) -> aiohttp.ClientResponse | None:
        """The response, once its headers are in (None: the container is waiting to start)."""
        try:
            return await self._driver.kube.stream(
                url, query, accept="*/*", read_timeout=None if follow else REQUEST_CAP
            )
        except InvalidArgument as error:
            if "waiting to start" in error.message:
                return None
            raise

    async def _confirm_end(self, info: ContainerInfo, what: str) -> None:
        """The kubelet ended a followed log: fine if the container stopped, else UNAVAILABLE."""
        until = time.monotonic() + SETTLE
        while True:
            try:
                now = await self._driver.containers.get(info.container_id)
            except NotFound:
                return
            ran_on = now.state is ContainerState.RUNNING
            if not ran_on or now.engine_container_id != info.engine_container_id:
                return
            if time.monotonic() >= until:
                raise ClusterUnavailable(
                    f"{self._driver.kube.endpoint} ended the log of a running container ({what})",
                    reason="LOG_STREAM_ENDED",
                    metadata={"endpoint": self._driver.kube.endpoint, "operation": what},
                )
            await asyncio.sleep(_LOOK_AGAIN)


class _Lines:
    """``RFC3339Nano text`` lines -> LogLines, whatever the chunks' boundaries."""

    def __init__(self, source: str, stream: LogStream, node_id: str) -> None:
        self._source, self._stream, self._node_id = source, stream, node_id
        self._rest = b""
        self._stamps = StampReader()
        self._last_ts, self._rank = 0, -1

    def feed(self, chunk: bytes, floor: int) -> list[LogLine]:
        """The lines ``chunk`` completes, those before ``floor`` (nanoseconds) left out."""
        complete, self._rest = split_lines(self._rest, chunk)
        return [line for raw in complete if (line := self._line(raw)).ts_ns >= floor]

    def flush(self, floor: int) -> list[LogLine]:
        rest, self._rest = self._rest, b""
        return [line] if rest and (line := self._line(rest)).ts_ns >= floor else []

    def _line(self, raw: bytes) -> LogLine:
        split = self._stamps.split(raw)
        # Not a timestamped line (a kubelet's note): keep it, on the last time.
        ts, body = (self._last_ts, raw) if split is None else split
        self._rank = self._rank + 1 if ts == self._last_ts else 0
        self._last_ts = ts
        return LogLine(self._source, ts, self._rank, line_text(body), self._stream, self._node_id)
