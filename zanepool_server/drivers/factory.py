"""Opens the driver that fits a pool's kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zanepool_server.drivers import kubernetes, swarm
from zanepool_server.drivers.base import ClusterDriver
from zanepool_server.drivers.swarm import cluster
from zanepool_server.errors import Unimplemented
from zanepool_server.model import Capability, Credentials, Driver, EngineSpec


def _not_built(kind: Driver) -> Unimplemented:
    return Unimplemented(
        f"the {kind.value} driver is not built yet",
        reason="DRIVER_NOT_IMPLEMENTED",
        metadata={"driver": kind.value},
    )


_CAPABILITIES = {Driver.SWARM: swarm.CAPABILITIES, Driver.KUBERNETES: kubernetes.CAPABILITIES}


class Drivers:
    """The production DriverFactory."""

    def open(
        self, kind: Driver, endpoint: str, credentials: Credentials, node_endpoints: Mapping[str, str]
    ) -> ClusterDriver:
        if kind is Driver.SWARM:
            return swarm.SwarmDriver(endpoint, credentials, node_endpoints)
        if kind is Driver.KUBERNETES:
            return kubernetes.KubernetesDriver(endpoint, credentials)
        raise _not_built(kind)

    def capabilities(self, kind: Driver) -> frozenset[Capability]:
        return _CAPABILITIES.get(kind, frozenset())

    async def create_cluster(self, kind: Driver, engines: Sequence[EngineSpec]) -> tuple[str, dict[str, str]]:
        if kind is not Driver.SWARM:
            raise _no_creation(kind)
        built = await cluster.build(engines)
        return built.manager_endpoint, built.node_endpoints

    async def dissolve_cluster(self, kind: Driver, engines: Sequence[EngineSpec]) -> None:
        if kind is not Driver.SWARM:
            raise _no_creation(kind)
        await cluster.dissolve(engines)


def _no_creation(kind: Driver) -> Unimplemented:
    return Unimplemented(
        f"a {kind.value} cluster cannot be made from bare engines: its nodes join through its own bootstrap",
        reason="CLUSTER_CREATION_UNSUPPORTED",
        metadata={"driver": kind.value},
    )
