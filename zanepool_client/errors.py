"""Rich errors: what a Zane Pool server puts in ``google.rpc.Status``, as Python exceptions.

Every failed call raises a :class:`ZanePoolRpcError`; its class follows the gRPC code
(:class:`NotFoundError`, :class:`UnavailableError`, ...), so callers catch what they handle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

DOMAIN = "zanepool.v1"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


@dataclass(eq=False)  # exceptions compare and hash by identity
class ZanePoolRpcError(Exception):
    """A failed call: its gRPC code, message, and the ErrorInfo and BadRequest it carried."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[FieldViolation] = field(default_factory=list)

    def __str__(self) -> str:
        reason = f" ({self.reason})" if self.reason else ""
        return f"{self.code.name}{reason}: {self.message}"

    @classmethod
    def from_call(cls, err: grpc.RpcError) -> ZanePoolRpcError:
        """Read the rich status out of a failed call (sync or asyncio), as the class of its code."""
        call = cast(grpc.Call, err)  # a failed call's error is also its Call (AioRpcError too)
        code = call.code()
        out = BY_CODE.get(code, ZanePoolRpcError)(code=code, message=call.details() or "")
        try:
            status = rpc_status.from_call(call)
        except ValueError:  # a status detail that contradicts the call's code or message
            status = None
        for detail in status.details if status is not None else ():
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                out.reason, out.domain, out.metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                out.field_violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
        return out


class InvalidArgumentError(ZanePoolRpcError):
    """INVALID_ARGUMENT: the request is wrong; see field_violations."""


class NotFoundError(ZanePoolRpcError):
    """NOT_FOUND."""


class AlreadyExistsError(ZanePoolRpcError):
    """ALREADY_EXISTS."""


class AbortedError(ZanePoolRpcError):
    """ABORTED: a concurrent change (an etag mismatch); read again and retry."""


class FailedPreconditionError(ZanePoolRpcError):
    """FAILED_PRECONDITION: the system is not in a state the call needs."""


class UnavailableError(ZanePoolRpcError):
    """UNAVAILABLE: the server or a cluster did not answer (idempotent calls were retried)."""


class UnimplementedError(ZanePoolRpcError):
    """UNIMPLEMENTED: not built (yet) for this server or driver; the reason says which."""


class PermissionDeniedError(ZanePoolRpcError):
    """PERMISSION_DENIED."""


class UnauthenticatedError(ZanePoolRpcError):
    """UNAUTHENTICATED: no or a bad token, or a cluster refused the pool's credentials."""


class DeadlineExceededError(ZanePoolRpcError):
    """DEADLINE_EXCEEDED."""


class ResourceExhaustedError(ZanePoolRpcError):
    """RESOURCE_EXHAUSTED."""


BY_CODE: dict[grpc.StatusCode, type[ZanePoolRpcError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.ABORTED: AbortedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.UNIMPLEMENTED: UnimplementedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
}


class ClientClosedError(RuntimeError):
    """A call on a client that was closed: make a new one."""
