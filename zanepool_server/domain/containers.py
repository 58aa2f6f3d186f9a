"""Containers of pools: read live from each pool's cluster; changes go to the cluster.

A container is ``pools/{pool}/containers/{id}``; ``{id}`` is the driver's key, opaque here
(Swarm: a managed service's name or an engine's container id). What is checked here is
what any cluster kind would refuse; what one kind cannot do (a Swarm namespace, say) its
driver refuses. Start, stop, restart and create wait on the cluster for at most
``CHANGE_CAP`` seconds (and never past the caller's deadline).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from zanepool_server import deadline
from zanepool_server.domain import validation
from zanepool_server.domain.listing import Columns, Item, Page, list_children
from zanepool_server.domain.pools import Pools
from zanepool_server.domain.storage import image_reference, node_in_pool, parse_child_name
from zanepool_server.drivers.base import ContainerOps
from zanepool_server.errors import InvalidArgument, NotFound
from zanepool_server.model import ContainerInfo, ContainerSpec, ContainerState, MountSpec, Pool, PortMapping
from zanepool_server.query import Field, Kind

T = TypeVar("T")

CONTAINER_SPEC: Mapping[str, Field] = {
    "name": Field(Kind.STRING),
    "state": Field(
        Kind.ENUM, tuple(s.value for s in ContainerState if s is not ContainerState.UNSPECIFIED), "STATE_"
    ),
    "node": Field(Kind.STRING),
    "owner": Field(Kind.STRING),
    "image": Field(Kind.STRING),
    "namespace": Field(Kind.STRING),
    "create_time": Field(Kind.TIMESTAMP),
    "labels": Field(Kind.MAP),
}
CONTAINER_ORDER = ("name", "create_time", "state", "node")
#: Create, start, stop and restart wait for the cluster this long at most.
CHANGE_CAP = 120.0
#: A container id a caller chooses: an RFC 1123 label (what Swarm and Kubernetes both take).
_NEW_ID = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
#: A node id or hostname, a network name: what the cluster's own names are made of.
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")
_RESTART_POLICIES = ("", "no", "on-failure", "always", "unless-stopped")
_PROTOCOLS = ("tcp", "udp", "sctp")
_MOUNT_TYPES = ("volume", "bind", "tmpfs")
MAX_ENV = 1000


def _column(item: Item[ContainerInfo], field: str, key: str) -> Any:
    value = item.value
    if field == "labels":
        return value.labels.get(key)
    if field == "node":
        return f"{item.pool.name}/nodes/{value.node_id}" if value.node_id else None
    if field == "state":
        return value.state.value
    return getattr(value, field)


COLUMNS = Columns(CONTAINER_SPEC, CONTAINER_ORDER, _column)


def container_name(pool: Pool, info: ContainerInfo) -> str:
    return f"{pool.name}/containers/{info.container_id}"


def _bad(field: str, why: str, reason: str) -> InvalidArgument:
    return InvalidArgument.field(field, why, reason=reason)


def _ports(ports: tuple[PortMapping, ...]) -> tuple[PortMapping, ...]:
    for i, port in enumerate(ports):
        where = f"container.ports[{i}]"
        if not 0 < port.container_port < 65536:
            raise _bad(f"{where}.container_port", "must be 1-65535", "INVALID_PORT")
        if not 0 <= port.host_port < 65536:
            raise _bad(f"{where}.host_port", "must be 0-65535 (0: none)", "INVALID_PORT")
        if port.protocol.lower() not in _PROTOCOLS:
            raise _bad(f"{where}.protocol", f"one of {', '.join(_PROTOCOLS)}", "INVALID_PROTOCOL")
    return tuple(replace(p, protocol=p.protocol.lower()) for p in ports)


def _mounts(mounts: tuple[MountSpec, ...]) -> None:
    for i, mount in enumerate(mounts):
        where = f"container.mounts[{i}]"
        if mount.type not in _MOUNT_TYPES:
            raise _bad(f"{where}.type", f"one of {', '.join(_MOUNT_TYPES)}", "INVALID_MOUNT")
        if not mount.target.startswith("/"):
            raise _bad(f"{where}.target", "is an absolute path in the container", "INVALID_MOUNT")
        if mount.type == "bind" and not mount.source.startswith("/"):
            raise _bad(f"{where}.source", "a bind mount's source is an absolute host path", "INVALID_MOUNT")
        if mount.type == "tmpfs" and mount.source:
            raise _bad(f"{where}.source", "a tmpfs mount has no source", "INVALID_MOUNT")


def _env(env: Mapping[str, str]) -> None:
    if len(env) > MAX_ENV:
        raise _bad("container.env", f"at most {MAX_ENV} variables", "TOO_MANY_ENV")
    for key, value in env.items():
        if not key or "=" in key or "\0" in key + value:
            raise _bad(f"container.env[{key[:63]}]", "a name is non-empty, without '=' or NUL", "INVALID_ENV")


def _settings(spec: ContainerSpec) -> None:
    if spec.restart_policy not in _RESTART_POLICIES:
        raise _bad(
            "container.restart_policy",
            "one of no, on-failure, always, unless-stopped",
            "INVALID_RESTART_POLICY",
        )
    res = spec.resources
    if min(res.cpu_limit, res.memory_limit_bytes, res.cpu_reservation, res.memory_reservation_bytes) < 0:
        raise _bad("container.resources", "must not be negative", "INVALID_RESOURCES")
    if spec.replicas < 0:
        raise _bad("container.replicas", "must not be negative", "INVALID_REPLICAS")


def _placement(pool: Pool, spec: ContainerSpec) -> str:
    """Constraints and networks checked; the target node's id ("" for any node)."""
    if any(not c.strip() for c in spec.constraints):
        raise _bad("container.constraints", "must not hold empty constraints", "INVALID_CONSTRAINT")
    for i, network in enumerate(spec.networks):
        if not _REF.match(network):
            raise _bad(f"container.networks[{i}]", "is not a network name", "INVALID_NETWORK")
    target = spec.target_node
    if target.startswith("pools/"):
        return node_in_pool(pool, target, "container.target_node")
    if target and not _REF.match(target):
        raise _bad("container.target_node", "is not a node name or id", "INVALID_NAME")
    return target


