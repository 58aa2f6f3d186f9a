"""Plain data shared by the domain, the drivers and the store (no I/O, no gRPC).

Enumerations use the wire names without their prefixes (``Driver.SWARM`` is
``DRIVER_SWARM``); the API layer converts, the store keeps these strings. One module per
resource; everything is re-exported here.
"""

from zanepool_server.model.containers import (
    ContainerInfo,
    ContainerSpec,
    ContainerState,
    MountSpec,
    PortMapping,
    Resources,
)
from zanepool_server.model.core import (
    Capability,
    ClusterInfo,
    ClusterSnapshot,
    Credentials,
    Driver,
    EngineSpec,
    NodeAvailability,
    NodeChange,
    NodeRole,
    NodeState,
    NodeSummary,
    Pool,
    PoolState,
    dict_to_pairs,
    pairs_to_dict,
)
from zanepool_server.model.storage import ImageInfo, NetworkInfo, NetworkSpec, VolumeInfo, VolumeSpec
from zanepool_server.model.streams import ClusterEvent, LogLine, LogStream

__all__ = [
    "Capability",
    "ClusterEvent",
    "ClusterInfo",
    "ClusterSnapshot",
    "ContainerInfo",
    "ContainerSpec",
    "ContainerState",
    "Credentials",
    "Driver",
    "EngineSpec",
    "ImageInfo",
    "LogLine",
    "LogStream",
    "MountSpec",
    "NetworkInfo",
    "NetworkSpec",
    "NodeAvailability",
    "NodeChange",
    "NodeRole",
    "NodeState",
    "NodeSummary",
    "Pool",
    "PoolState",
    "PortMapping",
    "Resources",
    "VolumeInfo",
    "VolumeSpec",
    "dict_to_pairs",
    "pairs_to_dict",
]
