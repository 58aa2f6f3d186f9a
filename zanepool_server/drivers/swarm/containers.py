"""Swarm containers: ContainerService over a swarm manager and the node engines it can reach.

Identity
    CreateContainer makes a one-replica service (replicated mode, ``Replicas: 1``) named
    after the container id (an RFC 1123 label; ``c-<8 hex>`` when the caller gives none) and
    labelled ``io.zanepool.container=true``; the caller's labels go on its containers
    (``ContainerSpec.Labels``). Its key is the service name: stable across reschedules,
    restarts, stop and start, it always means the service's current task container. Every
    other container keeps the engine's 64-hex container id as its key: the tasks of other
    services (the manager's ``/tasks`` covers every node) and the standalone containers of
    every engine the driver reaches (``fleet``: the manager's and ``Pool.node_endpoints``).
    A container seen both as a task and on its engine is one container, with the engine's
    data first; a managed service's task containers are shown only under the service name.

Engine API
    - list: ``GET /services``, ``/tasks``, ``/networks`` on the manager and ``fleet`` (``/nodes``,
      each engine's ``/info``) at once, then ``GET /containers/json?all=1`` on every engine at
      once: two rounds, whatever the number of containers (no per-container request). All
      services are read, not only managed ones: a task's owner is its service's name.
      The engines' summaries carry no command, env, restart policy or resources: a list
      gives those for task containers (from the task) but not for standalone ones.
    - get: a service name: ``GET /services/{name}``, ``/tasks?service=``, ``/networks`` at once;
      an engine id: as list, with ``GET /containers/{id}/json`` on every engine instead.
    - create: ``GET /nodes/{target}``, ``/networks/{name}``, ``/services/{name}`` (references and
      name checked first, precisely), then ``POST /services/create`` (API 1.41: the engine does
      not ask a registry to resolve the image), then ``/tasks`` polled until the task runs (or
      ran) or fails; a failure (``IMAGE_NOT_FOUND``, ``NO_SUITABLE_NODE``, ``TASK_REJECTED``,
      ``CONTAINER_START_FAILED``, or no start in time) removes the service again, even when
      the caller has gone. A task that ran and exited counts as started (its program's exit
      is not a create failure). Ports are published in host mode (ingress needs IPVS);
      restart policies map no -> none, on-failure -> on-failure, always and unless-stopped
      -> any (none given: Swarm's any); target_node (a node id or hostname) becomes the
      constraint ``node.id==ID``; Swarm has no namespace, replicas above 1, pull policy or
      host_ip: UNSUPPORTED_FIELD.
    - start, stop, restart of a managed container: ``POST /services/{id}/update`` with the
      read version (a concurrent change gives ABORTED): ``Replicas`` 1 (a failed start scales
      back to 0), ``Replicas`` 0, or ``ForceUpdate``+1 (also a start whose task has ended);
      then ``/tasks`` is polled until a new task runs, or until every task has ended. A stop
      or restart timeout becomes the service's ``StopGracePeriod`` (kept for later stops).
      Swarm removes the task of a service scaled to 0, so a stopped managed container has
      no node and no engine id until it is started again; its restart count is the number
      of its tasks Swarm still remembers that ended.
    - start, stop, restart of a standalone container: ``POST /containers/{id}/start|stop|restart?t=``
      on the engine whose read returned it; delete: ``DELETE /containers/{id}?force=``;
      delete of a managed container: ``DELETE /services/{id}``. A task of another service
      refuses all of these: CONTAINER_MANAGED_BY_SERVICE (scale its service instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import enum
import functools
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from zanepool_server import deadline
from zanepool_server.drivers.swarm import parse
from zanepool_server.drivers.swarm.engine import REQUEST_CAP, Engine
from zanepool_server.drivers.swarm.fleet import Fleet, NodeEngine, awaited, gather_all, read_fleet
from zanepool_server.drivers.swarm.nodes import not_found as node_not_found
from zanepool_server.errors import (
    AlreadyExists,
    ClusterUnavailable,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ZanePoolError,
)
from zanepool_server.model import (
    ContainerInfo,
    ContainerSpec,
    ContainerState,
    MountSpec,
    PortMapping,
    Resources,
)

if TYPE_CHECKING:
    from zanepool_server.drivers.swarm.driver import SwarmDriver

Raw = dict[str, Any]
Raws = list[Raw]  # (``list`` is a method name inside SwarmContainers)

#: The service label that marks the services CreateContainer made.
MANAGED = "io.zanepool.container"
SERVICE_ID = "com.docker.swarm.service.id"
_SERVICE_NAME = "com.docker.swarm.service.name"
_TASK_ID = "com.docker.swarm.task.id"
ENGINE_ID = re.compile(r"^[0-9a-f]{64}$")
POLL = 0.25
#: Kept back from the call's deadline, so that a create that did not start can be undone.
UNDO_RESERVE = 2.0
UNDO_CAP = 10.0
#: How long "no suitable node" must last to be final (see ``_started``).
PLACEMENT_GRACE = 1.5

ENDED = frozenset({"complete", "shutdown", "failed", "rejected", "remove", "orphaned"})
# Task states before "running" (new ... starting) are CREATED.
_TASK_STATES = {"running": ContainerState.RUNNING, "orphaned": ContainerState.DEAD} | {
    s: ContainerState.EXITED for s in ENDED - {"orphaned"}
}
_ENGINE_STATES = {
    "created": ContainerState.CREATED,
    "running": ContainerState.RUNNING,
    "paused": ContainerState.PAUSED,
    "restarting": ContainerState.RESTARTING,
    "removing": ContainerState.EXITED,
    "exited": ContainerState.EXITED,
    "dead": ContainerState.DEAD,
}
_RESTART_IN = {"no": "none", "on-failure": "on-failure", "always": "any", "unless-stopped": "any"}
_RESTART_OUT = {"none": "no", "on-failure": "on-failure", "any": "always"}
_ANY_ADDRESS = ("", "0.0.0.0", "::")
_EXITED = re.compile(r"^Exited \((-?\d+)\)")


def _dig(raw: Any, *keys: str) -> Any:
    """``raw[k1][k2]...``, or {} where a level is missing or null (Docker writes null for empty)."""
    for key in keys:
        raw = (raw or {}).get(key)
    return {} if raw is None else raw


def _time(value: str | None) -> datetime | None:
    when = parse.time(value)
    return None if when is None or when.year < 2 else when  # Docker writes year 1 for "never"


def _env(items: Sequence[str] | None) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in items or ())


def _port(container: int, host: Any, protocol: str, address: str) -> PortMapping:
    return PortMapping(
        int(container), int(host or 0), protocol or "tcp", "" if address in _ANY_ADDRESS else address
    )


def _engine_ports(raw: Raw) -> tuple[PortMapping, ...]:
    """Ports of an engine container: a summary's list, or an inspect's ``{"80/tcp": [bindings]}``
    (the live ones while it runs, else the configured ones)."""
    if isinstance(raw.get("Ports"), list):
        found = [
            _port(p["PrivatePort"], p.get("PublicPort"), p.get("Type", ""), p.get("IP", ""))
            for p in raw["Ports"]
        ]
    else:
        bound = _dig(raw, "NetworkSettings", "Ports") or _dig(raw, "HostConfig", "PortBindings")
        found = [
            _port(int(key.partition("/")[0]), b.get("HostPort"), key.partition("/")[2], b.get("HostIp", ""))
            for key, binds in bound.items()
            for b in binds or ()
        ]
    return tuple(dict.fromkeys(found))  # IPv4 and IPv6 bindings of one port are one mapping


def _swarm_ports(items: Sequence[Raw] | None) -> tuple[PortMapping, ...]:
    return tuple(
        _port(p["TargetPort"], p.get("PublishedPort"), p.get("Protocol", ""), "") for p in items or ()
    )


def _engine_mounts(items: Sequence[Raw] | None) -> tuple[MountSpec, ...]:
    return tuple(
        MountSpec(
            m.get("Type", ""),
            m.get("Destination", ""),
            m.get("Name") or m.get("Source", ""),
            not m.get("RW", True),
        )
        for m in items or ()
    )


def _resources(limits: Raw, reservations: Raw) -> Resources:
    return Resources(
        cpu_limit=limits.get("NanoCPUs", 0) / 1e9,
        memory_limit_bytes=int(limits.get("MemoryBytes", 0)),
        cpu_reservation=reservations.get("NanoCPUs", 0) / 1e9,
        memory_reservation_bytes=int(reservations.get("MemoryBytes", 0)),
    )


def _engine_container(raw: Raw, node_id: str) -> ContainerInfo:
    """A container from an engine: a ``/containers/json`` summary or a ``/containers/{id}/json``."""
    inspected = isinstance(raw.get("State"), dict)
    labels = dict(_dig(raw, "Config", "Labels") if inspected else raw.get("Labels") or {})
    return ContainerInfo(
        container_id=raw["Id"],
        engine_container_id=raw["Id"],
        node_id=node_id,
        labels=labels,
        owner=labels.get(_SERVICE_NAME, ""),
        ports=_engine_ports(raw),
        mounts=_engine_mounts(raw.get("Mounts")),
        networks=tuple(_dig(raw, "NetworkSettings", "Networks")),
        **(_inspected(raw) if inspected else _summarised(raw)),
    )


def _summarised(raw: Raw) -> dict[str, Any]:
    exited = _EXITED.match(raw.get("Status", ""))
    return {
        "image": raw.get("Image", ""),
        "state": _ENGINE_STATES.get(raw.get("State", ""), ContainerState.UNSPECIFIED),
        "exit_code": int(exited.group(1)) if exited else 0,
        "create_time": datetime.fromtimestamp(raw["Created"], UTC) if raw.get("Created") else None,
        "state_message": raw.get("Status", ""),
    }


def _inspected(raw: Raw) -> dict[str, Any]:
    config, state, host = raw.get("Config") or {}, raw["State"], raw.get("HostConfig") or {}
    return {
        "image": config.get("Image", ""),
        "command": tuple(config.get("Entrypoint") or ()),
        "args": tuple(config.get("Cmd") or ()),
        "env": _env(config.get("Env")),
        "tty": bool(config.get("Tty")),
        "state": _ENGINE_STATES.get(state.get("Status", ""), ContainerState.UNSPECIFIED),
        "exit_code": int(state.get("ExitCode", 0)),
        "state_message": state.get("Error", ""),
        "create_time": _time(raw.get("Created")),
        "start_time": _time(state.get("StartedAt")),
        "finish_time": _time(state.get("FinishedAt")),
        "restart_count": int(raw.get("RestartCount", 0)),
        "restart_policy": _dig(host, "RestartPolicy").get("Name") or "no",
        "resources": Resources(
            cpu_limit=host.get("NanoCpus", 0) / 1e9,
            memory_limit_bytes=int(host.get("Memory", 0)),
            memory_reservation_bytes=int(host.get("MemoryReservation", 0)),
        ),
    }


def _template(template: Raw) -> dict[str, Any]:
    """What a task template (a service's, or a task's copy of it) says of its container."""
    spec = template.get("ContainerSpec") or {}
    condition = _dig(template, "RestartPolicy").get("Condition") or "any"  # Swarm's default
    return {
        "image": spec.get("Image", ""),
        "command": tuple(spec.get("Command") or ()),
        "args": tuple(spec.get("Args") or ()),
        "env": _env(spec.get("Env")),
        "labels": dict(spec.get("Labels") or {}),
        "tty": bool(spec.get("TTY")),
        "mounts": tuple(
            MountSpec(m.get("Type", ""), m.get("Target", ""), m.get("Source", ""), bool(m.get("ReadOnly")))
            for m in spec.get("Mounts") or ()
        ),
        "restart_policy": _RESTART_OUT.get(condition, condition),
        "resources": _resources(
            _dig(template, "Resources", "Limits"), _dig(template, "Resources", "Reservations")
        ),
    }


def task_state(task: Raw) -> str:
    return str(_dig(task, "Status", "State") or "")


def _container_of(task: Raw) -> str:
    return str(_dig(task, "Status", "ContainerStatus").get("ContainerID") or "")


def _task(task: Raw, owner: str) -> ContainerInfo:
    """A task's container as the manager knows it."""
    status, state = task.get("Status") or {}, task_state(task)
    changed = _time(status.get("Timestamp"))
    return ContainerInfo(
        container_id=_container_of(task),
        engine_container_id=_container_of(task),
        owner=owner,
        node_id=task.get("NodeID", ""),
        state=_TASK_STATES.get(state, ContainerState.CREATED),
        exit_code=int(_dig(status, "ContainerStatus").get("ExitCode", 0)),
        create_time=_time(task.get("CreatedAt")),
        start_time=changed if state == "running" else None,
        finish_time=changed if state in ENDED else None,
        ports=_swarm_ports(_dig(status, "PortStatus").get("Ports")),
        networks=tuple(
            a["Network"]["Spec"]["Name"]
            for a in task.get("NetworksAttachments") or ()
            if not _dig(a, "Network", "Spec").get("Ingress")
        ),
        state_message=status.get("Err") or status.get("Message", ""),
        **_template(task.get("Spec") or {}),
    )


