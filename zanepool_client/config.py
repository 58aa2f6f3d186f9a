"""Client settings, as frozen dataclasses: TLS, the bearer token, deadlines, retries, reconnects."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import grpc

from zanepool_client.methods import Metadata

#: Channel options of every channel the clients open: keepalives for long streams (the server
#: allows a ping every 10 s without data), and the server's message size limit.
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
)


@dataclass(frozen=True)
class TlsConfig:
    """TLS to the server. Without ``root_certificates`` the system's roots are trusted."""

    root_certificates: bytes | None = None
    #: A client certificate and its key, for servers that require one.
    certificate_chain: bytes | None = None
    private_key: bytes | None = None
    #: Check the server's certificate for this name instead of the target's host.
    server_name: str | None = None

    @classmethod
    def from_files(
        cls,
        ca: str | Path | None = None,
        cert: str | Path | None = None,
        key: str | Path | None = None,
        server_name: str | None = None,
    ) -> TlsConfig:
        def read(path: str | Path | None) -> bytes | None:
            return None if path is None else Path(path).read_bytes()

        return cls(read(ca), read(cert), read(key), server_name)

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.root_certificates, self.private_key, self.certificate_chain)

    def options(self) -> tuple[tuple[str, str], ...]:
        return (("grpc.ssl_target_name_override", self.server_name),) if self.server_name else ()


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits ``initial * multiplier**(n-1)`` (at most
    ``max_backoff``) less a random share of up to ``jitter`` of it."""

    max_attempts: int = 4
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row (1, 2, ...)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** max(0, failures - 1))
        return base * (1 - self.jitter * random.random())


#: Streams reconnect more patiently than calls retry: a server restart takes seconds.
RECONNECT = RetryPolicy(max_attempts=10, initial_backoff=0.2, max_backoff=10.0)


class Settings(TypedDict, total=False):
    """The keywords of ``ZanePoolClient(channel, ...)`` and ``connect`` beside the channel's own."""

    #: Sent as ``authorization: Bearer <token>`` on every call.
    token: str | None
    #: The deadline of unary calls that set none (seconds); streams have none unless given.
    timeout: float | None
    #: Retries of idempotent calls (Get*, List*, Refresh*) on UNAVAILABLE.
    retry: RetryPolicy
    #: Reconnects of StreamLogs and WatchEvents on UNAVAILABLE.
    reconnect: RetryPolicy


@dataclass(frozen=True)
class ClientConfig:
    token: str | None = None
    timeout: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    reconnect: RetryPolicy = RECONNECT

    def metadata(self, extra: Metadata) -> Metadata:
        """The token first, then the call's own metadata."""
        auth: Metadata = (("authorization", f"Bearer {self.token}"),) if self.token else ()
        return (*auth, *extra)


def channel_settings(
    tls: bool | TlsConfig, options: tuple[tuple[str, str | int], ...]
) -> tuple[grpc.ChannelCredentials | None, tuple[tuple[str, str | int], ...]]:
    """Credentials (None: plaintext) and options for a channel to the server."""
    if tls is False:
        return None, (*CHANNEL_OPTIONS, *options)
    config = TlsConfig() if tls is True else tls
    return config.credentials(), (*CHANNEL_OPTIONS, *config.options(), *options)
