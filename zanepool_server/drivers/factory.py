"""Opens the driver that fits a pool's kind."""

from __future__ import annotations

from zanepool_server.drivers import swarm
from zanepool_server.drivers.base import ClusterDriver
from zanepool_server.errors import Unimplemented
from zanepool_server.model import Capability, Credentials, Driver


class Drivers:
    """The production DriverFactory."""

    def open(self, kind: Driver, endpoint: str, credentials: Credentials) -> ClusterDriver:
        if kind is Driver.SWARM:
            return swarm.SwarmDriver(endpoint, credentials)
        raise Unimplemented(
            f"the {kind.value} driver is not built yet",
            reason="DRIVER_NOT_IMPLEMENTED",
            metadata={"driver": kind.value},
        )

    def capabilities(self, kind: Driver) -> frozenset[Capability]:
        return swarm.CAPABILITIES if kind is Driver.SWARM else frozenset()
