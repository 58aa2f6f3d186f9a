"""The one place where kubernetes_asyncio and aiohttp failures become domain errors.

The API server answers a refusal with a ``Status`` object (``reason`` in its own words:
NotFound, AlreadyExists, Conflict, Invalid, Forbidden, ...); its HTTP code decides the
domain error, its reason refines it, and both go into the ErrorInfo metadata
(``k8s_status``, ``k8s_reason``) with its message.
"""

from __future__ import annotations

import contextlib
import json
import ssl
from collections.abc import Iterator
from typing import Any

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException, OpenApiException

from zanepool_server.errors import (
    Aborted,
    AlreadyExists,
    ClusterUnavailable,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    ZanePoolError,
)


@contextlib.contextmanager
def translate(endpoint: str, what: str) -> Iterator[None]:
    """Map kubernetes_asyncio/aiohttp failures to domain errors (the driver's one translation point)."""
    meta = {"endpoint": endpoint, "operation": what}
    try:
        yield
    except ZanePoolError:
        raise
    except ApiException as exc:
        raise api_error(exc, endpoint, what) from exc
    except (ssl.SSLError, aiohttp.ClientSSLError) as exc:
        raise Unauthenticated(
            f"TLS with {endpoint} failed: {tls_detail(exc)}", reason="CLUSTER_TLS_FAILED", metadata=meta
        ) from exc
    except TimeoutError as exc:  # before OSError, its base class
        raise ClusterUnavailable(
            f"{endpoint} did not answer ({what}) in time", reason="CLUSTER_TIMEOUT", metadata=meta
        ) from exc
    except (aiohttp.ClientConnectionError, OSError) as exc:
        raise ClusterUnavailable(f"cannot reach {endpoint}: {exc}", metadata=meta) from exc
    except (aiohttp.ClientError, OpenApiException, ValueError, KeyError, TypeError) as exc:
        # It answered, but not as a Kubernetes API server does (bad JSON, HTML, another service).
        raise not_kubernetes(endpoint, what, f"{exc!s:.200}") from exc


def tls_detail(exc: Exception) -> str:
    """What went wrong in a TLS handshake, in one line (aiohttp wraps ssl's own error)."""
    cause = getattr(exc, "certificate_error", None) or getattr(exc, "os_error", None) or exc
    parts = [getattr(cause, "reason", None), getattr(cause, "verify_message", None)]
    return ": ".join(str(p) for p in parts if p) or str(cause)


def not_kubernetes(endpoint: str, what: str, detail: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"{endpoint} does not answer like a Kubernetes API server ({what}): {detail}",
        reason="NOT_A_KUBERNETES_API",
        metadata={"endpoint": endpoint, "operation": what},
    )


def status_of(exc: ApiException) -> dict[str, Any]:
    """The API server's Status object in an error answer ({} when the body is not one)."""
    body = exc.body  # text: the library decodes it before raising
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        status = json.loads(text) if text else {}
    except ValueError:
        return {}
    return status if isinstance(status, dict) else {}


def api_error(exc: ApiException, endpoint: str, what: str) -> ZanePoolError:
    status = status_of(exc)
    code = int(exc.status or 0)
    k8s_reason = str(status.get("reason") or exc.reason or "")
    message = str(status.get("message") or exc.reason or "")[:300]
    meta = {"endpoint": endpoint, "operation": what, "k8s_status": code, "k8s_reason": k8s_reason}
    if code == 401:
        return Unauthenticated(f"{endpoint} refused our credentials: {message}", metadata=meta)
    if code == 403:
        return PermissionDenied(f"{endpoint} forbids {what}: {message}", metadata=meta)
    if code == 404:
        return NotFound(f"{endpoint}: {message}", reason="CLUSTER_OBJECT_NOT_FOUND", metadata=meta)
    if code == 409 and k8s_reason == "AlreadyExists":
        return AlreadyExists(f"{endpoint}: {message}", reason="NAME_IN_USE", metadata=meta)
    if code in (409, 410):
        # Conflict: the object changed since the resourceVersion we sent; Gone: an expired one.
        return Aborted(f"{endpoint}: {message}", reason="CONCURRENT_MODIFICATION", metadata=meta)
    if code in (400, 422):
        return InvalidArgument(
            f"{endpoint} rejected {what}: {message}", reason="CLUSTER_REJECTED_REQUEST", metadata=meta
        )
    if code == 429:
        # Throttled, or (for an eviction) a PodDisruptionBudget allows no disruption now.
        return ResourceExhausted(
            f"{endpoint} refused {what} for now: {message}", reason="CLUSTER_TOO_MANY_REQUESTS", metadata=meta
        )
    if code in (405, 415):
        return FailedPrecondition(
            f"{endpoint} does not serve {what}: {message}", reason="CLUSTER_REFUSED_METHOD", metadata=meta
        )
    return ClusterUnavailable(
        f"{endpoint} failed {what}: [{code}] {message}", reason="CLUSTER_ERROR", metadata=meta
    )
