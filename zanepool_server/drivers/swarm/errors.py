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
    except ssl.SSLError as exc:
        raise Unauthenticated(
            f"TLS with {endpoint} failed: {exc.reason or exc}", reason="CLUSTER_TLS_FAILED", metadata=meta
        ) from exc
    except aiohttp.ClientSSLError as exc:
        raise Unauthenticated(
            f"TLS with {endpoint} failed: {exc}", reason="CLUSTER_TLS_FAILED", metadata=meta
        ) from exc
    except (aiohttp.ClientConnectionError, OSError) as exc:
        raise ClusterUnavailable(f"cannot reach {endpoint}: {exc}", metadata=meta) from exc
    except TimeoutError as exc:
        raise ClusterUnavailable(
            f"{endpoint} did not answer ({what}) in time", reason="CLUSTER_TIMEOUT", metadata=meta
        ) from exc
    except (aiohttp.ClientError, ValueError, KeyError, TypeError) as exc:
        # It answered, but not as a Docker Engine does (bad JSON, HTML, a different service).
        raise FailedPrecondition(
            f"{endpoint} does not answer like a Docker Engine: {exc!s:.200}",
            reason="NOT_A_DOCKER_ENGINE",
            metadata=meta,
        ) from exc


# What the engine says (lower case, a fragment) -> the error and its reason. The engine's
# status codes alone are too coarse (a 500 may be a refusal, a 409 a duplicate name).
_KNOWN_MESSAGES: tuple[tuple[str, type[ZanePoolError], str], ...] = (
    ("not a swarm manager", FailedPrecondition, "NOT_A_SWARM_MANAGER"),
    ("not part of a swarm", FailedPrecondition, "NOT_A_SWARM"),
    ("update out of sequence", Aborted, "CONCURRENT_MODIFICATION"),
    ("demote the last manager", FailedPrecondition, "LAST_MANAGER"),
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
        if isinstance(cause, aiohttp.ClientSSLError | ssl.SSLError):
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
