"""NodeService: validate the request's shape, call the domain, convert the answer."""

from __future__ import annotations

from zanepool.v1 import node_service_pb2 as ns
from zanepool.v1 import node_service_pb2_grpc as ns_grpc
from zanepool_server.api import convert
from zanepool_server.api.status import Context, unary
from zanepool_server.domain.nodes import Nodes
from zanepool_server.errors import InvalidArgument


class NodeServicer(ns_grpc.NodeServiceServicer):
    def __init__(self, nodes: Nodes) -> None:
        self._nodes = nodes

    @unary
    async def ListNodes(self, request: ns.ListNodesRequest, context: Context) -> ns.ListNodesResponse:
        page = await self._nodes.list(
            parent=request.parent,
            filter_text=request.filter,
            order_by=request.order_by,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return ns.ListNodesResponse(
            nodes=[convert.node_out(i.pool.name, i.value) for i in page.items],
            next_page_token=page.next_page_token,
            unreachable=page.unreachable,
        )

    @unary
    async def GetNode(self, request: ns.GetNodeRequest, context: Context) -> ns.GetNodeResponse:
        pool, node = await self._nodes.get(request.name)
        return ns.GetNodeResponse(node=convert.node_out(pool.name, node))

    @unary
    async def UpdateNode(self, request: ns.UpdateNodeRequest, context: Context) -> ns.UpdateNodeResponse:
        if not request.HasField("node"):
            raise InvalidArgument.field("node", "is required", reason="MISSING_FIELD")
        pool, node = await self._nodes.update(
            request.node.name,
            tuple(request.update_mask.paths),
            convert.node_in(request.node),
            request.node.etag,
        )
        return ns.UpdateNodeResponse(node=convert.node_out(pool.name, node))

    @unary
    async def ImportNode(self, request: ns.ImportNodeRequest, context: Context) -> ns.ImportNodeResponse:
        if not request.HasField("engine"):
            raise InvalidArgument.field("engine", "is required", reason="MISSING_FIELD")
        pool, node = await self._nodes.import_node(request.parent, convert.engine_in(request.engine))
        return ns.ImportNodeResponse(node=convert.node_out(pool.name, node))

    @unary
    async def RemoveNode(self, request: ns.RemoveNodeRequest, context: Context) -> ns.RemoveNodeResponse:
        await self._nodes.remove(request.name, force=request.force, drain=request.drain)
        return ns.RemoveNodeResponse()
