"""Containers: what a driver reads, and what a caller asks to create."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class ContainerState(enum.StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    RESTARTING = "RESTARTING"
    EXITED = "EXITED"
    DEAD = "DEAD"


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int = 0
    protocol: str = "tcp"
    host_ip: str = ""


@dataclass(frozen=True)
class MountSpec:
    type: str
    target: str
    source: str = ""
    read_only: bool = False


@dataclass(frozen=True)
class Resources:
    cpu_limit: float = 0.0
    memory_limit_bytes: int = 0
    cpu_reservation: float = 0.0
    memory_reservation_bytes: int = 0


@dataclass(frozen=True)
class ContainerSpec:
    """What CreateContainer asks for (the input-side fields of Container)."""

    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ports: tuple[PortMapping, ...] = ()
    mounts: tuple[MountSpec, ...] = ()
    networks: tuple[str, ...] = ()
    restart_policy: str = ""
    resources: Resources = field(default_factory=Resources)
    target_node: str = ""  # a node id
    constraints: tuple[str, ...] = ()
    namespace: str = ""
    replicas: int = 0
    image_pull_policy: str = ""
    tty: bool = False


@dataclass(frozen=True)
class ContainerInfo:
    """One container as a driver reads it; ``container_id`` is the stable id in its resource name."""

    container_id: str
    image: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    node_id: str = ""
    state: ContainerState = ContainerState.UNSPECIFIED
    exit_code: int = 0
    create_time: datetime | None = None
    start_time: datetime | None = None
    finish_time: datetime | None = None
    ports: tuple[PortMapping, ...] = ()
    mounts: tuple[MountSpec, ...] = ()
    networks: tuple[str, ...] = ()
    restart_policy: str = ""
    resources: Resources = field(default_factory=Resources)
    owner: str = ""
    namespace: str = ""
    restart_count: int = 0
    state_message: str = ""
    engine_container_id: str = ""
    image_pull_policy: str = ""
    tty: bool = False
