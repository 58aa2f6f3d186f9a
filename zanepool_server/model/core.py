"""Pools, clusters and nodes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any


class Driver(enum.StrEnum):
    SWARM = "SWARM"
    KUBERNETES = "KUBERNETES"


class PoolState(enum.StrEnum):
    READY = "READY"
    DEGRADED = "DEGRADED"
    UNREACHABLE = "UNREACHABLE"


class NodeRole(enum.StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    MANAGER = "MANAGER"
    WORKER = "WORKER"


class NodeState(enum.StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    READY = "READY"
    DOWN = "DOWN"
    UNKNOWN = "UNKNOWN"
    DISCONNECTED = "DISCONNECTED"


class NodeAvailability(enum.StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    ACTIVE = "ACTIVE"
    PAUSE = "PAUSE"
    DRAIN = "DRAIN"


class Capability(enum.StrEnum):
    NODE_IMPORT = "NODE_IMPORT"
    NODE_REMOVE = "NODE_REMOVE"
    CONTAINER_START_STOP = "CONTAINER_START_STOP"
    IMAGE_PULL = "IMAGE_PULL"
    IMAGE_DELETE = "IMAGE_DELETE"
    VOLUMES = "VOLUMES"
    NETWORKS = "NETWORKS"
    LOGS = "LOGS"
    EVENTS = "EVENTS"


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to a cluster. Never returned by the API."""

    ca_pem: str = ""
    cert_pem: str = ""
    key_pem: str = ""
    bearer_token: str = ""
    kubeconfig: str = ""

    def is_set(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def to_doc(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> Credentials:
        doc = doc or {}
        return cls(**{f.name: str(doc.get(f.name, "")) for f in fields(cls)})


@dataclass(frozen=True)
class ClusterInfo:
    """What a cluster reports about itself (PoolInfo on the wire)."""

    server_version: str = ""
    api_version: str = ""
    os: str = ""
    arch: str = ""
    kernel_version: str = ""
    cpus: int = 0
    memory_bytes: int = 0
    node_count: int = 0
    containers_running: int = 0
    containers_paused: int = 0
    containers_stopped: int = 0
    ready_node_count: int = 0
    manager_count: int = 0
    # Pods by phase (Kubernetes only).
    pods_running: int = 0
    pods_pending: int = 0
    pods_succeeded: int = 0
    pods_failed: int = 0

    def to_doc(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> ClusterInfo:
        doc = doc or {}
        return cls(**{f.name: doc[f.name] for f in fields(cls) if f.name in doc})


@dataclass(frozen=True)
class NodeSummary:
    """One node as a driver reads it (Node on the wire, minus the resource name's pool)."""

    node_id: str
    hostname: str = ""
    address: str = ""
    role: NodeRole = NodeRole.UNSPECIFIED
    state: NodeState = NodeState.UNSPECIFIED
    availability: NodeAvailability = NodeAvailability.UNSPECIFIED
    engine_version: str = ""
    cpus: int = 0
    memory_bytes: int = 0
    reserved_cpus: float = 0.0
    reserved_memory_bytes: int = 0
    containers_running: int = 0
    containers_paused: int = 0
    containers_stopped: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    engine_labels: dict[str, str] = field(default_factory=dict)
    os: str = ""
    arch: str = ""
    kernel_version: str = ""
    state_message: str = ""
    leader: bool = False
    create_time: datetime | None = None
    update_time: datetime | None = None
    version: str = ""
    # What the scheduler may place on the node (Kubernetes allocatable; zero for Swarm).
    allocatable_cpus: float = 0.0
    allocatable_memory_bytes: int = 0

    def to_doc(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        # Label keys may hold dots, which MongoDB reads as paths: store them as pairs.
        doc["labels"] = dict_to_pairs(self.labels)
        doc["engine_labels"] = dict_to_pairs(self.engine_labels)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> NodeSummary:
        kwargs = {f.name: doc[f.name] for f in fields(cls) if f.name in doc}
        kwargs["labels"] = pairs_to_dict(doc.get("labels"))
        kwargs["engine_labels"] = pairs_to_dict(doc.get("engine_labels"))
        for name, kind in (("role", NodeRole), ("state", NodeState), ("availability", NodeAvailability)):
            if name in kwargs:
                kwargs[name] = kind(kwargs[name])
        return cls(**kwargs)


@dataclass(frozen=True)
class ClusterSnapshot:
    """A whole read of a cluster: identity, info and nodes."""

    cluster_id: str
    info: ClusterInfo
    nodes: tuple[NodeSummary, ...] = ()

    def state(self) -> tuple[PoolState, str]:
        """READY when every node is ready, else DEGRADED with the nodes that are not."""
        down = [n.hostname or n.node_id for n in self.nodes if n.state != NodeState.READY]
        if not down:
            return PoolState.READY, f"{len(self.nodes)} of {len(self.nodes)} nodes ready"
        return (
            PoolState.DEGRADED,
            f"{len(down)} of {len(self.nodes)} nodes not ready: {', '.join(sorted(down))}",
        )


@dataclass(frozen=True)
class Pool:
    """A stored pool (the store's document, typed)."""

    pool_id: str
    uid: str
    driver: Driver
    endpoint: str
    display_name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    credentials: Credentials = field(default_factory=Credentials)
    state: PoolState = PoolState.READY
    state_message: str = ""
    cluster_id: str = ""
    info: ClusterInfo = field(default_factory=ClusterInfo)
    nodes: tuple[NodeSummary, ...] = ()
    create_time: datetime | None = None
    update_time: datetime | None = None
    last_sync_time: datetime | None = None
    etag: str = ""
    node_endpoints: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"pools/{self.pool_id}"

    def with_changes(self, **changes: Any) -> Pool:
        return replace(self, **changes)


@dataclass(frozen=True)
class NodeChange:
    """An UpdateNode: None leaves a field as it is; ``version`` makes the change conditional."""

    labels: dict[str, str] | None = None
    availability: NodeAvailability | None = None
    role: NodeRole | None = None
    version: str = ""


@dataclass(frozen=True)
class EngineSpec:
    """A bare engine to add to a pool (ImportNode, CreatePool)."""

    endpoint: str
    credentials: Credentials = field(default_factory=Credentials)
    advertise_address: str = ""
    listen_address: str = ""
    role: NodeRole = NodeRole.WORKER


def pairs_to_dict(pairs: list[dict[str, str]] | dict[str, str] | None) -> dict[str, str]:
    if not pairs:
        return {}
    if isinstance(pairs, dict):
        return dict(pairs)
    return {p["k"]: p["v"] for p in pairs}


def dict_to_pairs(labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"k": k, "v": v} for k, v in sorted(labels.items())]
