"""The typed facade of every zanepool.v1 RPC (written by zanepool_client._codegen; DO NOT EDIT)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Unpack

from google.protobuf import field_mask_pb2, timestamp_pb2

from zanepool.v1 import (
    container_service_pb2,
    event_service_pb2,
    image_service_pb2,
    log_service_pb2,
    network_service_pb2,
    node_service_pb2,
    pool_service_pb2,
    resources_pb2,
    volume_service_pb2,
)
from zanepool_client.methods import CallOptions, Rpc, StreamOptions, build, paged, streamed, unary


class RegisterPoolArgs(CallOptions, total=False):
    pool_id: str | None
    pool: resources_pb2.Pool | None
    validate_only: bool | None


class CreatePoolArgs(CallOptions, total=False):
    pool_id: str | None
    pool: resources_pb2.Pool | None
    engines: Iterable[resources_pb2.Engine] | None
    validate_only: bool | None


class GetPoolArgs(CallOptions, total=False):
    name: str | None
    view: resources_pb2.PoolView.ValueType | None


class ListPoolsArgs(CallOptions, total=False):
    page_size: int | None
    page_token: str | None
    filter: str | None
    order_by: str | None


class UpdatePoolArgs(CallOptions, total=False):
    pool: resources_pb2.Pool | None
    update_mask: field_mask_pb2.FieldMask | Iterable[str] | None


class DeletePoolArgs(CallOptions, total=False):
    name: str | None
    etag: str | None


class NameArgs(CallOptions, total=False):
    name: str | None


RefreshPoolArgs = NameArgs


class ListContainersArgs(CallOptions, total=False):
    parent: str | None
    page_size: int | None
    page_token: str | None
    filter: str | None
    order_by: str | None


GetContainerArgs = NameArgs


class CreateContainerArgs(CallOptions, total=False):
    parent: str | None
    container_id: str | None
    container: resources_pb2.Container | None
    validate_only: bool | None


StartContainerArgs = NameArgs


class NameTimeoutSecondsArgs(CallOptions, total=False):
    name: str | None
    timeout_seconds: int | None


StopContainerArgs = NameTimeoutSecondsArgs

RestartContainerArgs = NameTimeoutSecondsArgs


class DeleteContainerArgs(CallOptions, total=False):
    name: str | None
    force: bool | None
    grace_period_seconds: int | None


class WatchEventsArgs(StreamOptions, total=False):
    parent: str | None
    filter: str | None
    since_time: timestamp_pb2.Timestamp | datetime.datetime | None
    resume_token: str | None


ListImagesArgs = ListContainersArgs

GetImageArgs = NameArgs


class PullImageArgs(CallOptions, total=False):
    parent: str | None
    image: str | None
    node: str | None
    credentials: resources_pb2.Credentials | None


class NameForceArgs(CallOptions, total=False):
    name: str | None
    force: bool | None


DeleteImageArgs = NameForceArgs


class StreamLogsArgs(StreamOptions, total=False):
    parent: str | None
    filter: str | None
    since_time: timestamp_pb2.Timestamp | datetime.datetime | None
    tail_lines: int | None
    follow: bool | None
    timestamps: bool | None
    resume_token: str | None
    max_batch_lines: int | None


ListNetworksArgs = ListContainersArgs

GetNetworkArgs = NameArgs


class CreateNetworkArgs(CallOptions, total=False):
    parent: str | None
    network_id: str | None
    network: resources_pb2.Network | None
    validate_only: bool | None


DeleteNetworkArgs = NameArgs

ListNodesArgs = ListContainersArgs

GetNodeArgs = NameArgs


class UpdateNodeArgs(CallOptions, total=False):
    node: resources_pb2.Node | None
    update_mask: field_mask_pb2.FieldMask | Iterable[str] | None


class ImportNodeArgs(CallOptions, total=False):
    parent: str | None
    engine: resources_pb2.Engine | None


class RemoveNodeArgs(CallOptions, total=False):
    name: str | None
    force: bool | None
    drain: bool | None


ListVolumesArgs = ListContainersArgs

GetVolumeArgs = NameArgs


class CreateVolumeArgs(CallOptions, total=False):
    parent: str | None
    volume_id: str | None
    volume: resources_pb2.Volume | None
    validate_only: bool | None


DeleteVolumeArgs = NameForceArgs

REGISTER_POOL = Rpc(
    "/zanepool.v1.PoolService/RegisterPool",
    pool_service_pb2.RegisterPoolRequest,
    pool_service_pb2.RegisterPoolResponse,
)
CREATE_POOL = Rpc(
    "/zanepool.v1.PoolService/CreatePool",
    pool_service_pb2.CreatePoolRequest,
    pool_service_pb2.CreatePoolResponse,
)
GET_POOL = Rpc(
    "/zanepool.v1.PoolService/GetPool", pool_service_pb2.GetPoolRequest, pool_service_pb2.GetPoolResponse
)
LIST_POOLS = Rpc(
    "/zanepool.v1.PoolService/ListPools",
    pool_service_pb2.ListPoolsRequest,
    pool_service_pb2.ListPoolsResponse,
)
UPDATE_POOL = Rpc(
    "/zanepool.v1.PoolService/UpdatePool",
    pool_service_pb2.UpdatePoolRequest,
    pool_service_pb2.UpdatePoolResponse,
)
DELETE_POOL = Rpc(
    "/zanepool.v1.PoolService/DeletePool",
    pool_service_pb2.DeletePoolRequest,
    pool_service_pb2.DeletePoolResponse,
)
REFRESH_POOL = Rpc(
    "/zanepool.v1.PoolService/RefreshPool",
    pool_service_pb2.RefreshPoolRequest,
    pool_service_pb2.RefreshPoolResponse,
)
LIST_CONTAINERS = Rpc(
    "/zanepool.v1.ContainerService/ListContainers",
    container_service_pb2.ListContainersRequest,
    container_service_pb2.ListContainersResponse,
)
GET_CONTAINER = Rpc(
    "/zanepool.v1.ContainerService/GetContainer",
    container_service_pb2.GetContainerRequest,
    container_service_pb2.GetContainerResponse,
)
CREATE_CONTAINER = Rpc(
    "/zanepool.v1.ContainerService/CreateContainer",
    container_service_pb2.CreateContainerRequest,
    container_service_pb2.CreateContainerResponse,
)
START_CONTAINER = Rpc(
    "/zanepool.v1.ContainerService/StartContainer",
    container_service_pb2.StartContainerRequest,
    container_service_pb2.StartContainerResponse,
)
STOP_CONTAINER = Rpc(
    "/zanepool.v1.ContainerService/StopContainer",
    container_service_pb2.StopContainerRequest,
    container_service_pb2.StopContainerResponse,
)
RESTART_CONTAINER = Rpc(
    "/zanepool.v1.ContainerService/RestartContainer",
    container_service_pb2.RestartContainerRequest,
    container_service_pb2.RestartContainerResponse,
)
DELETE_CONTAINER = Rpc(
    "/zanepool.v1.ContainerService/DeleteContainer",
    container_service_pb2.DeleteContainerRequest,
    container_service_pb2.DeleteContainerResponse,
)
WATCH_EVENTS = Rpc(
    "/zanepool.v1.EventService/WatchEvents",
    event_service_pb2.WatchEventsRequest,
    event_service_pb2.WatchEventsResponse,
)
LIST_IMAGES = Rpc(
    "/zanepool.v1.ImageService/ListImages",
    image_service_pb2.ListImagesRequest,
    image_service_pb2.ListImagesResponse,
)
GET_IMAGE = Rpc(
    "/zanepool.v1.ImageService/GetImage",
    image_service_pb2.GetImageRequest,
    image_service_pb2.GetImageResponse,
)
PULL_IMAGE = Rpc(
    "/zanepool.v1.ImageService/PullImage",
    image_service_pb2.PullImageRequest,
    image_service_pb2.PullImageResponse,
)
DELETE_IMAGE = Rpc(
    "/zanepool.v1.ImageService/DeleteImage",
    image_service_pb2.DeleteImageRequest,
    image_service_pb2.DeleteImageResponse,
)
STREAM_LOGS = Rpc(
    "/zanepool.v1.LogService/StreamLogs",
    log_service_pb2.StreamLogsRequest,
    log_service_pb2.StreamLogsResponse,
)
LIST_NETWORKS = Rpc(
    "/zanepool.v1.NetworkService/ListNetworks",
    network_service_pb2.ListNetworksRequest,
    network_service_pb2.ListNetworksResponse,
)
GET_NETWORK = Rpc(
    "/zanepool.v1.NetworkService/GetNetwork",
    network_service_pb2.GetNetworkRequest,
    network_service_pb2.GetNetworkResponse,
)
CREATE_NETWORK = Rpc(
    "/zanepool.v1.NetworkService/CreateNetwork",
    network_service_pb2.CreateNetworkRequest,
    network_service_pb2.CreateNetworkResponse,
)
DELETE_NETWORK = Rpc(
    "/zanepool.v1.NetworkService/DeleteNetwork",
    network_service_pb2.DeleteNetworkRequest,
    network_service_pb2.DeleteNetworkResponse,
)
LIST_NODES = Rpc(
    "/zanepool.v1.NodeService/ListNodes",
    node_service_pb2.ListNodesRequest,
    node_service_pb2.ListNodesResponse,
)
GET_NODE = Rpc(
    "/zanepool.v1.NodeService/GetNode", node_service_pb2.GetNodeRequest, node_service_pb2.GetNodeResponse
)
UPDATE_NODE = Rpc(
    "/zanepool.v1.NodeService/UpdateNode",
    node_service_pb2.UpdateNodeRequest,
    node_service_pb2.UpdateNodeResponse,
)
IMPORT_NODE = Rpc(
    "/zanepool.v1.NodeService/ImportNode",
    node_service_pb2.ImportNodeRequest,
    node_service_pb2.ImportNodeResponse,
)
REMOVE_NODE = Rpc(
    "/zanepool.v1.NodeService/RemoveNode",
    node_service_pb2.RemoveNodeRequest,
    node_service_pb2.RemoveNodeResponse,
)
LIST_VOLUMES = Rpc(
    "/zanepool.v1.VolumeService/ListVolumes",
    volume_service_pb2.ListVolumesRequest,
    volume_service_pb2.ListVolumesResponse,
)
GET_VOLUME = Rpc(
    "/zanepool.v1.VolumeService/GetVolume",
    volume_service_pb2.GetVolumeRequest,
    volume_service_pb2.GetVolumeResponse,
)
CREATE_VOLUME = Rpc(
    "/zanepool.v1.VolumeService/CreateVolume",
    volume_service_pb2.CreateVolumeRequest,
    volume_service_pb2.CreateVolumeResponse,
)
DELETE_VOLUME = Rpc(
    "/zanepool.v1.VolumeService/DeleteVolume",
    volume_service_pb2.DeleteVolumeRequest,
    volume_service_pb2.DeleteVolumeResponse,
)


def _register_pool(
    request: pool_service_pb2.RegisterPoolRequest | None = None, /, **fields: Unpack[RegisterPoolArgs]
) -> pool_service_pb2.RegisterPoolRequest:
    return build(pool_service_pb2.RegisterPoolRequest, request, fields)


def _create_pool(
    request: pool_service_pb2.CreatePoolRequest | None = None, /, **fields: Unpack[CreatePoolArgs]
) -> pool_service_pb2.CreatePoolRequest:
    return build(pool_service_pb2.CreatePoolRequest, request, fields)


def _get_pool(
    request: pool_service_pb2.GetPoolRequest | None = None, /, **fields: Unpack[GetPoolArgs]
) -> pool_service_pb2.GetPoolRequest:
    return build(pool_service_pb2.GetPoolRequest, request, fields)


def _list_pools(
    request: pool_service_pb2.ListPoolsRequest | None = None, /, **fields: Unpack[ListPoolsArgs]
) -> pool_service_pb2.ListPoolsRequest:
    return build(pool_service_pb2.ListPoolsRequest, request, fields)


def _update_pool(
    request: pool_service_pb2.UpdatePoolRequest | None = None, /, **fields: Unpack[UpdatePoolArgs]
) -> pool_service_pb2.UpdatePoolRequest:
    return build(pool_service_pb2.UpdatePoolRequest, request, fields)


def _delete_pool(
    request: pool_service_pb2.DeletePoolRequest | None = None, /, **fields: Unpack[DeletePoolArgs]
) -> pool_service_pb2.DeletePoolRequest:
    return build(pool_service_pb2.DeletePoolRequest, request, fields)


def _refresh_pool(
    request: pool_service_pb2.RefreshPoolRequest | None = None, /, **fields: Unpack[RefreshPoolArgs]
) -> pool_service_pb2.RefreshPoolRequest:
    return build(pool_service_pb2.RefreshPoolRequest, request, fields)


def _list_containers(
    request: container_service_pb2.ListContainersRequest | None = None,
    /,
    **fields: Unpack[ListContainersArgs],
) -> container_service_pb2.ListContainersRequest:
    return build(container_service_pb2.ListContainersRequest, request, fields)


def _get_container(
    request: container_service_pb2.GetContainerRequest | None = None, /, **fields: Unpack[GetContainerArgs]
) -> container_service_pb2.GetContainerRequest:
    return build(container_service_pb2.GetContainerRequest, request, fields)


def _create_container(
    request: container_service_pb2.CreateContainerRequest | None = None,
    /,
    **fields: Unpack[CreateContainerArgs],
) -> container_service_pb2.CreateContainerRequest:
    return build(container_service_pb2.CreateContainerRequest, request, fields)


def _start_container(
    request: container_service_pb2.StartContainerRequest | None = None,
    /,
    **fields: Unpack[StartContainerArgs],
) -> container_service_pb2.StartContainerRequest:
    return build(container_service_pb2.StartContainerRequest, request, fields)


def _stop_container(
    request: container_service_pb2.StopContainerRequest | None = None, /, **fields: Unpack[StopContainerArgs]
) -> container_service_pb2.StopContainerRequest:
    return build(container_service_pb2.StopContainerRequest, request, fields)


def _restart_container(
    request: container_service_pb2.RestartContainerRequest | None = None,
    /,
    **fields: Unpack[RestartContainerArgs],
) -> container_service_pb2.RestartContainerRequest:
    return build(container_service_pb2.RestartContainerRequest, request, fields)


def _delete_container(
    request: container_service_pb2.DeleteContainerRequest | None = None,
    /,
    **fields: Unpack[DeleteContainerArgs],
) -> container_service_pb2.DeleteContainerRequest:
    return build(container_service_pb2.DeleteContainerRequest, request, fields)


def _watch_events(
    request: event_service_pb2.WatchEventsRequest | None = None, /, **fields: Unpack[WatchEventsArgs]
) -> event_service_pb2.WatchEventsRequest:
    return build(event_service_pb2.WatchEventsRequest, request, fields)


def _list_images(
    request: image_service_pb2.ListImagesRequest | None = None, /, **fields: Unpack[ListImagesArgs]
) -> image_service_pb2.ListImagesRequest:
    return build(image_service_pb2.ListImagesRequest, request, fields)


def _get_image(
    request: image_service_pb2.GetImageRequest | None = None, /, **fields: Unpack[GetImageArgs]
) -> image_service_pb2.GetImageRequest:
    return build(image_service_pb2.GetImageRequest, request, fields)


def _pull_image(
    request: image_service_pb2.PullImageRequest | None = None, /, **fields: Unpack[PullImageArgs]
) -> image_service_pb2.PullImageRequest:
    return build(image_service_pb2.PullImageRequest, request, fields)


def _delete_image(
    request: image_service_pb2.DeleteImageRequest | None = None, /, **fields: Unpack[DeleteImageArgs]
) -> image_service_pb2.DeleteImageRequest:
    return build(image_service_pb2.DeleteImageRequest, request, fields)


def _stream_logs(
    request: log_service_pb2.StreamLogsRequest | None = None, /, **fields: Unpack[StreamLogsArgs]
) -> log_service_pb2.StreamLogsRequest:
    return build(log_service_pb2.StreamLogsRequest, request, fields)


def _list_networks(
    request: network_service_pb2.ListNetworksRequest | None = None, /, **fields: Unpack[ListNetworksArgs]
) -> network_service_pb2.ListNetworksRequest:
    return build(network_service_pb2.ListNetworksRequest, request, fields)


def _get_network(
    request: network_service_pb2.GetNetworkRequest | None = None, /, **fields: Unpack[GetNetworkArgs]
) -> network_service_pb2.GetNetworkRequest:
    return build(network_service_pb2.GetNetworkRequest, request, fields)


def _create_network(
    request: network_service_pb2.CreateNetworkRequest | None = None, /, **fields: Unpack[CreateNetworkArgs]
) -> network_service_pb2.CreateNetworkRequest:
    return build(network_service_pb2.CreateNetworkRequest, request, fields)


def _delete_network(
    request: network_service_pb2.DeleteNetworkRequest | None = None, /, **fields: Unpack[DeleteNetworkArgs]
) -> network_service_pb2.DeleteNetworkRequest:
    return build(network_service_pb2.DeleteNetworkRequest, request, fields)


def _list_nodes(
    request: node_service_pb2.ListNodesRequest | None = None, /, **fields: Unpack[ListNodesArgs]
) -> node_service_pb2.ListNodesRequest:
    return build(node_service_pb2.ListNodesRequest, request, fields)


def _get_node(
    request: node_service_pb2.GetNodeRequest | None = None, /, **fields: Unpack[GetNodeArgs]
) -> node_service_pb2.GetNodeRequest:
    return build(node_service_pb2.GetNodeRequest, request, fields)


def _update_node(
    request: node_service_pb2.UpdateNodeRequest | None = None, /, **fields: Unpack[UpdateNodeArgs]
) -> node_service_pb2.UpdateNodeRequest:
    return build(node_service_pb2.UpdateNodeRequest, request, fields)


def _import_node(
    request: node_service_pb2.ImportNodeRequest | None = None, /, **fields: Unpack[ImportNodeArgs]
) -> node_service_pb2.ImportNodeRequest:
    return build(node_service_pb2.ImportNodeRequest, request, fields)


def _remove_node(
    request: node_service_pb2.RemoveNodeRequest | None = None, /, **fields: Unpack[RemoveNodeArgs]
) -> node_service_pb2.RemoveNodeRequest:
    return build(node_service_pb2.RemoveNodeRequest, request, fields)


def _list_volumes(
    request: volume_service_pb2.ListVolumesRequest | None = None, /, **fields: Unpack[ListVolumesArgs]
) -> volume_service_pb2.ListVolumesRequest:
    return build(volume_service_pb2.ListVolumesRequest, request, fields)


def _get_volume(
    request: volume_service_pb2.GetVolumeRequest | None = None, /, **fields: Unpack[GetVolumeArgs]
) -> volume_service_pb2.GetVolumeRequest:
    return build(volume_service_pb2.GetVolumeRequest, request, fields)


def _create_volume(
    request: volume_service_pb2.CreateVolumeRequest | None = None, /, **fields: Unpack[CreateVolumeArgs]
) -> volume_service_pb2.CreateVolumeRequest:
    return build(volume_service_pb2.CreateVolumeRequest, request, fields)


def _delete_volume(
    request: volume_service_pb2.DeleteVolumeRequest | None = None, /, **fields: Unpack[DeleteVolumeArgs]
) -> volume_service_pb2.DeleteVolumeRequest:
    return build(volume_service_pb2.DeleteVolumeRequest, request, fields)


class Api:
    """One method per RPC, shared by the async and the sync client (see zanepool_client.methods)."""

    # PoolService
    register_pool = unary(REGISTER_POOL, _register_pool, lambda r: r.pool)
    create_pool = unary(CREATE_POOL, _create_pool, lambda r: r.pool)
    get_pool = unary(GET_POOL, _get_pool, lambda r: r.pool)
    list_pools = paged(LIST_POOLS, _list_pools, lambda r: r.pools)
    list_pools_page = unary(LIST_POOLS, _list_pools, lambda r: r)
    update_pool = unary(UPDATE_POOL, _update_pool, lambda r: r.pool)
    delete_pool = unary(DELETE_POOL, _delete_pool, lambda _: None)
    refresh_pool = unary(REFRESH_POOL, _refresh_pool, lambda r: r.pool)

    # ContainerService
    list_containers = paged(LIST_CONTAINERS, _list_containers, lambda r: r.containers)
    list_containers_page = unary(LIST_CONTAINERS, _list_containers, lambda r: r)
    get_container = unary(GET_CONTAINER, _get_container, lambda r: r.container)
    create_container = unary(CREATE_CONTAINER, _create_container, lambda r: r.container)
    start_container = unary(START_CONTAINER, _start_container, lambda r: r.container)
    stop_container = unary(STOP_CONTAINER, _stop_container, lambda r: r.container)
    restart_container = unary(RESTART_CONTAINER, _restart_container, lambda r: r.container)
    delete_container = unary(DELETE_CONTAINER, _delete_container, lambda _: None)

    # EventService
    watch_events = streamed(WATCH_EVENTS, _watch_events)

    # ImageService
    list_images = paged(LIST_IMAGES, _list_images, lambda r: r.images)
    list_images_page = unary(LIST_IMAGES, _list_images, lambda r: r)
    get_image = unary(GET_IMAGE, _get_image, lambda r: r.image)
    pull_image = unary(PULL_IMAGE, _pull_image, lambda r: r)
    delete_image = unary(DELETE_IMAGE, _delete_image, lambda _: None)

    # LogService
    stream_logs = streamed(STREAM_LOGS, _stream_logs)

    # NetworkService
    list_networks = paged(LIST_NETWORKS, _list_networks, lambda r: r.networks)
    list_networks_page = unary(LIST_NETWORKS, _list_networks, lambda r: r)
    get_network = unary(GET_NETWORK, _get_network, lambda r: r.network)
    create_network = unary(CREATE_NETWORK, _create_network, lambda r: r.network)
    delete_network = unary(DELETE_NETWORK, _delete_network, lambda _: None)

    # NodeService
    list_nodes = paged(LIST_NODES, _list_nodes, lambda r: r.nodes)
    list_nodes_page = unary(LIST_NODES, _list_nodes, lambda r: r)
    get_node = unary(GET_NODE, _get_node, lambda r: r.node)
    update_node = unary(UPDATE_NODE, _update_node, lambda r: r.node)
    import_node = unary(IMPORT_NODE, _import_node, lambda r: r.node)
    remove_node = unary(REMOVE_NODE, _remove_node, lambda _: None)

    # VolumeService
    list_volumes = paged(LIST_VOLUMES, _list_volumes, lambda r: r.volumes)
    list_volumes_page = unary(LIST_VOLUMES, _list_volumes, lambda r: r)
    get_volume = unary(GET_VOLUME, _get_volume, lambda r: r.volume)
    create_volume = unary(CREATE_VOLUME, _create_volume, lambda r: r.volume)
    delete_volume = unary(DELETE_VOLUME, _delete_volume, lambda _: None)
