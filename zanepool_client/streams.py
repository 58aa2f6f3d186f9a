"""Resumable server streams (StreamLogs, WatchEvents): reconnect after the last cursor seen."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from zanepool_client.config import RetryPolicy
from zanepool_client.retry import Attempts


class Resumer(Attempts):
    """One logical stream over several calls.

    Iterate for the wait before each call, open it with :meth:`request` (``resume_token`` = the
    last cursor seen), report each message with :meth:`seen` (which also resets the backoff)
    and each failure with :meth:`failed` (raises unless UNAVAILABLE and reconnecting is on
    and allowed again).
    """

    def __init__(self, request: Message, policy: RetryPolicy, reconnect: bool) -> None:
        super().__init__(policy, retryable=reconnect)
        self._request = request
        self.cursor = ""

    def request(self) -> Message:
        if not self.cursor:
            return self._request
        resumed = type(self._request)()
        resumed.CopyFrom(self._request)
        resumed.resume_token = self.cursor  # type: ignore[attr-defined]
        return resumed

    def seen(self, message: Any) -> None:
        self.failures = 0
        if message.cursor:
            self.cursor = message.cursor
