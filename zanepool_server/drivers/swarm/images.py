"""Swarm images: one resource per (node, image), read from each node's own engine.

A swarm manager knows nothing of the images its nodes hold, so every read goes to the
node engines the driver knows (see ``fleet``: the manager's engine and the pool's
``node_endpoints``; nodes whose engine is unknown are not listed). An image's key is
``{node_id}.{hex}``, ``hex`` being its id without ``sha256:``: URL-safe, and the same
image on two nodes is two resources.

Engine API:

- list: ``GET /images/json`` and ``GET /containers/json?all=1`` per engine, at once (the
  latter counts the containers of each image, which the engine reports as -1);
- get: ``GET /images/sha256:{hex}/json`` on the node's engine;
- pull: ``POST /images/create?fromImage={reference}[&tag=latest]`` on the chosen node or
  every reachable one, with ``X-Registry-Auth`` when credentials are given; the progress
  stream is read to its end (an error in it fails the pull), bounded by the deadline; then
  ``GET /images/{reference}/json`` answers what each node now holds;
- delete: ``DELETE /images/sha256:{hex}?force=``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiodocker.jsonstream import json_stream_stream

from zanepool_server import deadline
from zanepool_server.drivers.swarm import fleet, parse
from zanepool_server.drivers.swarm.errors import translate
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import Credentials, ImageInfo

if TYPE_CHECKING:
    from zanepool_server.drivers.swarm.driver import SwarmDriver

#: A pull may take this long at most (the caller's deadline may cut it shorter).
PULL_CAP = 600.0
_HEX = re.compile(r"^[0-9a-f]{64}$")
#: Where Docker Hub's credentials go when a reference names no registry.
_DOCKER_HUB = "https://index.docker.io/v1/"


def image(raw: dict[str, Any], node_id: str, uses: Counter[str]) -> ImageInfo:
    """An image from ``/images/json`` (``Created`` in seconds) or ``/images/{id}/json``
    (``Created`` in RFC 3339, labels under ``Config``)."""
    image_id = str(raw.get("Id", ""))
    created = raw.get("Created")
    labels = raw.get("Labels") if "Labels" in raw else (raw.get("Config") or {}).get("Labels")
    return ImageInfo(
        image_key=fleet.node_key(node_id, image_id.removeprefix("sha256:")),
        image_id=image_id,
        node_id=node_id,
        # An untagged image says "<none>:<none>", which names nothing.
        repo_tags=tuple(t for t in raw.get("RepoTags") or () if t != "<none>:<none>"),
        repo_digests=tuple(d for d in raw.get("RepoDigests") or () if d != "<none>@<none>"),
        size_bytes=int(raw.get("Size") or 0),
        create_time=datetime.fromtimestamp(created, UTC) if isinstance(created, int) else parse.time(created),
        labels=dict(labels or {}),
        containers=uses[image_id],
    )


def _pull_params(reference: str) -> dict[str, str]:
    """Without a tag or digest the engine would pull every tag: ask for ``latest``, as the CLI does."""
    last = reference.rsplit("/", 1)[-1]
    if "@" in reference or ":" in last:
        return {"fromImage": reference}
    return {"fromImage": reference, "tag": "latest"}


def registry_auth(reference: str, credentials: Credentials) -> dict[str, str]:
    """The ``X-Registry-Auth`` header: ``user:password``, or a bearer token passed as it is."""
    if not credentials.bearer_token:
        return {}
    first, sep, _ = reference.partition("/")
    # The first component names a registry only when it looks like a host.
    server = first if sep and ("." in first or ":" in first or first == "localhost") else _DOCKER_HUB
    user, colon, password = credentials.bearer_token.partition(":")
    auth = (
        {"username": user, "password": password, "serveraddress": server}
        if colon
        else {"registrytoken": credentials.bearer_token, "serveraddress": server}
    )
    return {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()}


class SwarmImages:
    """ImageOps over every node engine the driver knows."""

    def __init__(self, driver: SwarmDriver) -> None:
        self._driver = driver

    async def list(self) -> Sequence[ImageInfo]:
        return await fleet.read_each(self._driver, _read)

    async def get(self, image_key: str) -> ImageInfo:
        node_id, ref = _split(image_key)
        return await _inspect((await fleet.read_fleet(self._driver)).engine_of(node_id), ref)

    async def pull(self, reference: str, *, node_id: str, credentials: Credentials) -> Sequence[ImageInfo]:
        nodes = await fleet.read_fleet(self._driver)
        targets = [nodes.engine_of(node_id)] if node_id else list(nodes.engines.values())
        headers = registry_auth(reference, credentials)

        async def one(node: fleet.NodeEngine) -> ImageInfo:
            await _pull(node, reference, headers)
            return await _inspect(node, reference)

        return await fleet.gather_all(targets, one)

    async def delete(self, image_key: str, *, force: bool) -> None:
        node_id, ref = _split(image_key)
        engine = (await fleet.read_fleet(self._driver)).engine_of(node_id).engine
        await engine.request("DELETE", f"images/{ref}", {"force": "true" if force else "false"})


def _split(image_key: str) -> tuple[str, str]:
    """An image key -> (node id, the engine's reference to the image)."""
    node_id, hex_id = fleet.split_key(image_key, "image")
    if not _HEX.match(hex_id):
        raise InvalidArgument.field(
            "name",
            "a Swarm image id is {node id}.{the 64 hex digits of the image id}",
            reason="INVALID_NAME",
            metadata={"value": image_key[:200]},
        )
    return node_id, f"sha256:{hex_id}"


async def _read(node: fleet.NodeEngine) -> list[ImageInfo]:
    raws, uses = await asyncio.gather(node.engine.get("images/json"), _uses(node))
    return [image(raw, node.node_id, uses) for raw in raws]


async def _uses(node: fleet.NodeEngine) -> Counter[str]:
    """How many containers (stopped ones too) use each image of an engine."""
    return Counter(c.get("ImageID", "") for c in await node.engine.get("containers/json", {"all": "1"}))


async def _inspect(node: fleet.NodeEngine, ref: str) -> ImageInfo:
    raw, uses = await asyncio.gather(node.engine.get(f"images/{ref}/json"), _uses(node))
    return image(raw, node.node_id, uses)


async def _pull(node: fleet.NodeEngine, reference: str, headers: dict[str, str]) -> None:
    """Pull on one engine, reading the progress stream to its end (an error in it raises)."""
    engine = node.engine
    with translate(engine.endpoint, "POST /images/create"):
        async with asyncio.timeout(deadline.remaining(PULL_CAP)):
            query = engine.docker._query(
                "images/create", "POST", params=_pull_params(reference), headers=headers, timeout=None
            )
            async with query as response:
                # Read to the end (an error in the stream raises); keep none of the progress.
                async for _ in json_stream_stream(response):
                    pass
