"""NetworkService: validate the request's shape, call the domain, convert the answer."""

from __future__ import annotations

from zanepool.v1 import network_service_pb2 as ns
from zanepool.v1 import network_service_pb2_grpc as ns_grpc
from zanepool_server.api.convert_storage import list_args, network_in, network_out, page_out
from zanepool_server.api.status import Context, unary
from zanepool_server.domain.storage import Networks


class NetworkServicer(ns_grpc.NetworkServiceServicer):
    def __init__(self, networks: Networks) -> None:
        self._networks = networks

    @unary
    async def ListNetworks(
        self, request: ns.ListNetworksRequest, context: Context
    ) -> ns.ListNetworksResponse:
        page = await self._networks.list(**list_args(request))
        return ns.ListNetworksResponse(**page_out(page, network_out, "networks"))

    @unary
    async def GetNetwork(self, request: ns.GetNetworkRequest, context: Context) -> ns.GetNetworkResponse:
        pool, network = await self._networks.get(request.name)
        return ns.GetNetworkResponse(network=network_out(pool.name, network))

    @unary
    async def CreateNetwork(
        self, request: ns.CreateNetworkRequest, context: Context
    ) -> ns.CreateNetworkResponse:
        pool, network = await self._networks.create(
            request.parent,
            request.network_id,
            network_in(request.network),
            request.network.node,
            validate_only=request.validate_only,
        )
        return ns.CreateNetworkResponse(network=network_out(pool.name, network))

    @unary
    async def DeleteNetwork(
        self, request: ns.DeleteNetworkRequest, context: Context
    ) -> ns.DeleteNetworkResponse:
        await self._networks.delete(request.name)
        return ns.DeleteNetworkResponse()
