"""The Swarm driver: Docker Engine in Swarm mode through a manager's Engine API (aiodocker).

Endpoints: ``unix:///path/docker.sock``, ``tcp://host:port`` (plain HTTP, or HTTPS when
TLS credentials are given). aiodocker and aiohttp errors are translated in
:func:`_translate`, and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import Counter
from datetime import datetime
from typing import Any, cast

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError

from zanepool_server import deadline
from zanepool_server.drivers.tls import client_context
from zanepool_server.errors import (
    ClusterUnavailable,
    FailedPrecondition,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ZanePoolError,
)
from zanepool_server.model import (
    Capability,
    ClusterInfo,
    ClusterSnapshot,
    Credentials,
    Driver,
    NodeAvailability,
    NodeRole,
    NodeState,
    NodeSummary,
)

#: The longest a single Engine API request may take, whatever the caller's deadline.
REQUEST_CAP = 10.0
CONNECT_TIMEOUT = 5.0
# The Engine API version we speak: Docker 20.10 and every later engine serve it.
API_VERSION = "v1.41"

CAPABILITIES = frozenset(
    {
        Capability.NODE_IMPORT,
        Capability.NODE_REMOVE,
        Capability.CONTAINER_START_STOP,
        Capability.IMAGE_PULL,
        Capability.IMAGE_DELETE,
        Capability.VOLUMES,
        Capability.NETWORKS,
        Capability.LOGS,
        Capability.EVENTS,
    }
)

_NODE_STATE = {
    "ready": NodeState.READY,
    "down": NodeState.DOWN,
    "unknown": NodeState.UNKNOWN,
    "disconnected": NodeState.DISCONNECTED,
}
_AVAILABILITY = {
    "active": NodeAvailability.ACTIVE,
    "pause": NodeAvailability.PAUSE,
    "drain": NodeAvailability.DRAIN,
}
_ROLE = {"manager": NodeRole.MANAGER, "worker": NodeRole.WORKER}


def engine_url(endpoint: str, tls: bool) -> str:
    """The URL aiodocker should use for a validated ``unix://`` or ``tcp://`` endpoint."""
    if endpoint.startswith("tcp://"):
        return ("https://" if tls else "http://") + endpoint[len("tcp://") :]
    return endpoint


@contextlib.contextmanager
def _translate(endpoint: str, what: str) -> Any:
    """Map aiodocker/aiohttp failures to domain errors (the driver's one translation point)."""
    meta = {"endpoint": endpoint, "operation": what}
    try:
        yield
    except ZanePoolError:
        raise
    except DockerError as exc:
        raise _docker_error(exc, endpoint, what) from exc
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


def _docker_error(exc: DockerError, endpoint: str, what: str) -> ZanePoolError:
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


class SwarmDriver:
    """A connection to one swarm manager's Engine API."""

    kind = Driver.SWARM
    capabilities = CAPABILITIES

    def __init__(self, endpoint: str, credentials: Credentials) -> None:
        self.endpoint = endpoint
        tls = endpoint.startswith("tcp://") and bool(credentials.cert_pem or credentials.ca_pem)
        ssl_context = client_context(credentials) if tls else None
        self._docker = aiodocker.Docker(
            url=engine_url(endpoint, tls),
            ssl_context=ssl_context,
            api_version=API_VERSION,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, connect=CONNECT_TIMEOUT),
        )
        self._closed = False

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        if self._closed:
            raise RuntimeError("the driver is closed")
        with _translate(self.endpoint, f"GET /{path}"):
            async with asyncio.timeout(deadline.remaining(REQUEST_CAP)):
                return await self._docker._query_json(path, params=params)

    async def snapshot(self) -> ClusterSnapshot:
        # One round trip: the four reads go out together. When some fail, /info (if it
        # answered) says best why: an engine outside Swarm mode and a worker both refuse
        # /nodes with the same message.
        results = await asyncio.gather(
            self._get("info"),
            self._get("version"),
            self._get("nodes"),
            self._get("tasks", {"filters": '{"desired-state":["running"]}'}),
            return_exceptions=True,
        )
        if isinstance(results[0], dict):
            self._check_swarm(results[0])
        for result in results:
            if isinstance(result, BaseException):
                raise result
        info, version, nodes, tasks = cast(list[Any], results)
        summaries = tuple(_node(n, tasks, info) for n in nodes)
        cluster_id = ((info.get("Swarm") or {}).get("Cluster") or {}).get("ID", "")
        return ClusterSnapshot(cluster_id=cluster_id, info=_info(info, version, summaries), nodes=summaries)

    def _check_swarm(self, info: dict[str, Any]) -> None:
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active":
            raise FailedPrecondition(
                f"{self.endpoint} is not in Swarm mode",
                reason="NOT_A_SWARM",
                metadata={"endpoint": self.endpoint, "local_node_state": swarm.get("LocalNodeState", "")},
            )
        if not swarm.get("ControlAvailable"):
            raise FailedPrecondition(
                f"{self.endpoint} is a swarm worker, not a manager",
                reason="NOT_A_SWARM_MANAGER",
                metadata={"endpoint": self.endpoint},
            )

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._docker.close()


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    # Docker writes nanoseconds; Python reads microseconds.
    head, _, frac = value.rstrip("Z").partition(".")
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")
    return None


