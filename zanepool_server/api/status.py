"""The one place where domain errors become gRPC statuses (google.rpc.Status + ErrorInfo).

Every error carries exactly one ErrorInfo (domain ``zanepool.v1``); bad input also carries
a BadRequest with its field violations.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from zanepool_server import deadline
from zanepool_server.errors import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    ZanePoolError,
)

log = logging.getLogger(__name__)

DOMAIN = "zanepool.v1"

# Most specific class first: the first isinstance match wins.
CODES: tuple[tuple[type[ZanePoolError], grpc.StatusCode], ...] = (
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (Aborted, grpc.StatusCode.ABORTED),
    (FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (Unimplemented, grpc.StatusCode.UNIMPLEMENTED),
    (ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
)


def code_of(error: ZanePoolError) -> grpc.StatusCode:
    for cls, code in CODES:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.UNKNOWN


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(error: ZanePoolError) -> grpc.Status:
    code = code_of(error)
    details = [
        _packed(error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata))
    ]
    if isinstance(error, InvalidArgument) and error.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
        details.append(_packed(bad))
    proto = status_pb2.Status(code=getattr(code_pb2, code.name), message=error.message, details=details)
    status: grpc.Status = rpc_status.to_status(proto)
    return status


def internal_status(exc: BaseException) -> grpc.Status:
    """A bug of ours: say so without leaking internals; the log has the traceback."""
    info = error_details_pb2.ErrorInfo(
        reason="INTERNAL_ERROR", domain=DOMAIN, metadata={"error": type(exc).__name__}
    )
    proto = status_pb2.Status(
        code=code_pb2.INTERNAL, message="internal error; see the server log", details=[_packed(info)]
    )
    status: grpc.Status = rpc_status.to_status(proto)
    return status


#: The servicer context type of every handler.
Context = grpc.aio.ServicerContext[Any, Any]

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class CallSettings:
    """The server-wide default deadline applied when a caller sets none (or a longer one)."""

    default_timeout: float = 30.0


def _budget(context: Context) -> float:
    left = context.time_remaining()
    cap = CallSettings.default_timeout
    return cap if left is None else min(left, cap)


def unary(
    fn: Callable[[Any, Req, Context], Awaitable[Resp]],
) -> Callable[[Any, Req, Context], Awaitable[Resp]]:
    """Wrap a unary handler: a deadline scope for the domain, and domain errors as rich statuses."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Req, context: Context) -> Resp:
        try:
            with deadline.scope(_budget(context)):
                return await fn(self, request, context)
        except ZanePoolError as exc:
            await context.abort_with_status(to_status(exc))
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            log.exception("unexpected error in %s", fn.__qualname__)
            await context.abort_with_status(internal_status(exc))
        raise AssertionError("unreachable")  # abort_with_status always raises

    return wrapper


def streaming(
    fn: Callable[[Any, Req, Context], AsyncIterator[Resp]],
) -> Callable[[Any, Req, Context], AsyncIterator[Resp]]:
    """The streaming twin of :func:`unary` (no deadline cap: streams live as long as the caller)."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Req, context: Context) -> AsyncIterator[Resp]:
        try:
            async for item in fn(self, request, context):
                yield item
        except ZanePoolError as exc:
            await context.abort_with_status(to_status(exc))
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            log.exception("unexpected error in %s", fn.__qualname__)
            await context.abort_with_status(internal_status(exc))

    return wrapper
