"""The Zane Pool client: typed asyncio and blocking clients over the generated API (``zanepool.v1``).

>>> client = await ZanePoolClient.connect("127.0.0.1:50051")   # doctest: +SKIP
>>> async for pool in client.list_pools(filter='labels.env = "prod"'):  # doctest: +SKIP
...     print(pool.name)
"""

from pathlib import Path

from zanepool_client.client import ZanePoolClient, ZanePoolSyncClient
from zanepool_client.config import RetryPolicy, TlsConfig
from zanepool_client.errors import (
    AbortedError,
    AlreadyExistsError,
    ClientClosedError,
    DeadlineExceededError,
    FailedPreconditionError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    ZanePoolRpcError,
)


def descriptor_set_path() -> Path:
    """The API's FileDescriptorSet (with imports and comments), for ``grpcurl -protoset``."""
    import zanepool

    return Path(zanepool.__file__).with_name("descriptor_set.binpb")


__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "ClientClosedError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "FieldViolation",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "RetryPolicy",
    "TlsConfig",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "ZanePoolClient",
    "ZanePoolRpcError",
    "ZanePoolSyncClient",
    "descriptor_set_path",
]