def _merged(primary: ContainerInfo, fallback: ContainerInfo) -> ContainerInfo:
    """``primary``, with ``fallback``'s value wherever ``primary`` has none."""
    return replace(
        primary,
        **{f.name: getattr(fallback, f.name) for f in fields(primary) if not getattr(primary, f.name)},
    )


def _replicas(service: Raw) -> int:
    return int(_dig(service, "Spec", "Mode", "Replicated").get("Replicas", 0))


def is_managed(service: Raw) -> bool:
    return bool(_dig(service, "Spec", "Labels").get(MANAGED) == "true")


def _current(tasks: Sequence[Raw]) -> Raw | None:
    """The task that stands for a managed container now: the newest one meant to run, else
    the newest one."""
    epoch = datetime.min.replace(tzinfo=UTC)
    return max(
        tasks,
        key=lambda t: (t.get("DesiredState") in ("running", "ready"), _time(t.get("CreatedAt")) or epoch),
        default=None,
    )


def _managed(service: Raw, tasks: Sequence[Raw], network_names: dict[str, str]) -> ContainerInfo:
    """A managed service as one container: its spec, and its current task's state."""
    spec = service["Spec"]
    template = spec.get("TaskTemplate") or {}
    current = _current(tasks)
    ended = sum(1 for t in tasks if t is not current and task_state(t) in ENDED)
    info = ContainerInfo(
        container_id=spec["Name"],
        owner=spec["Name"],
        create_time=_time(service.get("CreatedAt")),
        # Swarm keeps network ids in the spec; the caller named them.
        networks=tuple(network_names.get(n["Target"], n["Target"]) for n in template.get("Networks") or ()),
        ports=_swarm_ports(_dig(spec, "EndpointSpec").get("Ports")),
        restart_count=ended,
        state=ContainerState.EXITED if _replicas(service) == 0 else ContainerState.CREATED,
        **_template(template),
    )
    if current is None:
        return info
    now = _task(current, spec["Name"])
    waiting = now.state is ContainerState.CREATED and ended > 0
    return replace(
        info,
        state=ContainerState.RESTARTING if waiting else now.state,
        node_id=now.node_id,
        exit_code=now.exit_code,
        start_time=now.start_time,
        finish_time=now.finish_time,
        state_message=now.state_message,
        engine_container_id=now.engine_container_id,
    )


