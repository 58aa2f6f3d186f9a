"""The driver contract: what the domain asks of a cluster, whatever its kind.

A driver is opened for one pool (endpoint, credentials, node engines) and owns its
connections until :meth:`ClusterDriver.aclose`; the domain caches one per pool. Its
operations come in groups, one Protocol per resource, so each can be built (and tested)
on its own; a driver without a concept raises Unimplemented with a reason, never a fake
result. Every method is bounded by the current call's deadline
(``zanepool_server.deadline``) and raises only domain errors (``zanepool_server.errors``):
each driver translates its library's exceptions at its edge, in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Protocol

from zanepool_server.model import (
    Capability,
    ClusterEvent,
    ClusterSnapshot,
    ContainerInfo,
    ContainerSpec,
    Credentials,
    Driver,
    EngineSpec,
    ImageInfo,
    LogLine,
    NetworkInfo,
    NetworkSpec,
    NodeChange,
    NodeSummary,
    VolumeInfo,
    VolumeSpec,
)


class NodeOps(Protocol):
    async def list(self) -> Sequence[NodeSummary]: ...
    async def get(self, node_id: str) -> NodeSummary: ...
    async def update(self, node_id: str, change: NodeChange) -> NodeSummary: ...
    async def join(self, engine: EngineSpec) -> NodeSummary:
        """ImportNode: join a bare engine to the cluster; returns the new node once it is known."""
        ...

    async def remove(self, node_id: str, *, force: bool, drain: bool) -> None: ...


class ContainerOps(Protocol):
    async def list(self) -> Sequence[ContainerInfo]: ...
    async def get(self, container_id: str) -> ContainerInfo: ...
    async def create(self, name: str, spec: ContainerSpec, *, validate_only: bool) -> ContainerInfo: ...
    async def start(self, container_id: str) -> ContainerInfo: ...
    async def stop(self, container_id: str, timeout_seconds: int) -> ContainerInfo: ...
    async def restart(self, container_id: str, timeout_seconds: int) -> ContainerInfo: ...
    async def delete(self, container_id: str, *, force: bool, grace_period_seconds: int) -> None: ...


class ImageOps(Protocol):
    async def list(self) -> Sequence[ImageInfo]: ...
    async def get(self, image_key: str) -> ImageInfo: ...
    async def pull(
        self, reference: str, *, node_id: str, credentials: Credentials
    ) -> Sequence[ImageInfo]: ...
    async def delete(self, image_key: str, *, force: bool) -> None: ...


class VolumeOps(Protocol):
    async def list(self) -> Sequence[VolumeInfo]: ...
    async def get(self, volume_key: str) -> VolumeInfo: ...
    async def create(self, name: str, spec: VolumeSpec, *, validate_only: bool) -> VolumeInfo: ...
    async def delete(self, volume_key: str, *, force: bool) -> None: ...


class NetworkOps(Protocol):
    async def list(self) -> Sequence[NetworkInfo]: ...
    async def get(self, network_key: str) -> NetworkInfo: ...
    async def create(self, name: str, spec: NetworkSpec, *, validate_only: bool) -> NetworkInfo: ...
    async def delete(self, network_key: str) -> None: ...


class LogOps(Protocol):
    def read(
        self, container: ContainerInfo, *, since_ns: int | None, tail: int | None, follow: bool
    ) -> AsyncIterator[list[LogLine]]:
        """A container's log lines in order (``container`` as the caller listed or got it: a
        driver takes what it can from it and looks up only what it lacks, so that a pool's
        stream costs no lookup per container), from ``since_ns`` (or the last ``tail`` lines),
        a list at a time (the lines of what the upstream sent in one piece; never empty:
        per line would cost a hop through the iterator each); every line of one read carries
        the same node. With ``follow`` it goes on until the container ends (a clean end) or
        the cluster fails (ClusterUnavailable). Cancelling the iteration closes the upstream
        read."""
        ...


class EventOps(Protocol):
    def watch(self, *, since_ns: int | None) -> AsyncIterator[ClusterEvent]:
        """The cluster's own events from ``since_ns`` (or now) on, until cancelled or the
        cluster fails (ClusterUnavailable)."""
        ...


class ClusterDriver(Protocol):
    """One open connection to one cluster."""

    @property
    def kind(self) -> Driver: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    @property
    def nodes(self) -> NodeOps: ...

    @property
    def containers(self) -> ContainerOps: ...

    @property
    def images(self) -> ImageOps: ...

    @property
    def volumes(self) -> VolumeOps: ...

    @property
    def networks(self) -> NetworkOps: ...

    @property
    def logs(self) -> LogOps: ...

    @property
    def events(self) -> EventOps: ...

    async def snapshot(self) -> ClusterSnapshot:
        """Read the cluster's identity, info and nodes, checking that it can serve as a pool.

        Raises ClusterUnavailable when it does not answer, FailedPrecondition when it answers
        but cannot be a pool (for Swarm: not in Swarm mode, or not a manager).
        """
        ...

    async def aclose(self) -> None:
        """Close every connection; the driver cannot be used afterwards."""
        ...


class DriverFactory(Protocol):
    """Opens drivers; injected into the domain so tests can count or replace them."""

    def open(
        self, kind: Driver, endpoint: str, credentials: Credentials, node_endpoints: Mapping[str, str]
    ) -> ClusterDriver: ...

    def capabilities(self, kind: Driver) -> frozenset[Capability]:
        """What pools of this kind support."""
        ...

    async def create_cluster(self, kind: Driver, engines: Sequence[EngineSpec]) -> tuple[str, dict[str, str]]:
        """CreatePool: build a new cluster from bare engines.

        Returns the manager's endpoint and the node engines' endpoints by node id. Undoes
        what it did when a step fails, and says which engine failed at which step.
        """
        ...

    async def dissolve_cluster(self, kind: Driver, engines: Sequence[EngineSpec]) -> None:
        """Undo create_cluster (when what follows it fails): every engine leaves."""
        ...
