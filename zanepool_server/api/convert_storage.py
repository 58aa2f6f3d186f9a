"""Conversion of images, volumes and networks between the wire types and the domain's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from google.protobuf.message import Message

from zanepool.v1 import resources_pb2 as pb
from zanepool_server.api.convert import timestamp
from zanepool_server.domain.listing import Page
from zanepool_server.model import ImageInfo, NetworkInfo, NetworkSpec, VolumeInfo, VolumeSpec

T = TypeVar("T")


class ListRequest(Protocol):
    """What every List request of a pool's children carries."""

    parent: str
    filter: str
    order_by: str
    page_size: int
    page_token: str


def list_args(request: ListRequest) -> dict[str, Any]:
    """A List request's fields as the domain's ``list`` takes them."""
    return {
        "parent": request.parent,
        "filter_text": request.filter,
        "order_by": request.order_by,
        "page_size": request.page_size,
        "page_token": request.page_token,
    }


def page_out(page: Page[T], out: Callable[[str, T], Message], field: str) -> dict[str, Any]:
    """A List response's fields: one page of items under ``field``, its token, the pools that failed."""
    return {
        field: [out(i.pool.name, i.value) for i in page.items],
        "next_page_token": page.next_page_token,
        "unreachable": page.unreachable,
    }


def node_name(pool_name: str, node_id: str) -> str:
    return f"{pool_name}/nodes/{node_id}" if node_id else ""


def image_out(pool_name: str, image: ImageInfo) -> pb.Image:
    return pb.Image(
        name=f"{pool_name}/images/{image.image_key}",
        image_id=image.image_id,
        repo_tags=image.repo_tags,
        repo_digests=image.repo_digests,
        size_bytes=image.size_bytes,
        node=node_name(pool_name, image.node_id),
        create_time=timestamp(image.create_time),
        labels=image.labels,
        containers=image.containers,
    )


def volume_in(msg: pb.Volume) -> VolumeSpec:
    """The settable fields of a Volume; its node (a resource name) is the domain's to resolve."""
    return VolumeSpec(
        driver=msg.driver,
        labels=dict(msg.labels),
        options=dict(msg.options),
        capacity_bytes=msg.capacity_bytes,
        access_modes=tuple(msg.access_modes),
        namespace=msg.namespace,
    )


def volume_out(pool_name: str, volume: VolumeInfo) -> pb.Volume:
    return pb.Volume(
        name=f"{pool_name}/volumes/{volume.volume_key}",
        driver=volume.driver,
        node=node_name(pool_name, volume.node_id),
        labels=volume.labels,
        mountpoint=volume.mountpoint,
        scope=volume.scope,
        create_time=timestamp(volume.create_time),
        options=volume.options,
        capacity_bytes=volume.capacity_bytes,
        access_modes=volume.access_modes,
        status=volume.status,
        namespace=volume.namespace,
        kind=volume.kind,
    )


def network_in(msg: pb.Network) -> NetworkSpec:
    """The settable fields of a Network; its node (a resource name) is the domain's to resolve."""
    return NetworkSpec(
        driver=msg.driver,
        labels=dict(msg.labels),
        subnets=tuple(msg.subnets),
        gateways=tuple(msg.gateways),
        attachable=msg.attachable,
        internal=msg.internal,
        options=dict(msg.options),
    )


def network_out(pool_name: str, network: NetworkInfo) -> pb.Network:
    return pb.Network(
        name=f"{pool_name}/networks/{network.network_key}",
        network_id=network.network_id,
        driver=network.driver,
        scope=network.scope,
        labels=network.labels,
        subnets=network.subnets,
        gateways=network.gateways,
        attachable=network.attachable,
        internal=network.internal,
        create_time=timestamp(network.create_time),
        node=node_name(pool_name, network.node_id),
        options=network.options,
    )
