"""The multi-node swarm's own engines, for what a test sets up or checks beside the API.

A test makes containers (to hold an image, volume or network in use) and checks results
on the engines directly; everything it makes is removed when it ends, failed or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiodocker
import grpc
import pytest
from google.protobuf.message import Message

from tests.support import testbed
from tests.support.servers import details, error_info


@dataclass
class Bed:
    """The cluster pool, its engines by node id, and the clean-up of what a test made."""

    pool: str
    manager_id: str
    engines: dict[str, aiodocker.Docker]
    stack: contextlib.AsyncExitStack
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def worker_ids(self) -> list[str]:
        return sorted(n for n in self.engines if n != self.manager_id)

    def node(self, node_id: str) -> str:
        return f"{self.pool}/nodes/{node_id}"

    def later(self, call: Callable[[], Awaitable[Any]]) -> None:
        """Run ``call`` when the test ends; what is gone already is no error."""

        async def quietly() -> None:
            with contextlib.suppress(aiodocker.DockerError):
                await call()

        self.stack.push_async_callback(quietly)

    def remove_later(self, node_id: str, path: str) -> None:
        """``DELETE /{path}`` on a node's engine when the test ends (a volume, a network)."""
        self.later(lambda: self.engines[node_id]._query_json(path, "DELETE", params={"force": "true"}))

    async def container(self, node_id: str, name: str, image: str = "local/busybox:1", **host: Any) -> str:
        """A running container on a node's engine, removed at the end."""
        config = {"Image": image, "Cmd": ["sleep", "600"], "HostConfig": host}
        made = await self.engines[node_id].containers.create(config, name=f"{name}-{self.suffix}")
        self.later(lambda: made.delete(force=True))
        await made.start()
        return str(made.id)


@contextlib.asynccontextmanager
async def open_bed(pool: str, cluster: testbed.Cluster) -> AsyncIterator[Bed]:
    clients = [aiodocker.Docker(url=e) for e in cluster.nodes]
    try:
        infos = await asyncio.gather(*(c.system.info() for c in clients))
        engines = {i["Swarm"]["NodeID"]: c for i, c in zip(infos, clients, strict=True)}
        async with contextlib.AsyncExitStack() as stack:
            yield Bed(pool, infos[0]["Swarm"]["NodeID"], engines, stack)
    finally:
        await asyncio.gather(*(c.close() for c in clients))


@dataclass(frozen=True)
class Bad:
    """A request that must be refused: with ``reason``, ``code`` and, for bad input, ``field``."""

    request: Message
    reason: str
    field: str = ""
    code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT

    def __str__(self) -> str:
        return f"{type(self.request).__name__}-{self.reason}-{self.field}"


async def refused_by(stub: object, bad: Bad) -> None:
    """Send ``bad.request`` to the stub's method that takes it (GetImageRequest: GetImage)."""
    method = getattr(stub, type(bad.request).__name__.removesuffix("Request"))
    await refused(method(bad.request, timeout=10), bad.code, bad.reason, bad.field)


async def refused(call: Awaitable[Any], code: grpc.StatusCode, reason: str, field: str = "") -> str:
    """Await a call that must fail with ``code`` and ``reason`` (and, for bad input, ``field``)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    err = caught.value
    assert (err.code(), error_info(err).reason) == (code, reason), err.details()
    if field:
        violations = [
            v.field for d in details(err) if hasattr(d, "field_violations") for v in d.field_violations
        ]
        assert violations == [field], err.details()
    return str(err.details())
