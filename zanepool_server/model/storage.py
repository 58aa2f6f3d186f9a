"""Images, volumes and networks as drivers read them, and what a caller asks to create."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ImageInfo:
    """An image on one node; ``image_key`` is the stable id in its resource name."""

    image_key: str
    image_id: str
    node_id: str = ""
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    size_bytes: int = 0
    create_time: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    containers: int = -1


@dataclass(frozen=True)
class VolumeSpec:
    driver: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    node_id: str = ""  # where to create a node-local volume
    capacity_bytes: int = 0
    access_modes: tuple[str, ...] = ()
    namespace: str = ""


@dataclass(frozen=True)
class VolumeInfo:
    volume_key: str
    driver: str = ""
    node_id: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    mountpoint: str = ""
    scope: str = ""
    create_time: datetime | None = None
    options: dict[str, str] = field(default_factory=dict)
    capacity_bytes: int = 0
    access_modes: tuple[str, ...] = ()
    status: str = ""
    namespace: str = ""
    kind: str = "volume"


@dataclass(frozen=True)
class NetworkSpec:
    driver: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    subnets: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    attachable: bool = False
    internal: bool = False
    options: dict[str, str] = field(default_factory=dict)
    node_id: str = ""


@dataclass(frozen=True)
class NetworkInfo:
    network_key: str
    network_id: str = ""
    driver: str = ""
    scope: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    subnets: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    attachable: bool = False
    internal: bool = False
    create_time: datetime | None = None
    node_id: str = ""
    options: dict[str, str] = field(default_factory=dict)
