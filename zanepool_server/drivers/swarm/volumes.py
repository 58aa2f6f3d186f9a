"""Swarm volumes: Docker volumes, each on one node, read from that node's own engine.

As for images (see ``fleet``), only the nodes whose engine the driver knows are listed.
A volume's key is ``{node_id}.{volume name}``; Docker volume names are
``[a-zA-Z0-9][a-zA-Z0-9_.-]*`` and node ids hold no dot, so the first dot splits the two.

Engine API:

- list: ``GET /volumes`` per engine, at once;
- get: ``GET /volumes/{name}`` on the node's engine;
- create: ``GET /volumes/{name}`` first (the engine answers an existing volume as if it
  had made it, so a second create would not say ALREADY_EXISTS), then
  ``POST /volumes/create`` with the name, driver (default ``local``), driver options and
  labels, on the named node's engine or the manager's;
- delete: ``DELETE /volumes/{name}?force=`` (the engine refuses a volume in use, forced or not).

``validate_only`` checks the node and that the name is free; an unknown driver is found
only by a real create (the engine loads volume plugins lazily, so its ``/info`` plugin
list is no answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zanepool_server.drivers.swarm import parse
from zanepool_server.drivers.swarm.fleet import NodeEngine, node_key, read_each, read_fleet, split_key
from zanepool_server.errors import AlreadyExists, NotFound
from zanepool_server.model import VolumeInfo, VolumeSpec

if TYPE_CHECKING:
    from zanepool_server.drivers.swarm.driver import SwarmDriver

DEFAULT_DRIVER = "local"


def volume(raw: dict[str, Any], node_id: str) -> VolumeInfo:
    return VolumeInfo(
        volume_key=node_key(node_id, raw["Name"]),
        driver=str(raw.get("Driver", "")),
        node_id=node_id,
        labels=dict(raw.get("Labels") or {}),
        mountpoint=str(raw.get("Mountpoint", "")),
        scope=str(raw.get("Scope", "")),
        create_time=parse.time(raw.get("CreatedAt")),
        options=dict(raw.get("Options") or {}),
    )


class SwarmVolumes:
    """VolumeOps over every node engine the driver knows."""

    def __init__(self, driver: SwarmDriver) -> None:
        self._driver = driver

    async def list(self) -> Sequence[VolumeInfo]:
        return await read_each(self._driver, self._read)

    @staticmethod
    async def _read(node: NodeEngine) -> list[VolumeInfo]:
        answer = await node.engine.get("volumes")
        return [volume(raw, node.node_id) for raw in answer.get("Volumes") or ()]

    async def get(self, volume_key: str) -> VolumeInfo:
        node, name = await self._locate(volume_key)
        return volume(await node.engine.get(f"volumes/{name}"), node.node_id)

    async def create(self, name: str, spec: VolumeSpec, *, validate_only: bool) -> VolumeInfo:
        fleet = await read_fleet(self._driver)
        node = fleet.engine_of(spec.node_id or fleet.manager_node)
        key = node_key(node.node_id, name)
        try:
            await node.engine.get(f"volumes/{name}")
        except NotFound:
            pass
        else:
            raise AlreadyExists(
                f"volume {name} already exists on node {node.node_id}",
                reason="VOLUME_ALREADY_EXISTS",
                metadata={"volume": key},
            )
        body = {
            "Name": name,
            "Driver": spec.driver or DEFAULT_DRIVER,
            "DriverOpts": dict(spec.options),
            "Labels": dict(spec.labels),
        }
        if validate_only:
            # What the engine would answer, short of the mountpoint and the time it makes.
            return VolumeInfo(
                volume_key=key,
                driver=body["Driver"],
                node_id=node.node_id,
                labels=body["Labels"],
                options=body["DriverOpts"],
                scope="local",
            )
        return volume(await node.engine.request("POST", "volumes/create", body=body), node.node_id)

    async def delete(self, volume_key: str, *, force: bool) -> None:
        node, name = await self._locate(volume_key)
        await node.engine.request("DELETE", f"volumes/{name}", {"force": "true" if force else "false"})

    async def _locate(self, volume_key: str) -> tuple[NodeEngine, str]:
        node_id, name = split_key(volume_key, "volume")
        return (await read_fleet(self._driver)).engine_of(node_id), name
