"""The Swarm driver: Docker Engine in Swarm mode through a manager's Engine API (aiodocker).

Endpoints: ``unix:///path/docker.sock``, ``tcp://host:port`` (plain HTTP, or HTTPS when
TLS credentials are given). Library errors are translated in ``errors.translate`` only.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from zanepool_server.drivers.swarm import parse
from zanepool_server.drivers.swarm.engine import Engine
from zanepool_server.errors import FailedPrecondition
from zanepool_server.model import Capability, ClusterSnapshot, Credentials, Driver

#: What the Swarm driver supports today; grows with each capability built.
CAPABILITIES: frozenset[Capability] = frozenset()


class SwarmDriver:
    """A connection to one swarm manager's Engine API."""

    kind = Driver.SWARM
    capabilities = CAPABILITIES

    def __init__(self, endpoint: str, credentials: Credentials) -> None:
        self.endpoint = endpoint
        self.manager = Engine(endpoint, credentials)

    async def snapshot(self) -> ClusterSnapshot:
        # One round trip: the four reads go out together. When some fail, /info (if it
        # answered) says best why: an engine outside Swarm mode and a worker both refuse
        # /nodes with the same message.
        results = await asyncio.gather(
            self.manager.get("info"),
            self.manager.get("version"),
            self.manager.get("nodes"),
            self.manager.get("tasks", {"filters": '{"desired-state":["running"]}'}),
            return_exceptions=True,
        )
        if isinstance(results[0], dict):
            self._check_swarm(results[0])
        for result in results:
            if isinstance(result, BaseException):
                raise result
        info, version, nodes, tasks = cast(list[Any], results)
        summaries = tuple(parse.node(n, tasks, info) for n in nodes)
        cluster_id = ((info.get("Swarm") or {}).get("Cluster") or {}).get("ID", "")
        return ClusterSnapshot(
            cluster_id=cluster_id, info=parse.info(info, version, summaries), nodes=summaries
        )

    def _check_swarm(self, info: dict[str, Any]) -> None:
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active":
            raise FailedPrecondition(
                f"{self.endpoint} is not in Swarm mode",
                reason="NOT_A_SWARM",
                metadata={"endpoint": self.endpoint, "local_node_state": swarm.get("LocalNodeState", "")},
            )
        if not swarm.get("ControlAvailable"):
            raise FailedPrecondition(
                f"{self.endpoint} is a swarm worker, not a manager",
                reason="NOT_A_SWARM_MANAGER",
                metadata={"endpoint": self.endpoint},
            )

    async def aclose(self) -> None:
        await self.manager.aclose()
