"""Swarm volumes: Docker volumes, each on one node, read from that node's own engine.

As for images (see ``fleet``), only the nodes whose engine the driver knows are listed.
A volume's key is ``{node_id}.{volume name}``; Docker volume names are
``[a-zA-Z0-9][a-zA-Z0-9_.-]*`` and node ids hold no dot, so the first dot splits the two.
(A volume plugin may accept other names: such volumes are not listed, having no key.)

Engine API:

- list: ``GET /volumes`` per engine, at once;
- get: ``GET /volumes/{name}`` on the node's engine;
- create: ``GET /volumes/{name}`` first (the engine answers an existing volume as if it
  had made it, so a second create would not say ALREADY_EXISTS), then
  ``POST /volumes/create`` with the name, driver (default ``local``), driver options and
  labels, on the named node's engine or the manager's;
- delete: ``DELETE /volumes/{name}?force=`` (the engine refuses a volume in use, forced or not).

Create (and ``validate_only``) checks the node, that the name is free and that the node
has the driver (``/info`` and ``GET /plugins``: see ``fleet.known_drivers``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zanepool_server.drivers.swarm import fleet, parse
from zanepool_server.errors import AlreadyExists, InvalidArgument, NotFound
from zanepool_server.model import VolumeInfo, VolumeSpec

if TYPE_CHECKING:
    from zanepool_server.drivers.swarm.driver import SwarmDriver

DEFAULT_DRIVER = "local"


def volume(raw: dict[str, Any], node_id: str) -> VolumeInfo:
    return VolumeInfo(
        volume_key=fleet.node_key(node_id, raw["Name"]),
        driver=str(raw.get("Driver", "")),
        node_id=node_id,
        labels=dict(raw.get("Labels") or {}),
        mountpoint=str(raw.get("Mountpoint", "")),
        scope=str(raw.get("Scope", "")),
        create_time=parse.time(raw.get("CreatedAt")),
        options=dict(raw.get("Options") or {}),
    )


async def _check_free(node: fleet.NodeEngine, name: str) -> None:
    try:
        await node.engine.get(f"volumes/{name}")
    except NotFound:
        return
    raise AlreadyExists(
        f"volume {name} already exists on node {node.node_id}",
        reason="VOLUME_ALREADY_EXISTS",
        metadata={"volume": fleet.node_key(node.node_id, name)},
    )


async def _read(node: fleet.NodeEngine) -> list[VolumeInfo]:
    answer = await node.engine.get("volumes")
    # Only a plugin's volume can have a name outside the local rule; it would make no key.
    raws = [raw for raw in answer.get("Volumes") or () if fleet.LOCAL_NAME.match(raw.get("Name", ""))]
    return [volume(raw, node.node_id) for raw in raws]


def _docker_fields_only(spec: VolumeSpec) -> None:
    """A Docker volume has no capacity, access modes or namespace: refuse them rather than drop them."""
    for field, value in (
        ("capacity_bytes", spec.capacity_bytes),
        ("access_modes", spec.access_modes),
        ("namespace", spec.namespace),
    ):
        if value:
            raise InvalidArgument.field(
                f"volume.{field}",
                "is a Kubernetes field; a Swarm volume has none",
                reason="UNSUPPORTED_FIELD",
            )


class SwarmVolumes:
    """VolumeOps over every node engine the driver knows."""

    def __init__(self, driver: SwarmDriver) -> None:
        self._driver = driver

    async def list(self) -> Sequence[VolumeInfo]:
        return await fleet.read_each(self._driver, _read)

    async def get(self, volume_key: str) -> VolumeInfo:
        node, name = await self._locate(volume_key)
        return volume(await node.engine.get(f"volumes/{name}"), node.node_id)

    async def create(self, name: str, spec: VolumeSpec, *, validate_only: bool) -> VolumeInfo:
        _docker_fields_only(spec)
        nodes = await fleet.read_fleet(self._driver)
        node = nodes.engine_of(spec.node_id or nodes.manager_node)
        driver = spec.driver or DEFAULT_DRIVER
        known, _ = await asyncio.gather(fleet.known_drivers(node, "Volume"), _check_free(node, name))
        fleet.check_driver(known, driver, "volume")
        if validate_only:
            # What the engine would answer, short of the mountpoint and the time it makes.
            return VolumeInfo(
                volume_key=fleet.node_key(node.node_id, name),
                driver=driver,
                node_id=node.node_id,
                labels=dict(spec.labels),
                options=dict(spec.options),
                scope="local",
            )
        body = {"Name": name, "Driver": driver, "DriverOpts": spec.options, "Labels": spec.labels}
        return volume(await node.engine.request("POST", "volumes/create", body=body), node.node_id)

    async def delete(self, volume_key: str, *, force: bool) -> None:
        node, name = await self._locate(volume_key)
        await node.engine.request("DELETE", f"volumes/{name}", {"force": "true" if force else "false"})

    async def _locate(self, volume_key: str) -> tuple[fleet.NodeEngine, str]:
        node_id, name = fleet.split_key(volume_key, "volume")
        return (await fleet.read_fleet(self._driver)).engine_of(node_id), name
