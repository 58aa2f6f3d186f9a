"""Rich errors: what a Zane Pool server puts in ``google.rpc.Status``, as a Python exception."""

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


@dataclass
class ZanePoolRpcError(Exception):
    """A failed call: its gRPC code, message, and the ErrorInfo and BadRequest it carried."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[FieldViolation] = field(default_factory=list)

    def __str__(self) -> str:
        reason = f" [{self.reason}]" if self.reason else ""
        return f"{self.code.name}{reason}: {self.message}"

    @classmethod
    def from_call(cls, err: grpc.RpcError) -> ZanePoolRpcError:
        """Read the rich status out of a failed call (sync or asyncio)."""
        call = cast(grpc.Call, err)  # a failed call's error is also its Call (AioRpcError too)
        out = cls(code=call.code(), message=call.details() or "")
        status = rpc_status.from_call(call)
        if status is None:
            return out
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                out.reason, out.domain, out.metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                out.field_violations += [FieldViolation(v.field, v.description) for v in bad.field_violations]
        return out
