"""VolumeService: validate the request's shape, call the domain, convert the answer."""

from __future__ import annotations

from zanepool.v1 import volume_service_pb2 as vs
from zanepool.v1 import volume_service_pb2_grpc as vs_grpc
from zanepool_server.api.convert_storage import list_args, page_out, volume_in, volume_out
from zanepool_server.api.status import Context, unary
from zanepool_server.domain.storage import Volumes


class VolumeServicer(vs_grpc.VolumeServiceServicer):
    def __init__(self, volumes: Volumes) -> None:
        self._volumes = volumes

    @unary
    async def ListVolumes(self, request: vs.ListVolumesRequest, context: Context) -> vs.ListVolumesResponse:
        page = await self._volumes.list(**list_args(request))
        return vs.ListVolumesResponse(**page_out(page, volume_out, "volumes"))

    @unary
    async def GetVolume(self, request: vs.GetVolumeRequest, context: Context) -> vs.GetVolumeResponse:
        pool, volume = await self._volumes.get(request.name)
        return vs.GetVolumeResponse(volume=volume_out(pool.name, volume))

    @unary
    async def CreateVolume(
        self, request: vs.CreateVolumeRequest, context: Context
    ) -> vs.CreateVolumeResponse:
        pool, volume = await self._volumes.create(
            request.parent,
            request.volume_id,
            volume_in(request.volume),
            request.volume.node,
            validate_only=request.validate_only,
        )
        return vs.CreateVolumeResponse(volume=volume_out(pool.name, volume))

    @unary
    async def DeleteVolume(
        self, request: vs.DeleteVolumeRequest, context: Context
    ) -> vs.DeleteVolumeResponse:
        await self._volumes.delete(request.name, force=request.force)
        return vs.DeleteVolumeResponse()
