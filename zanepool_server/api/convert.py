"""Conversion between the wire types (zanepool.v1) and the domain's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from google.protobuf import timestamp_pb2

from zanepool.v1 import resources_pb2 as pb
from zanepool_server.domain.pools import PoolDraft
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import (
    Capability,
    ClusterInfo,
    Credentials,
    Driver,
    EngineSpec,
    NodeAvailability,
    NodeRole,
    NodeState,
    NodeSummary,
    Pool,
    PoolState,
)

DRIVERS: dict[int, Driver] = {pb.DRIVER_SWARM: Driver.SWARM, pb.DRIVER_KUBERNETES: Driver.KUBERNETES}
DRIVERS_OUT: dict[Driver, pb.Driver.ValueType] = {
    Driver.SWARM: pb.DRIVER_SWARM,
    Driver.KUBERNETES: pb.DRIVER_KUBERNETES,
}
POOL_STATES = {
    PoolState.READY: pb.Pool.STATE_READY,
    PoolState.DEGRADED: pb.Pool.STATE_DEGRADED,
    PoolState.UNREACHABLE: pb.Pool.STATE_UNREACHABLE,
}


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def heartbeat() -> pb.Heartbeat:
    """A stream's heartbeat: the time now."""
    return pb.Heartbeat(time=timestamp(datetime.now(UTC)))


def since_in(request: Any) -> int | None:
    """A stream request's ``since_time`` in nanoseconds (None when unset; never negative)."""
    return max(request.since_time.ToNanoseconds(), 0) if request.HasField("since_time") else None


def driver_in(value: int, field: str = "pool.driver") -> Driver:
    if value == pb.DRIVER_UNSPECIFIED:
        raise InvalidArgument.field(
            field, "is required: DRIVER_SWARM or DRIVER_KUBERNETES", reason="MISSING_FIELD"
        )
    if value not in DRIVERS:
        raise InvalidArgument.field(
            field, f"{value} is not a Driver", reason="INVALID_ENUM_VALUE", metadata={"value": value}
        )
    return DRIVERS[value]


def credentials_in(msg: pb.Credentials) -> Credentials:
    return Credentials(
        ca_pem=msg.ca_pem,
        cert_pem=msg.cert_pem,
        key_pem=msg.key_pem,
        bearer_token=msg.bearer_token,
        kubeconfig=msg.kubeconfig,
    )


def draft_in(msg: pb.Pool, driver: Driver) -> PoolDraft:
    return PoolDraft(
        driver=driver,
        endpoint=msg.endpoint,
        display_name=msg.display_name,
        labels=dict(msg.labels),
        credentials=credentials_in(msg.credentials),
        node_endpoints=dict(msg.node_endpoints),
    )


def info_out(info: ClusterInfo) -> pb.PoolInfo:
    return pb.PoolInfo(**info.to_doc())


_ROLES = {NodeRole.MANAGER: pb.Node.ROLE_MANAGER, NodeRole.WORKER: pb.Node.ROLE_WORKER}
_NODE_STATES = {
    NodeState.READY: pb.Node.STATE_READY,
    NodeState.DOWN: pb.Node.STATE_DOWN,
    NodeState.UNKNOWN: pb.Node.STATE_UNKNOWN,
    NodeState.DISCONNECTED: pb.Node.STATE_DISCONNECTED,
}
_AVAILABILITY = {
    NodeAvailability.ACTIVE: pb.Node.AVAILABILITY_ACTIVE,
    NodeAvailability.PAUSE: pb.Node.AVAILABILITY_PAUSE,
    NodeAvailability.DRAIN: pb.Node.AVAILABILITY_DRAIN,
}


_ROLES_IN = {v: k for k, v in _ROLES.items()}
_AVAILABILITY_IN = {v: k for k, v in _AVAILABILITY.items()}