def _node(raw: dict[str, Any], tasks: list[dict[str, Any]], info: dict[str, Any]) -> NodeSummary:
    spec, desc = raw.get("Spec") or {}, raw.get("Description") or {}
    status, manager = raw.get("Status") or {}, raw.get("ManagerStatus") or {}
    res, platform, engine = desc.get("Resources") or {}, desc.get("Platform") or {}, desc.get("Engine") or {}
    mine = [t for t in tasks if t.get("NodeID") == raw["ID"]]
    reserved = [((t.get("Spec") or {}).get("Resources") or {}).get("Reservations") or {} for t in mine]
    states = Counter(((t.get("Status") or {}).get("State") or "") for t in mine)
    is_local = raw["ID"] == (info.get("Swarm") or {}).get("NodeID")
    return NodeSummary(
        node_id=raw["ID"],
        hostname=desc.get("Hostname", ""),
        address=status.get("Addr", "") or manager.get("Addr", "").rsplit(":", 1)[0],
        role=_ROLE.get(spec.get("Role", ""), NodeRole.UNSPECIFIED),
        state=_NODE_STATE.get(status.get("State", ""), NodeState.UNKNOWN),
        availability=_AVAILABILITY.get(spec.get("Availability", ""), NodeAvailability.UNSPECIFIED),
        engine_version=engine.get("EngineVersion", ""),
        cpus=int(res.get("NanoCPUs", 0) // 1_000_000_000),
        memory_bytes=int(res.get("MemoryBytes", 0)),
        reserved_cpus=sum(r.get("NanoCPUs", 0) for r in reserved) / 1e9,
        reserved_memory_bytes=int(sum(r.get("MemoryBytes", 0) for r in reserved)),
        # The engine we talk to reports its own containers (standalone ones too); for the
        # other nodes the swarm's tasks are all a manager knows.
        containers_running=int(info.get("ContainersRunning", 0)) if is_local else states["running"],
        containers_paused=int(info.get("ContainersPaused", 0)) if is_local else 0,
        containers_stopped=int(info.get("ContainersStopped", 0))
        if is_local
        else sum(n for s, n in states.items() if s != "running"),
        labels=dict(spec.get("Labels") or {}),
        engine_labels=dict(engine.get("Labels") or {}),
        os=platform.get("OS", ""),
        arch=platform.get("Architecture", ""),
        kernel_version=info.get("KernelVersion", "") if is_local else "",
        state_message=status.get("Message", ""),
        leader=bool(manager.get("Leader")),
        create_time=_time(raw.get("CreatedAt")),
        update_time=_time(raw.get("UpdatedAt")),
        version=str((raw.get("Version") or {}).get("Index", "")),
    )


def _info(info: dict[str, Any], version: dict[str, Any], nodes: tuple[NodeSummary, ...]) -> ClusterInfo:
    return ClusterInfo(
        server_version=str(info.get("ServerVersion", "")),
        api_version=str(version.get("ApiVersion", "")),
        os=str(info.get("OperatingSystem", "")),
        arch=str(info.get("Architecture", "")),
        kernel_version=str(info.get("KernelVersion", "")),
        cpus=sum(n.cpus for n in nodes),
        memory_bytes=sum(n.memory_bytes for n in nodes),
        node_count=len(nodes),
        containers_running=int(info.get("ContainersRunning", 0)),
        containers_paused=int(info.get("ContainersPaused", 0)),
        containers_stopped=int(info.get("ContainersStopped", 0)),
        ready_node_count=sum(n.state == NodeState.READY for n in nodes),
        manager_count=sum(n.role == NodeRole.MANAGER for n in nodes),
    )
