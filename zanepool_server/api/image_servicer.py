"""ImageService: validate the request's shape, call the domain, convert the answer."""

from __future__ import annotations

from zanepool.v1 import image_service_pb2 as ims
from zanepool.v1 import image_service_pb2_grpc as ims_grpc
from zanepool_server.api import convert
from zanepool_server.api.convert_storage import image_out, list_args, page_out
from zanepool_server.api.status import Context, unary
from zanepool_server.domain.storage import Images


class ImageServicer(ims_grpc.ImageServiceServicer):
    def __init__(self, images: Images) -> None:
        self._images = images

    @unary
    async def ListImages(self, request: ims.ListImagesRequest, context: Context) -> ims.ListImagesResponse:
        page = await self._images.list(**list_args(request))
        return ims.ListImagesResponse(**page_out(page, image_out, "images"))

    @unary
    async def GetImage(self, request: ims.GetImageRequest, context: Context) -> ims.GetImageResponse:
        pool, image = await self._images.get(request.name)
        return ims.GetImageResponse(image=image_out(pool.name, image))

    @unary
    async def PullImage(self, request: ims.PullImageRequest, context: Context) -> ims.PullImageResponse:
        pool, images = await self._images.pull(
            request.parent, request.image, request.node, convert.credentials_in(request.credentials)
        )
        return ims.PullImageResponse(images=[image_out(pool.name, i) for i in images])

    @unary
    async def DeleteImage(self, request: ims.DeleteImageRequest, context: Context) -> ims.DeleteImageResponse:
        await self._images.delete(request.name, force=request.force)
        return ims.DeleteImageResponse()
