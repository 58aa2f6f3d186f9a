"""Images, volumes and networks of pools: read live from each pool's cluster; changes go to it.

The three share one shape, built once here: a resource is ``pools/{pool}/{collection}/{id}``
where ``{id}`` is the driver's key (opaque here: the Swarm driver's is ``{node}.{name}``
for what lives on one node), lists go through ``list_children``, and "no such object"
from the cluster becomes NOT_FOUND naming the resource asked for. What is checked here
is what any cluster kind would refuse: names, ids, image references, labels, subnets.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from zanepool_server.domain import validation
from zanepool_server.domain.listing import Columns, Item, Page, list_children
from zanepool_server.domain.nodes import parse_node_name
from zanepool_server.domain.pools import Pools
from zanepool_server.drivers.base import ClusterDriver
from zanepool_server.errors import InvalidArgument, NotFound
from zanepool_server.model import (
    Credentials,
    ImageInfo,
    NetworkInfo,
    NetworkSpec,
    Pool,
    VolumeInfo,
    VolumeSpec,
)
from zanepool_server.query import Field, Kind

T = TypeVar("T", ImageInfo, VolumeInfo, NetworkInfo)
S = TypeVar("S", VolumeSpec, NetworkSpec)

#: The id segment of a child resource name: URL-safe, whatever the driver's key holds.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,299}$")
#: A volume or network id a caller chooses (Docker's volume name rule; it suits networks too).
_NEW_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
#: A driver: a built-in (`local`, `overlay`) or a plugin (`vieux/sshfs:latest`).
_DRIVER = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.:/-]{0,127}$")
MAX_OPTIONS = 64
MAX_SUBNETS = 16

# An image reference (the OCI distribution grammar): [domain[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]{{1,5}})?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"^(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$")
MAX_REFERENCE = 512


class Contains:
    """A repeated field's value for filters: ``=`` holds when one element is equal, ``:``
    when one contains the text (``matches`` compares with ``==`` and looks into ``str``)."""

    def __init__(self, values: Sequence[str]) -> None:
        self._values = tuple(values)

    def __eq__(self, other: object) -> bool:
        return other in self._values

    def __hash__(self) -> int:
        return hash(self._values)

    def __str__(self) -> str:
        return "\n".join(self._values)


def _column(item: Item[Any], field: str, key: str) -> Any:
    value = item.value
    if field == "labels":
        return value.labels.get(key)
    if field == "node":
        return f"{item.pool.name}/nodes/{value.node_id}" if value.node_id else None
    if field == "repo_tags":
        return Contains(value.repo_tags) if value.repo_tags else None
    return getattr(value, field)


_COMMON: Mapping[str, Field] = {
    "name": Field(Kind.STRING),
    "node": Field(Kind.STRING),
    "create_time": Field(Kind.TIMESTAMP),
    "labels": Field(Kind.MAP),
}
_PLACED = {**_COMMON, "driver": Field(Kind.STRING), "scope": Field(Kind.STRING)}
IMAGE_COLUMNS: Columns[ImageInfo] = Columns(
    {**_COMMON, "repo_tags": Field(Kind.STRING)}, ("name", "create_time", "size_bytes"), _column
)
VOLUME_COLUMNS: Columns[VolumeInfo] = Columns(_PLACED, ("name", "create_time"), _column)
NETWORK_COLUMNS: Columns[NetworkInfo] = Columns(_PLACED, ("name", "create_time"), _column)


def parse_child_name(name: str, collection: str, field: str = "name") -> tuple[str, str]:
    """``pools/{pool}/{collection}/{id}`` -> (pool id, id)."""
    parts = name.split("/")
    if len(parts) != 4 or parts[2] != collection or not parts[3]:
        raise InvalidArgument.field(
            field,
            f"must be pools/{{pool}}/{collection}/{{id}}",
            reason="INVALID_NAME",
            metadata={"value": name[:200]},
        )
    pool_id = validation.pool_name("/".join(parts[:2]), field)
    if not _KEY.match(parts[3]):
        raise InvalidArgument.field(
            field, f"the {collection} id is not valid", reason="INVALID_NAME", metadata={"value": name[:200]}
        )
    return pool_id, parts[3]


def node_in_pool(pool: Pool, node: str, field: str) -> str:
    """An optional ``pools/{pool}/nodes/{node}`` of the call's own pool -> the node id ("" for none)."""
    if not node:
        return ""
    pool_id, node_id = parse_node_name(node, field)
    if pool_id != pool.pool_id:
        raise InvalidArgument.field(
            field, f"names a node of another pool than {pool.name}", reason="NODE_NOT_IN_POOL"
        )
    return node_id


