"""The domain error tree, shared by every layer below the API.

Each error carries an UPPER_SNAKE ``reason`` and ``metadata`` for the ErrorInfo that the
API layer builds from it; ``zanepool_server.api.status`` maps each class to one gRPC code,
in one table. Drivers and the store translate their libraries' exceptions into these at
their edge, so nothing above them ever sees an aiodocker, aiohttp or PyMongo exception::

    ZanePoolError
    ├── InvalidArgument          INVALID_ARGUMENT   (field_violations -> BadRequest)
    ├── NotFound                 NOT_FOUND
    ├── AlreadyExists            ALREADY_EXISTS
    ├── Aborted                  ABORTED            (stale etag, concurrent change)
    ├── FailedPrecondition       FAILED_PRECONDITION
    ├── Unauthenticated          UNAUTHENTICATED    (the cluster refused our credentials)
    ├── PermissionDenied         PERMISSION_DENIED  (the cluster forbade the call)
    ├── Unimplemented            UNIMPLEMENTED      (no such concept, or not built yet)
    ├── ResourceExhausted        RESOURCE_EXHAUSTED
    ├── DeadlineExceeded         DEADLINE_EXCEEDED
    └── Unavailable              UNAVAILABLE        (retryable)
        ├── ClusterUnavailable       a cluster did not answer
        └── StoreUnavailable         the database did not answer
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request (google.rpc.BadRequest.FieldViolation)."""

    field: str
    description: str


class ZanePoolError(Exception):
    """Base of every error a caller may see."""

    default_reason = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata: dict[str, str] = {k: str(v) for k, v in (metadata or {}).items()}


class InvalidArgument(ZanePoolError):
    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, object] | None = None,
        violations: Sequence[FieldViolation] = (),
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = list(violations)

    @classmethod
    def field(
        cls, field: str, description: str, *, reason: str, metadata: Mapping[str, object] | None = None
    ) -> InvalidArgument:
        """One bad field: the message, the ErrorInfo and the BadRequest all name it."""
        meta = {"field": field, **(metadata or {})}
        return cls(
            f"{field}: {description}",
            reason=reason,
            metadata=meta,
            violations=[FieldViolation(field, description)],
        )


class NotFound(ZanePoolError):
    default_reason = "NOT_FOUND"


class AlreadyExists(ZanePoolError):
    default_reason = "ALREADY_EXISTS"


class Aborted(ZanePoolError):
    default_reason = "ABORTED"


class FailedPrecondition(ZanePoolError):
    default_reason = "FAILED_PRECONDITION"


class Unauthenticated(ZanePoolError):
    default_reason = "CLUSTER_UNAUTHENTICATED"


class PermissionDenied(ZanePoolError):
    default_reason = "CLUSTER_PERMISSION_DENIED"


class Unimplemented(ZanePoolError):
    default_reason = "NOT_IMPLEMENTED"


class ResourceExhausted(ZanePoolError):
    default_reason = "RESOURCE_EXHAUSTED"


class DeadlineExceeded(ZanePoolError):
    default_reason = "DEADLINE_EXCEEDED"


class Unavailable(ZanePoolError):
    default_reason = "UNAVAILABLE"


class ClusterUnavailable(Unavailable):
    default_reason = "CLUSTER_UNREACHABLE"


class StoreUnavailable(Unavailable):
    default_reason = "STORE_UNAVAILABLE"
