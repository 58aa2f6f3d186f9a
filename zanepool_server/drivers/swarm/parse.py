"""Engine API documents -> domain data (pure functions)."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import datetime
from typing import Any

from zanepool_server.model import (
    ClusterInfo,
    NodeAvailability,
    NodeRole,
    NodeState,
    NodeSummary,
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
#: An engine reports its machine as uname does; the API names it as Go and OCI platforms do
#: (as Kubernetes does), so that one filter matches the same machine in every kind of pool.
_ARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i386": "386",
    "i686": "386",
}


def arch(uname: str) -> str:
    return _ARCH.get(uname, uname)


def time(value: str | None) -> datetime | None:
    if not value:
        return None
    # Docker writes nanoseconds; Python reads microseconds.
    head, _, frac = value.rstrip("Z").partition(".")
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")
    return None


def node(raw: dict[str, Any], tasks: list[dict[str, Any]], engine_info: dict[str, Any]) -> NodeSummary:
    spec, desc = raw.get("Spec") or {}, raw.get("Description") or {}
    status, manager = raw.get("Status") or {}, raw.get("ManagerStatus") or {}
    res, platform, engine = desc.get("Resources") or {}, desc.get("Platform") or {}, desc.get("Engine") or {}
    mine = [t for t in tasks if t.get("NodeID") == raw["ID"]]
    reserved = [((t.get("Spec") or {}).get("Resources") or {}).get("Reservations") or {} for t in mine]
    states = Counter(((t.get("Status") or {}).get("State") or "") for t in mine)
    is_local = raw["ID"] == (engine_info.get("Swarm") or {}).get("NodeID")
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
        containers_running=int(engine_info.get("ContainersRunning", 0)) if is_local else states["running"],
        containers_paused=int(engine_info.get("ContainersPaused", 0)) if is_local else 0,
        containers_stopped=int(engine_info.get("ContainersStopped", 0))
        if is_local
        else sum(n for s, n in states.items() if s != "running"),
        labels=dict(spec.get("Labels") or {}),
        engine_labels=dict(engine.get("Labels") or {}),
        os=platform.get("OS", ""),
        arch=arch(platform.get("Architecture", "")),
        kernel_version=engine_info.get("KernelVersion", "") if is_local else "",
        state_message=status.get("Message", ""),
        leader=bool(manager.get("Leader")),
        create_time=time(raw.get("CreatedAt")),
        update_time=time(raw.get("UpdatedAt")),
        version=str((raw.get("Version") or {}).get("Index", "")),
    )


def info(engine_info: dict[str, Any], version: dict[str, Any], nodes: tuple[NodeSummary, ...]) -> ClusterInfo:
    return ClusterInfo(
        server_version=str(engine_info.get("ServerVersion", "")),
        api_version=str(version.get("ApiVersion", "")),
        os=str(engine_info.get("OperatingSystem", "")),
        arch=arch(str(engine_info.get("Architecture", ""))),
        kernel_version=str(engine_info.get("KernelVersion", "")),
        cpus=sum(n.cpus for n in nodes),
        memory_bytes=sum(n.memory_bytes for n in nodes),
        node_count=len(nodes),
        containers_running=int(engine_info.get("ContainersRunning", 0)),
        containers_paused=int(engine_info.get("ContainersPaused", 0)),
        containers_stopped=int(engine_info.get("ContainersStopped", 0)),
        ready_node_count=sum(n.state == NodeState.READY for n in nodes),
        manager_count=sum(n.role == NodeRole.MANAGER for n in nodes),
    )
