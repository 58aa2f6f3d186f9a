"""Swarm networks: swarm-scope networks from the manager, local networks from each node engine.

A swarm-scope network (``overlay``) spans the cluster: the manager knows every one, and
its key is its name (swarmkit keeps names unique). A local network (``bridge``,
``host``, ...) lives on one node and is read from that node's own engine (see ``fleet``:
nodes whose engine is unknown are not listed); its key is ``{node_id}.{name}``. Docker
takes any string as a network name, so a name that would not make a clean key (outside
``[a-zA-Z0-9][a-zA-Z0-9_.-]*``, or, for a cluster-wide network, holding the dot that marks
a node-local key) is replaced by the network's Docker id. A lookup checks that what the
engine found has the very key asked for, since the engine also matches id prefixes.

Engine API:

- list: ``GET /networks`` on every known engine at once; local-scope ones from each,
  the others from the manager's answer only (a worker lists just those it has tasks on);
- get: ``GET /networks/{name or id}`` on the manager, or ``?scope=local`` on the node's engine;
- create: ``GET /networks/{name}`` (the name must be free), then ``POST /networks/create``
  with ``CheckDuplicate``, the driver (default ``overlay``, made by the manager; any
  other driver makes a local network on the named node or the manager's), attachable,
  internal, labels, options and IPAM config (one entry per subnet, with its gateway); a
  local driver must be one the node has (``fleet.known_drivers``);
- delete: ``DELETE /networks/{id}`` on the engine that holds it; the predefined networks
  are refused before the engine is asked.

Overlay networks can be created, attached and deleted here, but this test bed's kernel
has no IPVS, so their virtual-IP load balancing does not work in it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from zanepool_server.drivers.swarm import fleet, parse
from zanepool_server.drivers.swarm.engine import Engine
from zanepool_server.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from zanepool_server.model import NetworkInfo, NetworkSpec

if TYPE_CHECKING:
    from zanepool_server.drivers.swarm.driver import SwarmDriver

DEFAULT_DRIVER = "overlay"
#: Drivers whose networks span the swarm (created by a manager); every other one is local.
SWARM_DRIVERS = frozenset({"overlay"})
#: The networks Docker makes itself and needs: never deleted here.
PREDEFINED = frozenset({"bridge", "host", "none", "ingress", "docker_gwbridge"})


def cluster_key(raw: dict[str, Any]) -> str:
    name = str(raw.get("Name", ""))
    return name if fleet.LOCAL_NAME.match(name) and fleet.SEPARATOR not in name else str(raw["Id"])


def local_key(raw: dict[str, Any], node_id: str) -> str:
    name = str(raw.get("Name", ""))
    return fleet.node_key(node_id, name if fleet.LOCAL_NAME.match(name) else str(raw["Id"]))


def network(raw: dict[str, Any], node_id: str = "") -> NetworkInfo:
    """A network from ``/networks``: a local one of ``node_id``, or a cluster-wide one."""
    configs = (raw.get("IPAM") or {}).get("Config") or ()
    return NetworkInfo(
        network_key=local_key(raw, node_id) if node_id else cluster_key(raw),
        network_id=str(raw["Id"]),
        driver=str(raw.get("Driver", "")),
        scope=str(raw.get("Scope", "")),
        labels=dict(raw.get("Labels") or {}),
        subnets=tuple(c["Subnet"] for c in configs if c.get("Subnet")),
        gateways=tuple(c["Gateway"] for c in configs if c.get("Gateway")),
        attachable=bool(raw.get("Attachable")),
        internal=bool(raw.get("Internal")),
        create_time=parse.time(raw.get("Created")),
        node_id=node_id,
        options=dict(raw.get("Options") or {}),
    )


def _ipam(spec: NetworkSpec) -> dict[str, Any]:
    # Gateways go with the subnets in order (the domain checked there are no more of them).
    configs = [
        {"Subnet": subnet, **({"Gateway": gateway} if gateway else {})}
        for subnet, gateway in zip_longest(spec.subnets, spec.gateways[: len(spec.subnets)])
    ]
    return {"Driver": "default", "Config": configs}


#: How long a new swarm network is waited for to show its driver (the manager allocates it a
#: moment after it answers the create), at most; and between two looks.
ALLOCATION_WAIT = 3.0
ALLOCATION_LOOK = 0.05


async def _allocated(engine: Engine, network_id: str, kind: str) -> dict[str, Any]:
    """The network as the engine shows it once allocated: right after a create, a swarm
    network may show no driver yet, and a GetNetwork a moment later would disagree with
    what CreateNetwork answered."""
    end = time.monotonic() + ALLOCATION_WAIT
    while True:
        raw: dict[str, Any] = await engine.get(f"networks/{network_id}")
        if raw.get("Driver") or time.monotonic() >= end:
            return raw if raw.get("Driver") else {**raw, "Driver": kind}
        await asyncio.sleep(ALLOCATION_LOOK)


class SwarmNetworks:
    """NetworkOps: the manager's swarm-scope networks and every known engine's local ones."""

    def __init__(self, driver: SwarmDriver) -> None:
        self._driver = driver

    async def list(self) -> Sequence[NetworkInfo]:
        return await fleet.read_each(self._driver, self._read)

    async def _read(self, node: fleet.NodeEngine) -> Sequence[NetworkInfo]:
        is_manager = node.engine is self._driver.manager
        return [
            network(raw, node.node_id) if raw.get("Scope") == "local" else network(raw)
            for raw in await node.engine.get("networks")
            if raw.get("Scope") == "local" or is_manager
        ]

    async def get(self, network_key: str) -> NetworkInfo:
        return (await self._find(network_key))[2]

    async def create(self, name: str, spec: NetworkSpec, *, validate_only: bool) -> NetworkInfo:
        kind = spec.driver or DEFAULT_DRIVER
        engine, node_id = await self._home(name, kind, spec.node_id)
        body: dict[str, Any] = {
            "Name": name,
            "CheckDuplicate": True,
            "Driver": kind,
            "Attachable": spec.attachable,
            "Internal": spec.internal,
            "Labels": dict(spec.labels),
            "Options": dict(spec.options),
            "IPAM": _ipam(spec),
        }
        await self._check_free(engine, name)
        if validate_only:
            # What the engine would answer, short of the ids and the time it makes.
            preview = {**body, "Id": "", "Scope": "local" if node_id else "swarm"}
            return network(preview, node_id)
        created = await engine.request("POST", "networks/create", body=body)
        return network(await _allocated(engine, str(created["Id"]), kind), node_id)

    async def delete(self, network_key: str) -> None:
        engine, raw, info = await self._find(network_key)
        name = raw.get("Name", "")
        if name in PREDEFINED:
            raise FailedPrecondition(
                f"{name} is a network Docker makes and needs; it cannot be deleted",
                reason="PREDEFINED_NETWORK",
                metadata={"network": network_key},
            )
        await engine.request("DELETE", f"networks/{info.network_id}")

    async def _home(self, name: str, kind: str, node_id: str) -> tuple[Engine, str]:
        """The engine that makes the network, and the node a local one lives on ("" for the swarm)."""
        if kind not in SWARM_DRIVERS:
            nodes = await fleet.read_fleet(self._driver)
            node = nodes.engine_of(node_id or nodes.manager_node)
            fleet.check_driver(await fleet.known_drivers(node, "Network"), kind, "network")
            return node.engine, node.node_id
        if node_id:
            raise InvalidArgument.field(
                "network.node",
                f"an {kind} network spans the swarm: name no node",
                reason="NODE_NOT_ALLOWED",
                metadata={"driver": kind},
            )
        if fleet.SEPARATOR in name:
            raise InvalidArgument.field(
                "network_id",
                f"the id of a cluster-wide network has no {fleet.SEPARATOR!r} (it marks node-local ids)",
                reason="INVALID_NETWORK_ID",
                metadata={"value": name[:200]},
            )
        return self._driver.manager, ""

    @staticmethod
    async def _check_free(engine: Engine, name: str) -> None:
        try:
            raw = await engine.get(f"networks/{name}")
        except NotFound:
            return
        if raw.get("Name") == name:  # not a network whose id merely starts with the name
            raise AlreadyExists(
                f"network {name} already exists", reason="NETWORK_ALREADY_EXISTS", metadata={"network": name}
            )

    async def _find(self, network_key: str) -> tuple[Engine, dict[str, Any], NetworkInfo]:
        """The engine that holds a network, its document and the network; NotFound unless the
        engine found one of this very key (it also matches names by their id's prefix)."""
        node_id = ""
        if fleet.SEPARATOR in network_key:
            node_id, local = fleet.split_key(network_key, "network")
            engine = (await fleet.read_fleet(self._driver)).engine_of(node_id).engine
            raw = await engine.get(f"networks/{local}", {"scope": "local"})
        elif fleet.LOCAL_NAME.match(network_key):
            engine = self._driver.manager
            raw = await engine.get(f"networks/{network_key}")
        else:
            raise InvalidArgument.field(
                "name", "is not a network id", reason="INVALID_NAME", metadata={"value": network_key[:200]}
            )
        info = network(raw, node_id)
        if (raw.get("Scope") == "local") != bool(node_id) or info.network_key != network_key:
            raise NotFound(
                f"network {network_key} does not exist",
                reason="CLUSTER_OBJECT_NOT_FOUND",
                metadata={"network": network_key},
            )
        return engine, raw, info