def _network_names(networks: Sequence[Raw]) -> dict[str, str]:
    return {n["Id"]: n["Name"] for n in networks}


class Kind(enum.Enum):
    MANAGED = "managed"  # a service CreateContainer made; key: the service name
    TASK = "task"  # a task of another service; key: the engine id
    STANDALONE = "standalone"  # a container of an engine, outside any service


@dataclass(frozen=True)
class Found:
    info: ContainerInfo
    kind: Kind
    service: Raw = field(default_factory=dict)  # MANAGED: the service as read
    tasks: tuple[Raw, ...] = ()  # MANAGED: its tasks as read; TASK: its task, when the manager has it
    engine: Engine | None = None  # STANDALONE, TASK: the engine that holds it, when the driver reads it


@dataclass(frozen=True)
class _Scan:
    """One read of the whole swarm: the manager's objects and each engine's containers."""

    fleet: Fleet
    services: list[Raw]
    tasks: list[Raw]
    networks: dict[str, str]
    engines: list[tuple[NodeEngine, list[Raw]]]


def _assemble(scan: _Scan) -> dict[str, Found]:
    """Every container of a scan by key, each once."""
    names = {s["ID"]: s["Spec"]["Name"] for s in scan.services}
    managed = {s["ID"]: s for s in scan.services if is_managed(s)}
    out: dict[str, Found] = {}
    by_service = _by_service(scan.tasks)
    for sid, service in managed.items():
        tasks = tuple(by_service.get(sid, ()))
        out[names[sid]] = Found(_managed(service, tasks, scan.networks), Kind.MANAGED, service, tasks)
    tasks_by_id = {
        cid: t for t in scan.tasks if (cid := _container_of(t)) and t.get("ServiceID") not in managed
    }
    for node_engine, containers in scan.engines:
        for raw in containers:
            labels = raw.get("Labels") or _dig(raw, "Config", "Labels")
            if labels.get(SERVICE_ID) in managed or raw["Id"] in out:
                continue
            info = _engine_container(raw, node_engine.node_id)
            task = tasks_by_id.pop(raw["Id"], None)
            if task is not None:
                out[raw["Id"]] = Found(
                    _merged(info, _task(task, names.get(task["ServiceID"], ""))),
                    Kind.TASK,
                    tasks=(task,),
                    engine=node_engine.engine,
                )
            elif _TASK_ID in labels:  # its task is gone from the manager's records, not from the node
                out[raw["Id"]] = Found(info, Kind.TASK, engine=node_engine.engine)
            else:
                out[raw["Id"]] = Found(info, Kind.STANDALONE, engine=node_engine.engine)
    for cid, task in tasks_by_id.items():  # on nodes whose engine the driver cannot read
        out[cid] = Found(_task(task, names.get(task["ServiceID"], "")), Kind.TASK, tasks=(task,))
    return out


