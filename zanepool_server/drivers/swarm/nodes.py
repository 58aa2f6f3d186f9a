"""Swarm nodes: list, inspect, update (labels, availability, role), join a bare engine, remove.

Every change goes through the node's spec with its version, so a concurrent change gives
Aborted rather than silently overwriting it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zanepool_server import deadline
from zanepool_server.drivers.swarm import parse
from zanepool_server.drivers.swarm.engine import Engine
from zanepool_server.errors import (
    Aborted,
    ClusterUnavailable,
    FailedPrecondition,
    NotFound,
    ZanePoolError,
)
from zanepool_server.model import EngineSpec, NodeAvailability, NodeChange, NodeRole, NodeState, NodeSummary

if TYPE_CHECKING:
    from zanepool_server.drivers.swarm.driver import SwarmDriver

#: Joining an engine can take a while (certificates, raft): it gets this long per request.
JOIN_CAP = 60.0
POLL = 0.25


def _running_tasks(node_id: str | None = None) -> dict[str, str]:
    filters: dict[str, list[str]] = {"desired-state": ["running"]}
    if node_id:
        filters["node"] = [node_id]
    return {"filters": json.dumps(filters)}


def not_found(node_id: str) -> NotFound:
    return NotFound(
        f"node {node_id} is not in the swarm", reason="NODE_NOT_FOUND", metadata={"node": node_id}
    )


class SwarmNodes:
    """NodeOps over a swarm manager."""

    def __init__(self, driver: SwarmDriver) -> None:
        self._driver = driver

    @property
    def _manager(self) -> Engine:
        return self._driver.manager

    async def list(self) -> Sequence[NodeSummary]:
        info, nodes, tasks = await asyncio.gather(
            self._manager.get("info"),
            self._manager.get("nodes"),
            self._manager.get("tasks", _running_tasks()),
        )
        return [parse.node(n, tasks, info) for n in nodes]

    async def get(self, node_id: str) -> NodeSummary:
        try:
            info, raw, tasks = await asyncio.gather(
                self._manager.get("info"),
                self._manager.get(f"nodes/{node_id}"),
                self._manager.get("tasks", _running_tasks(node_id)),
            )
        except NotFound as exc:
            raise not_found(node_id) from exc
        return parse.node(raw, tasks, info)

    async def update(self, node_id: str, change: NodeChange) -> NodeSummary:
        try:
            raw = await self._manager.get(f"nodes/{node_id}")
        except NotFound as exc:
            raise not_found(node_id) from exc
        version = str((raw.get("Version") or {}).get("Index", ""))
        if change.version and change.version != version:
            raise Aborted(
                f"node {node_id} has changed since version {change.version} was read (now {version})",
                reason="ETAG_MISMATCH",
                metadata={"node": node_id, "etag": version},
            )
        spec = dict(raw.get("Spec") or {})
        if change.labels is not None:
            spec["Labels"] = dict(change.labels)
        if change.availability is not None:
            spec["Availability"] = change.availability.value.lower()
        if change.role is not None:
            spec["Role"] = change.role.value.lower()
        await self._manager.request("POST", f"nodes/{node_id}/update", {"version": version}, spec)
        return await self.get(node_id)

    async def join(self, engine: EngineSpec) -> NodeSummary:
        joining = Engine(engine.endpoint, engine.credentials)
        try:
            return await self._join(joining, engine)
        finally:
            await joining.aclose()

    async def _join(self, joining: Engine, engine: EngineSpec) -> NodeSummary:
        info, swarm, manager_info = await asyncio.gather(
            joining.get("info"), self._manager.get("swarm"), self._manager.get("info")
        )
        state = (info.get("Swarm") or {}).get("LocalNodeState", "")
        if state != "inactive":
            cluster = ((info.get("Swarm") or {}).get("Cluster") or {}).get("ID", "")
            raise FailedPrecondition(
                f"{engine.endpoint} is already in a swarm ({state}); it must leave it first",
                reason="ENGINE_ALREADY_IN_SWARM",
                metadata={"endpoint": engine.endpoint, "local_node_state": state, "cluster_id": cluster},
            )
        managers = [m["Addr"] for m in (manager_info.get("Swarm") or {}).get("RemoteManagers") or []]
        role = "Manager" if engine.role is NodeRole.MANAGER else "Worker"
        body: dict[str, Any] = {
            "ListenAddr": engine.listen_address or "0.0.0.0:2377",
            "AdvertiseAddr": engine.advertise_address,
            "RemoteAddrs": managers,
            "JoinToken": (swarm.get("JoinTokens") or {})[role],
        }
        await joining.request("POST", "swarm/join", body=body, cap=JOIN_CAP)
        node_id = ""
        try:
            node_id = (await joining.get("info")).get("Swarm", {}).get("NodeID", "")
            return await self._wait_ready(node_id)
        except ZanePoolError:
            # Leave nothing half-done: the engine leaves, the manager forgets it.
            await self._undo_join(joining, node_id)
            raise

    async def _wait_ready(self, node_id: str) -> NodeSummary:
        while True:
            try:
                node = await self.get(node_id)
                if node.state is NodeState.READY:
                    return node
            except NotFound:
                pass  # the managers have not seen it yet
            if deadline.remaining() <= POLL:
                raise ClusterUnavailable(
                    f"node {node_id} joined but did not become ready in time",
                    reason="NODE_NOT_READY",
                    metadata={"node": node_id},
                )
            await asyncio.sleep(POLL)

    async def _undo_join(self, joining: Engine, node_id: str) -> None:
        # Best effort, with time of its own: the caller needs the original error.
        with deadline.detached(10), contextlib.suppress(ZanePoolError):
            await joining.request("POST", "swarm/leave", {"force": "true"})
            if node_id:
                await self._manager.request("DELETE", f"nodes/{node_id}", {"force": "true"})

    async def remove(self, node_id: str, *, force: bool, drain: bool) -> None:
        node = await self.get(node_id)
        if drain and node.availability is not NodeAvailability.DRAIN:
            await self.update(node_id, NodeChange(availability=NodeAvailability.DRAIN))
            await self._wait_drained(node_id)
        if node.state is NodeState.READY and not force:
            raise FailedPrecondition(
                f"node {node_id} is up: stop its engine first, or pass force",
                reason="NODE_NOT_DOWN",
                metadata={"node": node_id, "state": node.state.value},
            )
        if node.role is NodeRole.MANAGER:
            raise FailedPrecondition(
                f"node {node_id} is a manager: demote it to a worker first",
                reason="NODE_IS_MANAGER",
                metadata={"node": node_id},
            )
        # When the node's own engine is known, it leaves too, so it does not go on believing
        # it is part of the swarm.
        endpoint = self._driver.node_endpoint(node)
        if endpoint is not None and node.state is NodeState.READY:
            with contextlib.suppress(ClusterUnavailable):  # gone already: the manager forgets it below
                await self._driver.engine(endpoint).request("POST", "swarm/leave", {"force": "true"})
        await self._manager.request("DELETE", f"nodes/{node_id}", {"force": "true" if force else "false"})

    async def _wait_drained(self, node_id: str) -> None:
        while await self._manager.get("tasks", _running_tasks(node_id)):
            if deadline.remaining() <= POLL:
                raise ClusterUnavailable(
                    f"node {node_id} still runs tasks after draining",
                    reason="DRAIN_TIMEOUT",
                    metadata={"node": node_id},
                )
            await asyncio.sleep(POLL)
