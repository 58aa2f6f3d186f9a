"""The one place where aiodocker and aiohttp failures become domain errors."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

import aiohttp
from aiodocker.exceptions import DockerError

from zanepool_server.errors import (
    ClusterUnavailable,
    FailedPrecondition,
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
    if exc.status == 401:
        return Unauthenticated(f"{endpoint} refused our credentials: {message}", metadata=meta)
    if exc.status == 403:
        return PermissionDenied(f"{endpoint} forbids {what}: {message}", metadata=meta)
    if exc.status == 404:
        return NotFound(f"{endpoint}: {message}", reason="CLUSTER_OBJECT_NOT_FOUND", metadata=meta)
    if exc.status == 503 and "not a swarm manager" in message.lower():
        return FailedPrecondition(
            f"{endpoint} is not a swarm manager: {message}", reason="NOT_A_SWARM_MANAGER", metadata=meta
        )
    if exc.status == 503 and "not part of a swarm" in message.lower():
        return FailedPrecondition(
            f"{endpoint} is not in Swarm mode: {message}", reason="NOT_A_SWARM", metadata=meta
        )
    return ClusterUnavailable(
        f"{endpoint} failed {what}: [{exc.status}] {message}", reason="CLUSTER_ERROR", metadata=meta
    )
