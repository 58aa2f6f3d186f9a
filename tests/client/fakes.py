"""A scripted gRPC server speaking zanepool.v1, for what a real server cannot be made to do on
cue: fail with UNAVAILABLE, drop a stream midway, serve pages, stream forever.

Every RPC is served; a call is recorded (method, request, metadata, deadline left) and then
answered by the script for its method, or, without one, refused with UNIMPLEMENTED and the
ErrorInfo a real server sends (built by the server's own status code).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message

from zanepool_client import _codegen
from zanepool_server.api.status import to_status
from zanepool_server.errors import Unimplemented

Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Any]


@dataclass
class Recorded:
    method: str  # e.g. GetPool
    request: Message
    metadata: dict[str, str]
    time_remaining: float | None


@dataclass
class Fake:
    address: str = ""
    calls: list[Recorded] = field(default_factory=list)
    scripts: dict[str, Handler] = field(default_factory=dict)

    def requests(self, method: str) -> list[Any]:
        return [c.request for c in self.calls if c.method == method]


def _unimplemented(method: descriptor.MethodDescriptor) -> grpc.Status:
    return to_status(
        Unimplemented(
            f"{method.containing_service.name}.{method.name} is not implemented yet",
            reason="NOT_IMPLEMENTED_YET",
            metadata={"rpc": f"{method.containing_service.full_name}/{method.name}"},
        )
    )


def _handlers(fake: Fake, service: descriptor.ServiceDescriptor) -> grpc.GenericRpcHandler:
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        codec = {
            "request_deserializer": request_cls.FromString,
            "response_serializer": response_cls.SerializeToString,
        }

        def record(request: Any, context: Any, m: descriptor.MethodDescriptor) -> Handler | None:
            metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
            fake.calls.append(Recorded(m.name, request, metadata, context.time_remaining()))
            return fake.scripts.get(m.name)

        if method.server_streaming:

            async def stream(request: Any, context: Any, m: Any = method) -> AsyncIterator[Any]:
                script = record(request, context, m)
                if script is None:
                    await context.abort_with_status(_unimplemented(m))
                async for item in script(request, context):  # type: ignore[misc]
                    yield item

            handlers[method.name] = grpc.unary_stream_rpc_method_handler(stream, **codec)
        else:

            async def unary(request: Any, context: Any, m: Any = method) -> Any:
                script = record(request, context, m)
                if script is None:
                    await context.abort_with_status(_unimplemented(m))
                return await script(request, context)  # type: ignore[misc]

            handlers[method.name] = grpc.unary_unary_rpc_method_handler(unary, **codec)
    return grpc.method_handlers_generic_handler(service.full_name, handlers)


@contextlib.asynccontextmanager
async def fake_server() -> AsyncIterator[Fake]:
    fake = Fake()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([_handlers(fake, svc) for svc in _codegen.services()])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    fake.address = f"127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await server.stop(grace=None)


def failing(code: grpc.StatusCode, times: int, then: Handler | None = None) -> Handler:
    """A unary script: fail ``times`` times with ``code``, then answer with ``then``."""
    left = [times]

    async def script(request: Any, context: Any) -> Any:
        if left[0] > 0 or then is None:
            left[0] -= 1
            await context.abort(code, f"scripted {code.name}")
        return await then(request, context)

    return script