def checked_spec(pool: Pool, container_id: str, spec: ContainerSpec) -> ContainerSpec:
    """The spec of a CreateContainer, checked; target_node becomes a node id."""
    if container_id and not _NEW_ID.match(container_id):
        raise InvalidArgument.field(
            "container_id",
            "an RFC 1123 label: 1-63 characters of [a-z0-9-], not starting or ending with '-'",
            reason="INVALID_CONTAINER_ID",
            metadata={"value": container_id[:200]},
        )
    image_reference(spec.image, "container.image")
    validation.labels(spec.labels, "container.labels")
    _env(spec.env)
    _mounts(spec.mounts)
    _settings(spec)
    return replace(spec, ports=_ports(spec.ports), target_node=_placement(pool, spec))


def _seconds(value: int, field: str) -> int:
    if value < 0:
        raise InvalidArgument.field(field, "must not be negative", reason="INVALID_TIMEOUT")
    return value


class Containers:
    def __init__(self, pools: Pools) -> None:
        self._pools = pools

    async def list(self, **query: Any) -> Page[ContainerInfo]:
        """One page: ``query`` is ``list_children``'s parent, filter_text, order_by, page_size, page_token."""

        async def read(pool: Pool) -> list[ContainerInfo]:
            return list(await self._pools.driver(pool).containers.list())

        return await list_children(
            self._pools.targets, read, container_name, COLUMNS, kind="containers", **query
        )

    async def get(self, name: str) -> tuple[Pool, ContainerInfo]:
        return await self._act(name, lambda ops, key: ops.get(key), wait=False)

    async def create(
        self, parent: str, container_id: str, spec: ContainerSpec, *, validate_only: bool
    ) -> tuple[Pool, ContainerInfo]:
        pool = await self._pools.get(validation.pool_name(parent, "parent"))
        checked = checked_spec(pool, container_id, spec)
        with deadline.scope(deadline.remaining(CHANGE_CAP)):
            ops = self._pools.driver(pool).containers
            return pool, await ops.create(container_id, checked, validate_only=validate_only)

    async def start(self, name: str) -> tuple[Pool, ContainerInfo]:
        return await self._act(name, lambda ops, key: ops.start(key))

    async def stop(self, name: str, timeout_seconds: int) -> tuple[Pool, ContainerInfo]:
        seconds = _seconds(timeout_seconds, "timeout_seconds")
        return await self._act(name, lambda ops, key: ops.stop(key, seconds))

    async def restart(self, name: str, timeout_seconds: int) -> tuple[Pool, ContainerInfo]:
        seconds = _seconds(timeout_seconds, "timeout_seconds")
        return await self._act(name, lambda ops, key: ops.restart(key, seconds))

    async def delete(self, name: str, *, force: bool, grace_period_seconds: int) -> None:
        grace = _seconds(grace_period_seconds, "grace_period_seconds")
        await self._act(name, lambda ops, key: ops.delete(key, force=force, grace_period_seconds=grace))

    async def _act(
        self, name: str, call: Callable[[ContainerOps, str], Awaitable[T]], *, wait: bool = True
    ) -> tuple[Pool, T]:
        """Resolve a container's name and call its pool's driver with the key; the cluster's
        "no such container" becomes NOT_FOUND naming the resource the caller asked for."""
        pool_id, key = parse_child_name(name, "containers")
        pool = await self._pools.get(pool_id)
        try:
            with deadline.scope(deadline.remaining(CHANGE_CAP if wait else None)):
                return pool, await call(self._pools.driver(pool).containers, key)
        except NotFound as exc:
            # A driver may know whose container it is (Swarm: a managed service's task).
            service = exc.metadata.get("service")
            hint = f"; it is the container of {pool.name}/containers/{service}" if service else ""
            raise NotFound(
                f"{name} does not exist{hint}", reason="CONTAINER_NOT_FOUND", metadata={"container": name}
            ) from exc