def new_id(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument.field(field, "is required", reason="MISSING_FIELD")
    if not _NEW_ID.match(value):
        raise InvalidArgument.field(
            field,
            "1-128 characters of [a-zA-Z0-9_.-], starting with a letter or digit",
            reason="INVALID_ID",
            metadata={"value": value[:200]},
        )
    return value


def driver_name(value: str, field: str) -> str:
    if value and not _DRIVER.match(value):
        raise InvalidArgument.field(
            field, "is not a driver name", reason="INVALID_DRIVER", metadata={"value": value[:200]}
        )
    return value


def options(values: Mapping[str, str], field: str) -> dict[str, str]:
    if len(values) > MAX_OPTIONS:
        raise InvalidArgument.field(field, f"at most {MAX_OPTIONS} options", reason="TOO_MANY_OPTIONS")
    for key in values:
        if not key or len(key) > 253 or any(c.isspace() or c == "=" for c in key):
            raise InvalidArgument.field(
                f"{field}[{key[:63]}]", "a key is 1-253 characters, no spaces or '='", reason="INVALID_OPTION"
            )
    return dict(values)


def image_reference(value: str, field: str = "image") -> str:
    if not value:
        raise InvalidArgument.field(field, "is required", reason="MISSING_FIELD")
    if len(value) > MAX_REFERENCE or not _REFERENCE.match(value):
        raise InvalidArgument.field(
            field,
            "is not an image reference: [registry[:port]/]repository[:tag][@digest], lower case",
            reason="INVALID_IMAGE_REFERENCE",
            metadata={"value": value[:200]},
        )
    return value


def registry_credentials(creds: Credentials, field: str = "credentials") -> Credentials:
    if creds.ca_pem or creds.cert_pem or creds.key_pem or creds.kubeconfig:
        raise InvalidArgument.field(
            field,
            "registry credentials are bearer_token only (a token, or user:password)",
            reason="UNSUPPORTED_CREDENTIALS",
        )
    return creds


def subnets(spec: NetworkSpec, field: str = "network") -> None:
    """Each subnet a CIDR network; gateways, at most one a subnet, in order, each inside its subnet."""
    if len(spec.subnets) > MAX_SUBNETS:
        raise InvalidArgument.field(f"{field}.subnets", f"at most {MAX_SUBNETS}", reason="TOO_MANY_SUBNETS")
    if len(spec.gateways) > len(spec.subnets):
        raise InvalidArgument.field(
            f"{field}.gateways", "one gateway a subnet at most, in the same order", reason="INVALID_GATEWAY"
        )
    nets = []
    for i, text in enumerate(spec.subnets):
        try:
            nets.append(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            raise InvalidArgument.field(
                f"{field}.subnets[{i}]", f"is not a CIDR subnet: {exc}", reason="INVALID_SUBNET"
            ) from None
    for i, (text, net) in enumerate(zip(spec.gateways, nets, strict=False)):
        try:
            inside = ipaddress.ip_address(text) in net
        except ValueError:
            inside = False
        if text and not inside:
            raise InvalidArgument.field(
                f"{field}.gateways[{i}]", f"is not an address in {net}", reason="INVALID_GATEWAY"
            )


@dataclass(frozen=True)
class _Kind:
    """How one kind of child resource is named, listed and not found."""

    collection: str  # "images"
    noun: str  # "image"
    #: The driver's operations on this kind, and an item's key within its pool.
    ops: Callable[[ClusterDriver], Any]
    key: Callable[[Any], str]

    def name(self, pool: Pool, key: str) -> str:
        return f"{pool.name}/{self.collection}/{key}"


class _Children(Generic[T]):
    """What images, volumes and networks do alike: list, resolve a name, name what is missing."""

    kind: _Kind
    columns: Columns[T]

    def __init__(self, pools: Pools) -> None:
        self._pools = pools

    async def list(
        self, *, parent: str, filter_text: str, order_by: str, page_size: int, page_token: str
    ) -> Page[T]:
        async def read(pool: Pool) -> Sequence[T]:
            return list(await self.kind.ops(self._pools.driver(pool)).list())

        return await list_children(
            self._pools.targets,
            read,
            lambda pool, item: self.kind.name(pool, self.kind.key(item)),
            self.columns,
            kind=self.kind.collection,
            parent=parent,
            filter_text=filter_text,
            order_by=order_by,
            page_size=page_size,
            page_token=page_token,
        )

    async def get(self, name: str) -> tuple[Pool, T]:
        pool, ops, key = await self._resolve(name)
        return pool, await self._named(name, ops.get(key))

    async def _resolve(self, name: str) -> tuple[Pool, Any, str]:
        """A resource name -> its pool, the pool's operations for this kind, and its key."""
        pool_id, key = parse_child_name(name, self.kind.collection)
        pool = await self._pools.get(pool_id)
        return pool, self.kind.ops(self._pools.driver(pool)), key

    async def _parent(self, parent: str) -> tuple[Pool, Any]:
        pool = await self._pools.get(validation.pool_name(parent, "parent"))
        return pool, self.kind.ops(self._pools.driver(pool))

    async def _create(
        self, parent: str, item_id: str, spec: S, node: str, *, validate_only: bool
    ) -> tuple[Pool, T]:
        """CreateVolume and CreateNetwork: the same checks of the id, driver, labels, options and node."""
        noun = self.kind.noun
        pool, ops = await self._parent(parent)
        new_id(item_id, f"{noun}_id")
        checked = replace(
            spec,
            driver=driver_name(spec.driver, f"{noun}.driver"),
            labels=validation.labels(spec.labels, f"{noun}.labels"),
            options=options(spec.options, f"{noun}.options"),
            node_id=node_in_pool(pool, node, f"{noun}.node"),
        )
        return pool, await ops.create(item_id, checked, validate_only=validate_only)

    async def _delete(self, name: str, **flags: bool) -> None:
        _, ops, key = await self._resolve(name)
        await self._named(name, ops.delete(key, **flags))

    async def _named(self, name: str, aw: Awaitable[Any]) -> Any:
        """The cluster's "no such object" as NOT_FOUND naming the resource the caller asked for."""
        try:
            return await aw
        except NotFound as exc:
            noun = self.kind.noun
            raise NotFound(
                f"{name} does not exist", reason=f"{noun.upper()}_NOT_FOUND", metadata={noun: name}
            ) from exc


class Images(_Children[ImageInfo]):
    kind = _Kind("images", "image", lambda driver: driver.images, lambda item: item.image_key)
    columns = IMAGE_COLUMNS

    async def pull(
        self, parent: str, reference: str, node: str, credentials: Credentials
    ) -> tuple[Pool, Sequence[ImageInfo]]:
        pool, ops = await self._parent(parent)
        node_id = node_in_pool(pool, node, "node")
        image_reference(reference)
        registry_credentials(credentials)
        return pool, await ops.pull(reference, node_id=node_id, credentials=credentials)

    async def delete(self, name: str, *, force: bool) -> None:
        await self._delete(name, force=force)


class Volumes(_Children[VolumeInfo]):
    kind = _Kind("volumes", "volume", lambda driver: driver.volumes, lambda item: item.volume_key)
    columns = VOLUME_COLUMNS

    async def create(
        self, parent: str, volume_id: str, spec: VolumeSpec, node: str, *, validate_only: bool
    ) -> tuple[Pool, VolumeInfo]:
        return await self._create(parent, volume_id, spec, node, validate_only=validate_only)

    async def delete(self, name: str, *, force: bool) -> None:
        await self._delete(name, force=force)


class Networks(_Children[NetworkInfo]):
    kind = _Kind("networks", "network", lambda driver: driver.networks, lambda item: item.network_key)
    columns = NETWORK_COLUMNS

    async def create(
        self, parent: str, network_id: str, spec: NetworkSpec, node: str, *, validate_only: bool
    ) -> tuple[Pool, NetworkInfo]:
        subnets(spec)
        return await self._create(parent, network_id, spec, node, validate_only=validate_only)

    async def delete(self, name: str) -> None:
        await self._delete(name)