def _service_spec(name: str, spec: ContainerSpec, node_id: str) -> Raw:
    container: Raw = {
        "Image": spec.image,
        "Labels": dict(spec.labels),
        "Env": [f"{k}={v}" for k, v in spec.env.items()],
        "TTY": spec.tty,
        "Mounts": [
            {"Type": m.type, "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}
            for m in spec.mounts
        ],
    }
    if spec.command:
        container["Command"] = list(spec.command)
    if spec.args:
        container["Args"] = list(spec.args)
    res = spec.resources
    template: Raw = {
        "ContainerSpec": container,
        "Resources": {
            "Limits": {"NanoCPUs": int(res.cpu_limit * 1e9), "MemoryBytes": res.memory_limit_bytes},
            "Reservations": {
                "NanoCPUs": int(res.cpu_reservation * 1e9),
                "MemoryBytes": res.memory_reservation_bytes,
            },
        },
        "Placement": {"Constraints": [*spec.constraints, *([f"node.id=={node_id}"] if node_id else [])]},
        "Networks": [{"Target": n} for n in spec.networks],
    }
    if spec.restart_policy:
        template["RestartPolicy"] = {"Condition": _RESTART_IN[spec.restart_policy]}
    return {
        "Name": name,
        "Labels": {MANAGED: "true"},
        "TaskTemplate": template,
        "Mode": {"Replicated": {"Replicas": 1}},
        # Host mode: ingress publishing needs IPVS, which not every kernel has.
        "EndpointSpec": {
            "Ports": [
                {
                    "Protocol": p.protocol,
                    "TargetPort": p.container_port,
                    "PublishedPort": p.host_port,
                    "PublishMode": "host",
                }
                for p in spec.ports
            ]
        },
    }


def _refuse_unsupported(spec: ContainerSpec) -> None:
    for path, given, why in (
        ("container.namespace", spec.namespace, "Swarm has no namespaces"),
        ("container.replicas", spec.replicas > 1, "a Swarm container is one task; create a service for more"),
        ("container.image_pull_policy", spec.image_pull_policy, "Swarm engines use the images they hold"),
        (
            "container.ports.host_ip",
            any(p.host_ip for p in spec.ports),
            "Swarm publishes on every address of the node",
        ),
    ):
        if given:
            raise InvalidArgument.field(path, why, reason="UNSUPPORTED_FIELD")


def _respec(service: Raw, *, replicas: int | None = None, grace: int = 0, force: bool = False) -> Raw:
    """A copy of a service's spec, scaled, with a stop grace period, or forced to redeploy."""
    spec: Raw = copy.deepcopy(service["Spec"])
    template = spec.setdefault("TaskTemplate", {})
    if replicas is not None:
        spec["Mode"] = {"Replicated": {"Replicas": replicas}}
    if grace:
        template.setdefault("ContainerSpec", {})["StopGracePeriod"] = grace * 1_000_000_000
    if force:
        template["ForceUpdate"] = int(template.get("ForceUpdate", 0)) + 1
    return spec


def _failure(task: Raw) -> str:
    """Why a task's container cannot run ("" when it can, or did: the program's own exit is no failure)."""
    state, err = task_state(task), str(_dig(task, "Status").get("Err") or "")
    if state == "pending" and "no suitable node" in err:
        return "NO_SUITABLE_NODE"
    if state == "rejected":
        return "IMAGE_NOT_FOUND" if "no such image" in err.lower() else "TASK_REJECTED"
    if state == "failed" and "starting container failed" in err:
        return "CONTAINER_START_FAILED"
    return ""


def _started(
    name: str, before: frozenset[str], clock: Callable[[], float] = time.monotonic
) -> Callable[[list[Raw]], bool]:
    """Done when a task not in ``before`` runs or has run; raises when one cannot.

    "No suitable node" is final only once no task of ``before`` is still shutting down and
    the scheduler has said it for PLACEMENT_GRACE: a restarted task waits for the port,
    memory or node its predecessor is freeing, and the scheduler retries in batches.
    """
    unplaced_since: float | None = None

    def done(tasks: list[Raw]) -> bool:
        nonlocal unplaced_since
        leaving = any(t["ID"] in before and task_state(t) not in ENDED for t in tasks)
        new = [t for t in tasks if t["ID"] not in before]
        for task in new:
            reason = _failure(task)
            if reason == "NO_SUITABLE_NODE":
                if leaving:
                    unplaced_since = None
                    continue
                unplaced_since = clock() if unplaced_since is None else unplaced_since
                if clock() - unplaced_since < PLACEMENT_GRACE:
                    continue
            if reason:
                raise FailedPrecondition(
                    f"container {name} cannot run: {_dig(task, 'Status').get('Err')}",
                    reason=reason,
                    metadata={"container": name, "node": task.get("NodeID", ""), "task": task["ID"]},
                )
        return any(task_state(t) == "running" or task_state(t) in ENDED for t in new)

    return done


def _outgoing(tasks: Sequence[Raw]) -> frozenset[str]:
    """The tasks that will not run again: ended, or being shut down."""
    return frozenset(
        t["ID"] for t in tasks if task_state(t) in ENDED or t.get("DesiredState") not in ("running", "ready")
    )


def _stopped(tasks: list[Raw]) -> bool:
    return all(task_state(t) in ENDED for t in tasks)


def _managed_by_service(container_id: str, service: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"container {container_id} is a task of service {service}: scale or update the service instead",
        reason="CONTAINER_MANAGED_BY_SERVICE",
        metadata={"container": container_id, "service": service},
    )


class SwarmContainers:
    """ContainerOps over a swarm manager and the node engines the pool knows."""

    def __init__(self, driver: SwarmDriver) -> None:
        self._driver = driver
        self._undoing: set[asyncio.Task[None]] = set()

    @property
    def _manager(self) -> Engine:
        return self._driver.manager

    async def list(self) -> Sequence[ContainerInfo]:
        scan = await self._scan(lambda engine: engine.get("containers/json", {"all": "1"}))
        return [found.info for found in _assemble(scan).values()]

    async def get(self, container_id: str) -> ContainerInfo:
        return (await self.find(container_id)).info

    async def create(self, name: str, spec: ContainerSpec, *, validate_only: bool) -> ContainerInfo:
        name = name or f"c-{secrets.token_hex(4)}"
        _refuse_unsupported(spec)
        node_id, networks, _ = await gather_all(
            [self._node_id(spec.target_node), self._networks(spec.networks), self._name_free(name)], awaited
        )
        body = _service_spec(name, spec, node_id)
        if validate_only:
            return replace(_managed({"Spec": body}, (), networks), state=ContainerState.UNSPECIFIED)
        service_id = (await self._manager.request("POST", "services/create", body=body))["ID"]
        undo = functools.partial(self._manager.request, "DELETE", f"services/{service_id}")
        return await self._run(name, service_id, frozenset(), undo)

    async def start(self, container_id: str) -> ContainerInfo:
        found = await self.find(container_id)
        if found.kind is Kind.STANDALONE:
            return await self._engine_call(found, "start")
        service = self._managed_only(found)
        before = _outgoing(found.tasks)
        undo = None
        if _replicas(service) == 0:
            await self._update(service, _respec(service, replicas=1))
            undo = functools.partial(self._rescale, service["ID"], 0)
        elif before == {t["ID"] for t in found.tasks}:  # its task has ended: a new one runs it again
            await self._update(service, _respec(service, force=True))
        return await self._run(container_id, service["ID"], before, undo)

    async def stop(self, container_id: str, timeout_seconds: int) -> ContainerInfo:
        found = await self.find(container_id)
        if found.kind is Kind.STANDALONE:
            return await self._engine_call(found, "stop", timeout_seconds)
        service = self._managed_only(found)
        if _replicas(service) != 0:
            await self._update(service, _respec(service, replicas=0, grace=timeout_seconds))
        await self._wait(container_id, service["ID"], _stopped, "stop")
        return (await self._managed_found(container_id)).info

    async def restart(self, container_id: str, timeout_seconds: int) -> ContainerInfo:
        found = await self.find(container_id)
        if found.kind is Kind.STANDALONE:
            return await self._engine_call(found, "restart", timeout_seconds)
        service = self._managed_only(found)
        if _replicas(service) == 0:  # a stopped container restarts by starting
            return await self.start(container_id)
        await self._update(service, _respec(service, grace=timeout_seconds, force=True))
        return await self._run(container_id, service["ID"], frozenset(t["ID"] for t in found.tasks), None)

    async def delete(self, container_id: str, *, force: bool, grace_period_seconds: int) -> None:
        # grace_period_seconds is Kubernetes's; an engine kills at once on a forced delete.
        found = await self.find(container_id)
        if found.kind is Kind.STANDALONE:
            assert found.engine is not None
            params = {"force": "true" if force else "false"}
            await found.engine.request("DELETE", f"containers/{container_id}", params)
            return
        service = self._managed_only(found)
        await self._manager.request("DELETE", f"services/{service['ID']}")

    # -- reading ---------------------------------------------------------------------------

    async def _scan(self, read: Callable[[Engine], Awaitable[Raws]]) -> _Scan:
        manager = self._manager
        fleet, services, tasks, networks = await gather_all(
            [
                read_fleet(self._driver),
                manager.get("services"),
                manager.get("tasks"),
                manager.get("networks"),
            ],
            awaited,
        )
        engines = list(fleet.engines.values())
        containers = await gather_all(engines, lambda node_engine: read(node_engine.engine))
        return _Scan(
            fleet, services, tasks, _network_names(networks), list(zip(engines, containers, strict=True))
        )

    async def find(self, container_id: str) -> Found:
        """What a container is (managed, a task, standalone) and where it is read (for logs too)."""
        if not ENGINE_ID.match(container_id):
            return await self._managed_found(container_id)

        async def inspect(engine: Engine) -> Raws:
            try:
                return [await engine.get(f"containers/{container_id}/json")]
            except NotFound:
                return []

        scan = await self._scan(inspect)
        found = _assemble(scan).get(container_id)
        if found is not None:
            return found
        # A managed service's task container is known by the service's name only: say which.
        owners = {t["ServiceID"] for t in scan.tasks if _container_of(t) == container_id}
        services = [s["Spec"]["Name"] for s in scan.services if s["ID"] in owners]
        raise NotFound(
            f"no container {container_id}",
            reason="CONTAINER_NOT_FOUND",
            metadata={"service": services[0]} if services else {},
        )

    async def managed_states(self, names: Collection[str]) -> dict[str, ContainerInfo]:
        """The managed containers of ``names`` that exist, in two manager requests however many
        (their networks are not named: for a look at their state)."""
        wanted = sorted(names)
        services, tasks = await gather_all(
            [
                self._manager.get("services", {"filters": json.dumps({"name": wanted})}),
                self._manager.get("tasks", {"filters": json.dumps({"service": wanted})}),
            ],
            awaited,
        )
        by_service = _by_service(tasks)
        found = {}
        for service in services:
            name = _dig(service, "Spec").get("Name")
            # The name filter matches prefixes too: only the exact names count.
            if name in names and is_managed(service):
                found[name] = _managed(service, by_service.get(str(service["ID"]), []), {})
        return found

    async def _managed_found(self, name: str) -> Found:
        service, tasks, networks = await gather_all(
            [
                self._manager.get(f"services/{name}"),
                self._manager.get("tasks", _of_service(name)),
                self._manager.get("networks"),
            ],
            awaited,
        )
        # The engine also finds a service by id or id prefix: only the exact name counts.
        if _dig(service, "Spec").get("Name") != name or not is_managed(service):
            raise NotFound(f"no container {name}", reason="CONTAINER_NOT_FOUND")
        found = _managed(service, tasks, _network_names(networks))
        return Found(found, Kind.MANAGED, service, tuple(tasks))

    @staticmethod
    def _managed_only(found: Found) -> Raw:
        if found.kind is Kind.TASK:
            raise _managed_by_service(found.info.container_id, found.info.owner)
        return found.service

    # -- create's references -----------------------------------------------------------------

    async def _node_id(self, target: str) -> str:
        """The id of the node a container must run on (given by id or hostname); "" for any."""
        if not target:
            return ""
        try:
            raw = await self._manager.get(f"nodes/{target}")
        except NotFound:
            raw = {}
        # The engine also finds a node by id prefix: only the exact id or hostname counts.
        if target not in (raw.get("ID"), _dig(raw, "Description").get("Hostname")):
            raise node_not_found(target)
        return str(raw["ID"])

    async def _networks(self, names: Sequence[str]) -> dict[str, str]:
        async def one(name: str) -> Raw:
            try:
                return dict(await self._manager.get(f"networks/{name}"))
            except NotFound:
                raise NotFound(
                    f"network {name} does not exist", reason="NETWORK_NOT_FOUND", metadata={"network": name}
                ) from None

        return _network_names(await gather_all(names, one))

    async def _name_free(self, name: str) -> None:
        try:
            service = await self._manager.get(f"services/{name}")
        except NotFound:
            return
        if _dig(service, "Spec").get("Name") == name:
            raise AlreadyExists(
                f"the swarm has a service named {name} already",
                reason="NAME_IN_USE",
                metadata={"container": name},
            )

    # -- changing ----------------------------------------------------------------------------

    async def _engine_call(self, found: Found, action: str, timeout_seconds: int = 0) -> ContainerInfo:
        """start, stop or restart on the engine that holds a standalone container."""
        engine, cid = found.engine, found.info.container_id
        assert engine is not None
        params = {"t": str(timeout_seconds)} if timeout_seconds else None
        # A stop answers after the container's grace period (its own, or Docker's 10 s, unless
        # given): only the call's deadline bounds it.
        cap = REQUEST_CAP if action == "start" else deadline.remaining()
        await engine.request("POST", f"containers/{cid}/{action}", params, cap=cap)
        return _engine_container(await engine.get(f"containers/{cid}/json"), found.info.node_id)

    async def _update(self, service: Raw, spec: Raw) -> None:
        version = str(_dig(service, "Version").get("Index", ""))
        await self._manager.request("POST", f"services/{service['ID']}/update", {"version": version}, spec)

    async def _rescale(self, service_id: str, replicas: int) -> None:
        service = await self._manager.get(f"services/{service_id}")
        await self._update(service, _respec(service, replicas=replicas))

    async def _run(
        self, name: str, service_id: str, before: frozenset[str], undo: Callable[[], Awaitable[Any]] | None
    ) -> ContainerInfo:
        """Wait until a task not in ``before`` runs (or ran); on failure, ``undo`` what the call did."""
        try:
            await self._wait(name, service_id, _started(name, before), "start")
        except BaseException:
            if undo is not None:
                await self._undone(undo)
            raise
        return (await self._managed_found(name)).info

    async def _wait(self, name: str, service_id: str, done: Callable[[Raws], bool], what: str) -> None:
        while not done(await self._manager.get("tasks", _of_service(service_id))):
            if deadline.remaining() <= POLL + UNDO_RESERVE:
                raise ClusterUnavailable(
                    f"container {name} did not {what} in time",
                    reason="CONTAINER_TIMEOUT",
                    metadata={"container": name, "operation": what},
                )
            await asyncio.sleep(POLL)

    async def _undone(self, undo: Callable[[], Awaitable[Any]]) -> None:
        """Run ``undo`` to its end, with time of its own, even when the call is being cancelled
        (its caller has gone): nothing is left half-done. Its own failure is not reported:
        the caller needs the original error."""

        async def run() -> None:
            with deadline.detached(UNDO_CAP), contextlib.suppress(ZanePoolError):
                await undo()

        task = asyncio.ensure_future(run())
        self._undoing.add(task)
        task.add_done_callback(self._undoing.discard)
        await asyncio.shield(task)


def _by_service(tasks: Sequence[Raw]) -> dict[str, list[Raw]]:
    """Tasks by the id of their service, in one pass."""
    grouped: dict[str, list[Raw]] = {}
    for task in tasks:
        grouped.setdefault(str(task.get("ServiceID")), []).append(task)
    return grouped


def _of_service(service: str) -> dict[str, str]:
    return {"filters": json.dumps({"service": [service]})}
