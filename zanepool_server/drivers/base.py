"""The driver contract: what the domain asks of a cluster, whatever its kind.

A driver is opened for one endpoint with its credentials and owns its connections until
:meth:`ClusterDriver.aclose`; it is reused across calls (the domain caches one per pool).
Every method is bounded by the current call's deadline (``zanepool_server.deadline``)
and raises only domain errors (``zanepool_server.errors``): each driver translates its
library's exceptions at its edge, in one place.

Later capabilities (nodes, containers, images, volumes, networks, logs, events) add
methods here; a driver that lacks a concept raises Unimplemented with a reason.
"""

from __future__ import annotations

from typing import Protocol

from zanepool_server.model import Capability, ClusterSnapshot, Credentials, Driver


class ClusterDriver(Protocol):
    """One open connection to one cluster."""

    @property
    def kind(self) -> Driver: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

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

    def open(self, kind: Driver, endpoint: str, credentials: Credentials) -> ClusterDriver: ...

    def capabilities(self, kind: Driver) -> frozenset[Capability]:
        """What pools of this kind support."""
        ...