def node_in(msg: pb.Node) -> NodeSummary:
    """The mutable fields of a Node (labels, availability, role); unknown enum values refused."""
    if msg.availability and msg.availability not in _AVAILABILITY_IN:
        raise InvalidArgument.field(
            "node.availability",
            f"{msg.availability} is not an Availability",
            reason="INVALID_ENUM_VALUE",
            metadata={"value": msg.availability},
        )
    if msg.role and msg.role not in _ROLES_IN:
        raise InvalidArgument.field(
            "node.role",
            f"{msg.role} is not a Role",
            reason="INVALID_ENUM_VALUE",
            metadata={"value": msg.role},
        )
    return NodeSummary(
        node_id="",
        labels=dict(msg.labels),
        availability=_AVAILABILITY_IN.get(msg.availability, NodeAvailability.UNSPECIFIED),
        role=_ROLES_IN.get(msg.role, NodeRole.UNSPECIFIED),
    )


def engine_in(msg: pb.Engine, field: str = "engine") -> EngineSpec:
    if not msg.endpoint:
        raise InvalidArgument.field(f"{field}.endpoint", "is required", reason="MISSING_FIELD")
    if msg.role and msg.role not in _ROLES_IN:
        raise InvalidArgument.field(
            f"{field}.role",
            f"{msg.role} is not a Role",
            reason="INVALID_ENUM_VALUE",
            metadata={"value": msg.role},
        )
    return EngineSpec(
        endpoint=msg.endpoint,
        credentials=credentials_in(msg.credentials),
        advertise_address=msg.advertise_address,
        listen_address=msg.listen_address,
        role=_ROLES_IN.get(msg.role, NodeRole.WORKER),
    )


def node_out(pool_name: str, node: NodeSummary) -> pb.Node:
    return pb.Node(
        name=f"{pool_name}/nodes/{node.node_id}",
        hostname=node.hostname,
        address=node.address,
        role=_ROLES.get(node.role, pb.Node.ROLE_UNSPECIFIED),
        state=_NODE_STATES.get(node.state, pb.Node.STATE_UNSPECIFIED),
        availability=_AVAILABILITY.get(node.availability, pb.Node.AVAILABILITY_UNSPECIFIED),
        engine_version=node.engine_version,
        cpus=node.cpus,
        memory_bytes=node.memory_bytes,
        reserved_cpus=node.reserved_cpus,
        reserved_memory_bytes=node.reserved_memory_bytes,
        containers_running=node.containers_running,
        containers_paused=node.containers_paused,
        containers_stopped=node.containers_stopped,
        labels=node.labels,
        engine_labels=node.engine_labels,
        os=node.os,
        arch=node.arch,
        kernel_version=node.kernel_version,
        state_message=node.state_message,
        leader=node.leader,
        create_time=timestamp(node.create_time),
        update_time=timestamp(node.update_time),
        etag=node.version,
        allocatable_cpus=node.allocatable_cpus,
        allocatable_memory_bytes=node.allocatable_memory_bytes,
    )


def pool_out(pool: Pool, capabilities: Iterable[Capability], *, with_nodes: bool = False) -> pb.Pool:
    return pb.Pool(
        name=pool.name,
        uid=pool.uid,
        display_name=pool.display_name,
        driver=DRIVERS_OUT[pool.driver],
        endpoint=pool.endpoint,
        labels=pool.labels,
        state=POOL_STATES[pool.state],
        state_message=pool.state_message,
        info=info_out(pool.info),
        nodes=[node_out(pool.name, n) for n in pool.nodes] if with_nodes else [],
        create_time=timestamp(pool.create_time),
        update_time=timestamp(pool.update_time),
        last_sync_time=timestamp(pool.last_sync_time),
        etag=pool.etag,
        credentials_set=pool.credentials.is_set(),
        cluster_id=pool.cluster_id,
        node_endpoints=pool.node_endpoints,
        capabilities=sorted(pb.Capability.Value(f"CAPABILITY_{c.value}") for c in capabilities),
    )
