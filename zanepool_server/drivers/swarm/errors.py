"""The one place where aiodocker and aiohttp failures become domain errors."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import aiohttp
from aiodocker.exceptions import DockerError

from zanepool_server.errors import (
    Aborted,
    AlreadyExists,
    ClusterUnavailable,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ZanePoolError,
)


@contextlib.contextmanager
def translate(endpoint: str, what: str) -> Iterator[None]:
    """Map aiodocker/aiohttp failures to domain errors (the driver's one translation point)."""
    meta = {"endpoint": endpoint, "operation": what}
    try:
        yield
    except ZanePoolError:
        raise
    except DockerError as exc:
        raise docker_error(exc, endpoint, what) from exc
    except TimeoutError as exc:  # before OSError: TimeoutError is one
        raise ClusterUnavailable(
            f"{endpoint} did not answer ({what}) in time", reason="CLUSTER_TIMEOUT", metadata=meta
        ) from exc
    except (aiohttp.ClientError, OSError) as exc:
        if _tls_failure(exc):
            raise Unauthenticated(
                f"TLS with {endpoint} failed: {exc}", reason="CLUSTER_TLS_FAILED", metadata=meta
            ) from exc
        if isinstance(exc, aiohttp.ClientConnectionError | OSError):
            raise ClusterUnavailable(f"cannot reach {endpoint}: {exc}", metadata=meta) from exc
        raise _not_docker(endpoint, exc, meta) from exc
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        # It answered, but not as a Docker Engine does (bad JSON, HTML, another service, a
        # document of the wrong shape).
        raise _not_docker(endpoint, exc, meta) from exc


def _not_docker(endpoint: str, exc: BaseException, meta: dict[str, str]) -> FailedPrecondition:
    return FailedPrecondition(
        f"{endpoint} does not answer like a Docker Engine: {exc!s:.200}",
        reason="NOT_A_DOCKER_ENGINE",
        metadata=meta,
    )


_TLS_MARKS = ("[SSL", "SSLV3_ALERT", "TLSV1_ALERT")


def _tls_failure(exc: BaseException | None) -> bool:
    """A TLS handshake refused by either side. It may surface as an SSLError, aiohttp's
    ClientSSLError, or, for an alert that arrives on the first read (TLS 1.3 client
    certificate checks), a plain OSError whose text names the SSL alert."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, ssl.SSLError | aiohttp.ClientSSLError):
            return True
        if isinstance(exc, OSError) and any(mark in str(exc) for mark in _TLS_MARKS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


# What the engine says (lower case, a fragment) -> the error and its reason. The engine's
# status codes alone are too coarse (a 500 may be a refusal, a 409 a duplicate name).
_KNOWN_MESSAGES: tuple[tuple[str, type[ZanePoolError], str], ...] = (
    ("not a swarm manager", FailedPrecondition, "NOT_A_SWARM_MANAGER"),
    ("not part of a swarm", FailedPrecondition, "NOT_A_SWARM"),
    ("update out of sequence", Aborted, "CONCURRENT_MODIFICATION"),
    ("demote the last manager", FailedPrecondition, "LAST_MANAGER"),
    # A node promoted a moment ago has not joined the managers' raft yet: come back later.
    ("can't find manager in raft memberlist", ClusterUnavailable, "RAFT_MEMBERSHIP_PENDING"),
    ("is not down and can't be removed", FailedPrecondition, "NODE_NOT_DOWN"),
    ("must be demoted to worker before removal", FailedPrecondition, "NODE_IS_MANAGER"),
    ("is already part of a swarm", FailedPrecondition, "ENGINE_ALREADY_IN_SWARM"),
    ("is already in use by container", AlreadyExists, "NAME_IN_USE"),
    ("name conflicts with an existing object", AlreadyExists, "NAME_IN_USE"),
    ("already exists", AlreadyExists, "NAME_IN_USE"),
    ("image is being used by", FailedPrecondition, "IMAGE_IN_USE"),
    ("image is referenced in multiple repositories", FailedPrecondition, "IMAGE_IN_USE"),
    ("volume is in use", FailedPrecondition, "VOLUME_IN_USE"),
    ("has active endpoints", FailedPrecondition, "NETWORK_IN_USE"),
    ("cannot remove a running container", FailedPrecondition, "CONTAINER_RUNNING"),
    ("cannot remove a paused container", FailedPrecondition, "CONTAINER_RUNNING"),
    ("is using its referenced image", FailedPrecondition, "IMAGE_IN_USE"),
    ("is in use by service", FailedPrecondition, "NETWORK_IN_USE"),
    ("is in use by task", FailedPrecondition, "NETWORK_IN_USE"),
    ("is a pre-defined network", FailedPrecondition, "PREDEFINED_NETWORK"),
    ("pool overlaps with other one", FailedPrecondition, "SUBNET_OVERLAPS"),
    ("error looking up volume plugin", FailedPrecondition, "VOLUME_DRIVER_NOT_FOUND"),
    # A registry's answers to a pull, passed on by the engine (in the response or its stream).
    ("manifest unknown", NotFound, "IMAGE_NOT_FOUND_IN_REGISTRY"),
    ("name unknown", NotFound, "IMAGE_NOT_FOUND_IN_REGISTRY"),
    ("repository does not exist", NotFound, "IMAGE_NOT_FOUND_IN_REGISTRY"),
    ("unauthorized: ", Unauthenticated, "REGISTRY_UNAUTHENTICATED"),
    ("no basic auth credentials", Unauthenticated, "REGISTRY_UNAUTHENTICATED"),
    ("denied: requested access to the resource is denied", PermissionDenied, "REGISTRY_DENIED"),
    ("server gave http response to https client", FailedPrecondition, "REGISTRY_NOT_TRUSTED"),
)


def docker_error(exc: DockerError, endpoint: str, what: str) -> ZanePoolError:
    meta = {"endpoint": endpoint, "operation": what, "engine_status": exc.status}
    message = str(exc.message)[:300]
    if exc.status == 900:  # aiodocker's code for "could not connect"
        cause = exc.__context__
        if _tls_failure(cause):
            return Unauthenticated(
                f"TLS with {endpoint} failed: {cause}", reason="CLUSTER_TLS_FAILED", metadata=meta
            )
        return ClusterUnavailable(f"cannot reach {endpoint}: {cause or message}", metadata=meta)
    if exc.status == 400 and "HTTPS server" in message:
        return FailedPrecondition(
            f"{endpoint} speaks TLS only: give TLS credentials", reason="ENDPOINT_REQUIRES_TLS", metadata=meta
        )
    # Known messages first: the engine passes a registry's 401 on, and answers 403 to
    # refusals that are not about us (a pre-defined network, an overlapping subnet).
    lowered = message.lower()
    for fragment, cls, reason in _KNOWN_MESSAGES:
        if fragment in lowered:
            return cls(f"{endpoint}: {message}", reason=reason, metadata=meta)
    if exc.status == 401:
        return Unauthenticated(f"{endpoint} refused our credentials: {message}", metadata=meta)
    if exc.status == 403:
        return PermissionDenied(f"{endpoint} forbids {what}: {message}", metadata=meta)
    if exc.status == 404:
        return NotFound(f"{endpoint}: {message}", reason="CLUSTER_OBJECT_NOT_FOUND", metadata=meta)
    if exc.status == 400:
        return InvalidArgument(
            f"{endpoint} rejected {what}: {message}", reason="ENGINE_REJECTED_REQUEST", metadata=meta
        )
    if exc.status == 409:
        return FailedPrecondition(
            f"{endpoint} refused {what}: {message}", reason="ENGINE_CONFLICT", metadata=meta
        )
    return ClusterUnavailable(
        f"{endpoint} failed {what}: [{exc.status}] {message}", reason="CLUSTER_ERROR", metadata=meta
    )
