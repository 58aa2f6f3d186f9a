"""ContainerService: validate the request's shape, call the domain, convert the answer."""

from __future__ import annotations

from zanepool.v1 import container_service_pb2 as cs
from zanepool.v1 import container_service_pb2_grpc as cs_grpc
from zanepool.v1 import resources_pb2 as pb
from zanepool_server.api.convert_containers import container_out, spec_in
from zanepool_server.api.convert_storage import list_args, page_out
from zanepool_server.api.status import Context, unary
from zanepool_server.domain.containers import Containers
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import ContainerInfo, Pool


def _out(answer: tuple[Pool, ContainerInfo]) -> pb.Container:
    pool, container = answer
    return container_out(pool.name, container)


class ContainerServicer(cs_grpc.ContainerServiceServicer):
    def __init__(self, containers: Containers) -> None:
        self._containers = containers

    @unary
    async def ListContainers(
        self, request: cs.ListContainersRequest, context: Context
    ) -> cs.ListContainersResponse:
        page = await self._containers.list(**list_args(request))
        return cs.ListContainersResponse(**page_out(page, container_out, "containers"))

    @unary
    async def GetContainer(
        self, request: cs.GetContainerRequest, context: Context
    ) -> cs.GetContainerResponse:
        return cs.GetContainerResponse(container=_out(await self._containers.get(request.name)))

    @unary
    async def CreateContainer(
        self, request: cs.CreateContainerRequest, context: Context
    ) -> cs.CreateContainerResponse:
        if not request.HasField("container"):
            raise InvalidArgument.field("container", "is required", reason="MISSING_FIELD")
        spec = spec_in(request.container)
        created = await self._containers.create(
            request.parent, request.container_id, spec, validate_only=request.validate_only
        )
        return cs.CreateContainerResponse(container=_out(created))

    @unary
    async def StartContainer(
        self, request: cs.StartContainerRequest, context: Context
    ) -> cs.StartContainerResponse:
        return cs.StartContainerResponse(container=_out(await self._containers.start(request.name)))

    @unary
    async def StopContainer(
        self, request: cs.StopContainerRequest, context: Context
    ) -> cs.StopContainerResponse:
        return cs.StopContainerResponse(
            container=_out(await self._containers.stop(request.name, request.timeout_seconds))
        )

    @unary
    async def RestartContainer(
        self, request: cs.RestartContainerRequest, context: Context
    ) -> cs.RestartContainerResponse:
        return cs.RestartContainerResponse(
            container=_out(await self._containers.restart(request.name, request.timeout_seconds))
        )

    @unary
    async def DeleteContainer(
        self, request: cs.DeleteContainerRequest, context: Context
    ) -> cs.DeleteContainerResponse:
        await self._containers.delete(
            request.name, force=request.force, grace_period_seconds=request.grace_period_seconds
        )
        return cs.DeleteContainerResponse()
