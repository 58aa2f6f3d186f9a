"""The Swarm driver: Docker Engine in Swarm mode through a manager's Engine API (aiodocker).

Endpoints: ``unix:///path/docker.sock``, ``tcp://host:port`` (plain HTTP, or HTTPS when
TLS credentials are given). Library errors are translated in ``errors.translate`` only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

from zanepool_server.drivers.base import (
    ContainerOps,
    EventOps,
    ImageOps,
    LogOps,
    NetworkOps,
    NodeOps,
    VolumeOps,
)
from zanepool_server.drivers.swarm import parse
from zanepool_server.drivers.swarm.containers import SwarmContainers
from zanepool_server.drivers.swarm.engine import Engine
from zanepool_server.drivers.swarm.errors import translate
from zanepool_server.drivers.swarm.events import SwarmEvents
from zanepool_server.drivers.swarm.images import SwarmImages
from zanepool_server.drivers.swarm.logs import SwarmLogs
from zanepool_server.drivers.swarm.networks import SwarmNetworks
from zanepool_server.drivers.swarm.nodes import SwarmNodes
from zanepool_server.drivers.swarm.volumes import SwarmVolumes
from zanepool_server.errors import FailedPrecondition
from zanepool_server.model import Capability, ClusterSnapshot, Credentials, Driver, NodeSummary

#: What the Swarm driver supports today; grows with each capability built.
CAPABILITIES: frozenset[Capability] = frozenset(
    {
        Capability.NODE_IMPORT,
        Capability.NODE_REMOVE,
        Capability.CONTAINER_START_STOP,
        Capability.IMAGE_PULL,
        Capability.IMAGE_DELETE,
        Capability.VOLUMES,
        Capability.NETWORKS,
        Capability.LOGS,
        Capability.EVENTS,
    }
)


class SwarmDriver:
    """A connection to one swarm manager's Engine API."""

    kind = Driver.SWARM
    capabilities = CAPABILITIES

    def __init__(self, endpoint: str, credentials: Credentials, node_endpoints: Mapping[str, str]) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.node_endpoints = dict(node_endpoints)
        self.manager = Engine(endpoint, credentials)
        self._engines: dict[str, Engine] = {}
        self.nodes: NodeOps = SwarmNodes(self)
        containers = SwarmContainers(self)
        self.containers: ContainerOps = containers
        self.images: ImageOps = SwarmImages(self)
        self.volumes: VolumeOps = SwarmVolumes(self)
        self.networks: NetworkOps = SwarmNetworks(self)
        self.logs: LogOps = SwarmLogs(self, containers)
        self.events: EventOps = SwarmEvents(self)

    def engine(self, endpoint: str) -> Engine:
        """The Engine API client of a node's own engine (opened once, closed with the driver)."""
        if endpoint == self.endpoint:
            return self.manager
        if endpoint not in self._engines:
            self._engines[endpoint] = Engine(endpoint, self.credentials)
        return self._engines[endpoint]

    def node_endpoint(self, node: NodeSummary) -> str | None:
        """Where a node's own engine answers: the pool's node_endpoints by id or hostname; the
        manager's endpoint for the node the manager runs on; else None (reach it via the manager)."""
        return self.node_endpoints.get(node.node_id) or self.node_endpoints.get(node.hostname)

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
        with translate(self.endpoint, "read the swarm"):  # documents of the wrong shape
            summaries = tuple(parse.node(n, tasks, info) for n in nodes)
            cluster_id = str(((info.get("Swarm") or {}).get("Cluster") or {}).get("ID", ""))
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
        engines, self._engines = list(self._engines.values()), {}
        await asyncio.gather(self.manager.aclose(), *(e.aclose() for e in engines))
