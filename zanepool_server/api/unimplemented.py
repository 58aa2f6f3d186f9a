"""Services whose driver work comes in later issues: every RPC answers UNIMPLEMENTED with an
ErrorInfo that says so (reason NOT_IMPLEMENTED_YET), never a fake result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory

from zanepool_server.api.status import Context, to_status
from zanepool_server.errors import Unimplemented


def _error(method: descriptor.MethodDescriptor) -> Unimplemented:
    return Unimplemented(
        f"{method.containing_service.name}.{method.name} is not implemented yet",
        reason="NOT_IMPLEMENTED_YET",
        metadata={"rpc": f"{method.containing_service.full_name}/{method.name}"},
    )


def handler(service: descriptor.ServiceDescriptor) -> grpc.GenericRpcHandler:
    """A generic handler answering every method of ``service`` with UNIMPLEMENTED."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        if method.server_streaming:

            async def stream(
                request: Any, context: Context, m: descriptor.MethodDescriptor = method
            ) -> AsyncIterator[Any]:
                await context.abort_with_status(to_status(_error(m)))
                yield  # pragma: no cover - makes this an async generator

            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                stream,
                request_deserializer=request_cls.FromString,
                response_serializer=response_cls.SerializeToString,
            )
        else:

            async def unary(request: Any, context: Context, m: descriptor.MethodDescriptor = method) -> Any:
                await context.abort_with_status(to_status(_error(m)))

            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                unary,
                request_deserializer=request_cls.FromString,
                response_serializer=response_cls.SerializeToString,
            )
    return grpc.method_handlers_generic_handler(service.full_name, handlers)
