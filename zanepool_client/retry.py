"""Retries: which failures are retried and how long to wait before the next attempt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import grpc

from zanepool_client.config import RetryPolicy
from zanepool_client.errors import ZanePoolRpcError


class Attempts:
    """The attempts of one call: iterate for the wait before each, report each failure.

    ``failed`` raises the failure as a :class:`ZanePoolRpcError` unless it is UNAVAILABLE, the
    call may be repeated (``retryable``) and the policy allows another attempt.
    """

    def __init__(self, policy: RetryPolicy, retryable: bool) -> None:
        self.policy = policy
        self.retryable = retryable
        self.failures = 0  # in a row

    def __iter__(self) -> Iterator[float]:
        yield 0.0
        while True:
            yield self.policy.delay(self.failures)

    def failed(self, err: grpc.RpcError) -> None:
        self.failures += 1
        unavailable = cast(grpc.Call, err).code() == grpc.StatusCode.UNAVAILABLE  # AioRpcError too
        if not (self.retryable and unavailable and self.failures < self.policy.max_attempts):
            raise ZanePoolRpcError.from_call(err) from None
