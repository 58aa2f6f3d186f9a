"""PoolService: validate the request's shape, call the domain, convert the answer."""

from __future__ import annotations

from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import pool_service_pb2_grpc as ps_grpc
from zanepool.v1 import resources_pb2 as pb
from zanepool_server.api import convert
from zanepool_server.api.status import Context, unary
from zanepool_server.domain import validation
from zanepool_server.domain.pools import PoolPatch, Pools
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import Pool

#: Converted pools kept for reuse (a few MB at most).
RENDERED_MAX = 10_000
_VIEWS = (pb.POOL_VIEW_UNSPECIFIED, pb.POOL_VIEW_BASIC, pb.POOL_VIEW_FULL)


class PoolServicer(ps_grpc.PoolServiceServicer):
    def __init__(self, pools: Pools) -> None:
        self._pools = pools
        self._rendered: dict[tuple[object, ...], pb.Pool] = {}

    def _out(self, pool: Pool, *, with_nodes: bool = False) -> pb.Pool:
        if with_nodes:  # the FULL view is live: nothing to reuse
            return convert.pool_out(pool, self._pools.capabilities(pool.driver), with_nodes=True)
        # Reads repeat far more often than pools change: convert each version of a pool once.
        # A version is its etag (the caller's fields) plus what the last sync stored.
        key = (pool.pool_id, pool.uid, pool.etag, pool.last_sync_time, pool.state, pool.state_message)
        message = self._rendered.get(key)
        if message is None:
            if len(self._rendered) >= RENDERED_MAX:
                self._rendered.clear()
            message = self._rendered[key] = convert.pool_out(pool, self._pools.capabilities(pool.driver))
        return message

    @unary
    async def RegisterPool(
        self, request: ps.RegisterPoolRequest, context: Context
    ) -> ps.RegisterPoolResponse:
        validation.pool_id(request.pool_id)
        if not request.HasField("pool"):
            raise InvalidArgument.field("pool", "is required", reason="MISSING_FIELD")
        draft = convert.draft_in(request.pool, convert.driver_in(request.pool.driver))
        pool = await self._pools.register(request.pool_id, draft, validate_only=request.validate_only)
        return ps.RegisterPoolResponse(pool=self._out(pool))

    @unary
    async def CreatePool(self, request: ps.CreatePoolRequest, context: Context) -> ps.CreatePoolResponse:
        validation.pool_id(request.pool_id)
        if not request.HasField("pool"):
            raise InvalidArgument.field("pool", "is required", reason="MISSING_FIELD")
        draft = convert.draft_in(request.pool, convert.driver_in(request.pool.driver))
        engines = [convert.engine_in(e, f"engines[{i}]") for i, e in enumerate(request.engines)]
        pool = await self._pools.create(request.pool_id, draft, engines, validate_only=request.validate_only)
        return ps.CreatePoolResponse(pool=self._out(pool))

    @unary
    async def GetPool(self, request: ps.GetPoolRequest, context: Context) -> ps.GetPoolResponse:
        pool_id = validation.pool_name(request.name)
        if request.view not in _VIEWS:
            raise InvalidArgument.field(
                "view",
                f"{request.view} is not a PoolView",
                reason="INVALID_ENUM_VALUE",
                metadata={"value": request.view},
            )
        if request.view == pb.POOL_VIEW_FULL:
            return ps.GetPoolResponse(pool=self._out(await self._pools.get_full(pool_id), with_nodes=True))
        return ps.GetPoolResponse(pool=self._out(await self._pools.get(pool_id)))

    @unary
    async def ListPools(self, request: ps.ListPoolsRequest, context: Context) -> ps.ListPoolsResponse:
        page = await self._pools.list(
            filter_text=request.filter,
            order_by=request.order_by,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return ps.ListPoolsResponse(
            pools=[self._out(p) for p in page.pools], next_page_token=page.next_page_token
        )

    @unary
    async def UpdatePool(self, request: ps.UpdatePoolRequest, context: Context) -> ps.UpdatePoolResponse:
        if not request.HasField("pool"):
            raise InvalidArgument.field("pool", "is required", reason="MISSING_FIELD")
        pool_id = validation.pool_name(request.pool.name, "pool.name")
        current = await self._pools.get(pool_id)
        if request.pool.driver not in (pb.DRIVER_UNSPECIFIED, convert.DRIVERS_OUT[current.driver]):
            raise InvalidArgument.field("pool.driver", "is immutable", reason="FIELD_NOT_MUTABLE")
        patch = PoolPatch(
            paths=tuple(request.update_mask.paths),
            values=convert.draft_in(request.pool, current.driver),
            etag=request.pool.etag,
        )
        return ps.UpdatePoolResponse(pool=self._out(await self._pools.update(pool_id, patch)))

    @unary
    async def DeletePool(self, request: ps.DeletePoolRequest, context: Context) -> ps.DeletePoolResponse:
        await self._pools.delete(validation.pool_name(request.name), request.etag)
        return ps.DeletePoolResponse()

    @unary
    async def RefreshPool(self, request: ps.RefreshPoolRequest, context: Context) -> ps.RefreshPoolResponse:
        pool = await self._pools.refresh(validation.pool_name(request.name))
        return ps.RefreshPoolResponse(pool=self._out(pool, with_nodes=True))
