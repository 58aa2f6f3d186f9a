"""Nodes of pools: read live from each pool's cluster; changes go to the cluster."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zanepool_server import deadline
from zanepool_server.domain import validation
from zanepool_server.domain.listing import Columns, Item, Page, list_children
from zanepool_server.domain.pools import Pools
from zanepool_server.errors import InvalidArgument, NotFound
from zanepool_server.model import (
    Driver,
    EngineSpec,
    NodeAvailability,
    NodeChange,
    NodeRole,
    NodeState,
    NodeSummary,
    Pool,
)
from zanepool_server.query import Field, Kind

NODE_SPEC: Mapping[str, Field] = {
    "name": Field(Kind.STRING),
    "hostname": Field(Kind.STRING),
    "address": Field(Kind.STRING),
    "role": Field(Kind.ENUM, (NodeRole.MANAGER.value, NodeRole.WORKER.value), "ROLE_"),
    "state": Field(Kind.ENUM, tuple(s.value for s in NodeState if s is not NodeState.UNSPECIFIED), "STATE_"),
    "availability": Field(
        Kind.ENUM,
        tuple(a.value for a in NodeAvailability if a is not NodeAvailability.UNSPECIFIED),
        "AVAILABILITY_",
    ),
    "engine_version": Field(Kind.STRING),
    "labels": Field(Kind.MAP),
}
NODE_ORDER = ("name", "hostname", "role", "state", "availability")
UPDATABLE = ("labels", "availability", "role")
#: ImportNode and RemoveNode (with drain) wait on the cluster this long at most.
CHANGE_CAP = 120.0


def _column(item: Item[NodeSummary], field: str, key: str) -> Any:
    node = item.value
    if field == "labels":
        return node.labels.get(key)
    value = getattr(node, field)
    return value.value if hasattr(value, "value") else value


COLUMNS = Columns(NODE_SPEC, NODE_ORDER, _column)


def node_name(pool: Pool, node: NodeSummary) -> str:
    return f"{pool.name}/nodes/{node.node_id}"


def parse_node_name(name: str, field: str = "name") -> tuple[str, str]:
    """``pools/{pool}/nodes/{node}`` -> (pool id, node id)."""
    if not name:
        raise InvalidArgument.field(field, "is required", reason="MISSING_FIELD")
    parts = name.split("/")
    if len(parts) != 4 or parts[2] != "nodes" or not parts[3]:
        raise InvalidArgument.field(
            field,
            "must be a node name, pools/{pool}/nodes/{node}",
            reason="INVALID_NAME",
            metadata={"value": name[:200]},
        )
    pool_id = validation.pool_name("/".join(parts[:2]), field)
    if len(parts[3]) > 128 or not parts[3].replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise InvalidArgument.field(
            field, "the node id is not valid", reason="INVALID_NAME", metadata={"value": name[:200]}
        )
    return pool_id, parts[3]


class Nodes:
    def __init__(self, pools: Pools) -> None:
        self._pools = pools

    async def list(
        self, *, parent: str, filter_text: str, order_by: str, page_size: int, page_token: str
    ) -> Page[NodeSummary]:
        async def read(pool: Pool) -> list[NodeSummary]:
            return list(await self._pools.driver(pool).nodes.list())

        return await list_children(
            self._pools.targets,
            read,
            node_name,
            COLUMNS,
            kind="nodes",
            parent=parent,
            filter_text=filter_text,
            order_by=order_by,
            page_size=page_size,
            page_token=page_token,
        )

    async def get(self, name: str) -> tuple[Pool, NodeSummary]:
        pool_id, node_id = parse_node_name(name)
        pool = await self._pools.get(pool_id)
        return pool, await self._named(pool, name, self._pools.driver(pool).nodes.get(node_id))

    async def update(
        self, name: str, paths: tuple[str, ...], values: NodeSummary, etag: str
    ) -> tuple[Pool, NodeSummary]:
        pool_id, node_id = parse_node_name(name, "node.name")
        pool = await self._pools.get(pool_id)
        if not paths:
            raise InvalidArgument.field(
                "update_mask",
                f"name at least one field: {', '.join(UPDATABLE)}",
                reason="MISSING_UPDATE_MASK",
            )
        driver = self._pools.driver(pool)
        labels: dict[str, str] | None = None
        change: dict[str, Any] = {}
        for path in paths:
            base, _, key = path.partition(".")
            if path == "labels" or (base == "labels" and key):
                if labels is None:
                    labels = dict((await self._named(pool, name, driver.nodes.get(node_id))).labels)
                if path == "labels":
                    labels = validation.labels(values.labels, "node.labels")
                else:
                    validation.label_key(key, "update_mask")
                    if key in values.labels:
                        labels[key] = values.labels[key]
                    else:
                        labels.pop(key, None)
            elif path == "availability":
                if values.availability is NodeAvailability.UNSPECIFIED:
                    raise InvalidArgument.field(
                        "node.availability", "is required when it is in the mask", reason="MISSING_FIELD"
                    )
                change["availability"] = values.availability
            elif path == "role":
                if values.role is NodeRole.UNSPECIFIED:
                    raise InvalidArgument.field(
                        "node.role", "is required when it is in the mask", reason="MISSING_FIELD"
                    )
                change["role"] = values.role
            else:
                raise InvalidArgument.field(
                    "update_mask",
                    f"{path!r} cannot be updated; mutable: {', '.join(UPDATABLE)}",
                    reason="FIELD_NOT_MUTABLE",
                    metadata={"path": path},
                )
        if labels is not None:
            validation.labels(labels, "node.labels")
        updated = driver.nodes.update(node_id, NodeChange(labels=labels, version=etag, **change))
        return pool, await self._named(pool, name, updated)

    async def import_node(self, parent: str, engine: EngineSpec) -> tuple[Pool, NodeSummary]:
        pool = await self._pools.get(validation.pool_name(parent, "parent"))
        # A pool that cannot import engines refuses the verb itself, whatever the engine
        # (Kubernetes: NODE_JOINS_THROUGH_BOOTSTRAP); a Swarm pool checks the engine first.
        if pool.driver is Driver.SWARM:
            validation.endpoint(pool.driver, engine.endpoint, "engine.endpoint")
            validation.credentials(pool.driver, engine.endpoint, engine.credentials, "engine.credentials")
        with deadline.scope(deadline.remaining(CHANGE_CAP)):
            node = await self._pools.driver(pool).nodes.join(engine)
        await self._pools.record_node_endpoint(pool, node.node_id, engine.endpoint)
        return pool, node

    async def remove(self, name: str, *, force: bool, drain: bool) -> None:
        pool_id, node_id = parse_node_name(name)
        pool = await self._pools.get(pool_id)
        with deadline.scope(deadline.remaining(CHANGE_CAP)):
            await self._named(
                pool, name, self._pools.driver(pool).nodes.remove(node_id, force=force, drain=drain)
            )
        await self._pools.record_node_endpoint(pool, node_id, None)

    @staticmethod
    async def _named(pool: Pool, name: str, aw: Any) -> Any:
        """The cluster's 'no such node' as NOT_FOUND naming the resource the caller asked for."""
        try:
            return await aw
        except NotFound as exc:
            raise NotFound(
                f"{name} does not exist", reason="NODE_NOT_FOUND", metadata={"node": name}
            ) from exc
