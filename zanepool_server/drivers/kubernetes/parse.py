"""Kubernetes API documents -> domain data: quantities, times, nodes, cluster info, images,
volumes (pure functions; pods and containers are in ``pods``).

Keys: a resource name's last segment must be ``[A-Za-z0-9_.-]``. Kubernetes object names
(DNS labels and subdomains) never hold ``_``, so ``_`` joins the parts of a key:

- an image: ``{node}_{id}``, ``id`` being the 64 hex digits of its repo digest, or (for
  an image with no digest, e.g. built on the node) of the SHA-256 of its sorted names;
- a PersistentVolumeClaim: ``pvc_{namespace}_{name}``; a PersistentVolume: ``pv_{name}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from zanepool_server.errors import InvalidArgument
from zanepool_server.model import (
    ClusterInfo,
    ImageInfo,
    NodeAvailability,
    NodeRole,
    NodeState,
    NodeSummary,
    VolumeInfo,
)

Doc = dict[str, Any]
SEP = "_"
#: Labels that make a node a control-plane node (``master`` before Kubernetes 1.20).
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
#: Pod phases after which a pod holds no resources on its node.
FINISHED = frozenset({"Succeeded", "Failed"})

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def dig(raw: Any, *keys: str) -> Any:
    """``raw[k1][k2]...``, or {} where a level is missing, null or not a mapping."""
    for key in keys:
        raw = raw.get(key) if isinstance(raw, dict) else None
    return raw if raw is not None else {}


def quantity(value: Any) -> Decimal:
    """A resource quantity (``250m``, ``1.5``, ``128Mi``, ``1e3``) as a number; 0 when unreadable."""
    match = _QUANTITY.match(str(value).strip()) if value is not None else None
    if match is None:
        return Decimal(0)
    number, suffix = match.groups()
    try:
        amount = Decimal(number)
        if suffix is None or suffix in _DECIMAL:
            return amount.scaleb(_DECIMAL[suffix or ""])
        if suffix in _BINARY:
            return amount * _BINARY[suffix]
        return amount.scaleb(int(suffix[1:]))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def cpus(value: Any) -> float:
    return float(quantity(value))


def byte_count(value: Any) -> int:
    """Bytes, rounded up (as the API server rounds quantities it serialises)."""
    return int(quantity(value).to_integral_value(ROUND_CEILING))


def time(value: Any) -> datetime | None:
    """An RFC 3339 time (``2024-01-02T03:04:05Z``, with or without fractions)."""
    if not value or not isinstance(value, str):
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def labels(raw: Doc) -> dict[str, str]:
    return {str(k): str(v) for k, v in dig(raw, "metadata", "labels").items()}


# --- nodes -----------------------------------------------------------------------------------


def role(node_labels: Mapping[str, str]) -> NodeRole:
    return NodeRole.MANAGER if any(k in node_labels for k in CONTROL_PLANE_LABELS) else NodeRole.WORKER


def _ready(raw: Doc) -> tuple[NodeState, str]:
    """The node's state from its Ready condition, and why."""
    for condition in dig(raw, "status").get("conditions") or ():
        if condition.get("type") != "Ready":
            continue
        status = condition.get("status")
        why = ": ".join(p for p in (condition.get("reason"), condition.get("message")) if p)
        if status == "True":
            return NodeState.READY, why
        if status == "False":
            return NodeState.DOWN, why
        return NodeState.UNKNOWN, why  # "Unknown": the kubelet stopped posting its status
    return NodeState.UNKNOWN, "the node reports no Ready condition"


def _address(raw: Doc, kind: str) -> str:
    for address in dig(raw, "status").get("addresses") or ():
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return ""


def _heartbeat(raw: Doc) -> datetime | None:
    seen = [time(c.get("lastHeartbeatTime")) for c in dig(raw, "status").get("conditions") or ()]
    known = [t for t in seen if t is not None]
    return max(known) if known else None


def pod_requests(pod: Doc) -> tuple[Decimal, Decimal]:
    """CPU and memory a pod requests, as the scheduler counts them: the larger of its
    containers' sum and its largest init container, plus its overhead."""
    spec = dig(pod, "spec")

    def requests(container: Doc) -> tuple[Decimal, Decimal]:
        req = dig(container, "resources", "requests")
        return quantity(req.get("cpu")), quantity(req.get("memory"))

    main = [requests(c) for c in spec.get("containers") or ()]
    init = [requests(c) for c in spec.get("initContainers") or ()]
    overhead = spec.get("overhead") or {}
    cpu = max(sum((c for c, _ in main), Decimal(0)), max((c for c, _ in init), default=Decimal(0)))
    memory = max(sum((m for _, m in main), Decimal(0)), max((m for _, m in init), default=Decimal(0)))
    return cpu + quantity(overhead.get("cpu")), memory + quantity(overhead.get("memory"))


def container_states(pods: Iterable[Doc]) -> Counter[str]:
    """How many containers of the pods are ``running`` and ``stopped`` (waiting or terminated)."""
    counts: Counter[str] = Counter()
    for pod in pods:
        for status in dig(pod, "status").get("containerStatuses") or ():
            counts["running" if "running" in (status.get("state") or {}) else "stopped"] += 1
    return counts


def by_node(pods: Iterable[Doc]) -> dict[str, list[Doc]]:
    placed: dict[str, list[Doc]] = defaultdict(list)
    for pod in pods:
        name = dig(pod, "spec").get("nodeName")
        if name:
            placed[str(name)].append(pod)
    return placed


def spec_version(raw: Doc) -> str:
    """A node's etag: a digest of what can be set on it (its labels, taints and whether it
    takes pods). Not its resourceVersion, which the kubelet moves every few seconds with
    the node's status: an etag read a moment ago would then never match."""
    spec = dig(raw, "spec")
    mine = {
        "labels": dig(raw, "metadata").get("labels") or {},
        "taints": spec.get("taints") or [],
        "unschedulable": bool(spec.get("unschedulable")),
    }
    return hashlib.sha256(json.dumps(mine, sort_keys=True).encode()).hexdigest()[:16]


def node(raw: Doc, pods: Sequence[Doc]) -> NodeSummary:
    """One node, with ``pods`` the pods placed on it."""
    meta, status = dig(raw, "metadata"), dig(raw, "status")
    info, capacity, allocatable = (
        status.get("nodeInfo") or {},
        status.get("capacity") or {},
        status.get("allocatable") or {},
    )
    node_labels = labels(raw)
    state, why = _ready(raw)
    active = [p for p in pods if dig(p, "status").get("phase") not in FINISHED]
    reserved = [pod_requests(p) for p in active]
    counts = container_states(pods)
    name = str(meta.get("name", ""))
    return NodeSummary(
        node_id=name,
        hostname=_address(raw, "Hostname") or node_labels.get("kubernetes.io/hostname", name),
        address=_address(raw, "InternalIP") or _address(raw, "ExternalIP"),
        role=role(node_labels),
        state=state,
        availability=NodeAvailability.PAUSE
        if dig(raw, "spec").get("unschedulable")
        else NodeAvailability.ACTIVE,
        engine_version=str(info.get("kubeletVersion", "")),
        cpus=int(cpus(capacity.get("cpu"))),
        memory_bytes=byte_count(capacity.get("memory")),
        reserved_cpus=float(sum((c for c, _ in reserved), Decimal(0))),
        reserved_memory_bytes=int(sum((m for _, m in reserved), Decimal(0))),
        containers_running=counts["running"],
        containers_stopped=counts["stopped"],
        labels=node_labels,
        os=str(info.get("operatingSystem", "")),
        arch=str(info.get("architecture", "")),
        kernel_version=str(info.get("kernelVersion", "")),
        state_message=why,
        create_time=time(meta.get("creationTimestamp")),
        update_time=_heartbeat(raw),
        version=spec_version(raw),
        allocatable_cpus=cpus(allocatable.get("cpu")),
        allocatable_memory_bytes=byte_count(allocatable.get("memory")),
    )


def nodes(raws: Sequence[Doc], pods: Sequence[Doc]) -> tuple[NodeSummary, ...]:
    """Every node, from one node list and one pod list (pods grouped by node once)."""
    placed = by_node(pods)
    return tuple(node(raw, placed.get(str(dig(raw, "metadata").get("name", "")), [])) for raw in raws)


def _distinct(values: Iterable[str]) -> str:
    """One value when the nodes agree, else each value once, sorted and comma-separated."""
    return ", ".join(sorted({v for v in values if v}))


def version_number(version: Doc, part: str) -> str:
    """The digits of one part (``major``, ``minor``) of ``/version``: some providers write the
    minor as ``27+``; "" when it has none."""
    return re.sub(r"\D", "", str(version.get(part, "")))


def api_version(version: Doc) -> str:
    """``major.minor`` from ``/version``."""
    major = version_number(version, "major")
    minor = version_number(version, "minor")
    return f"{major}.{minor}" if major and minor else ""


def info(
    version: Doc, raws: Sequence[Doc], summaries: Sequence[NodeSummary], pods: Sequence[Doc]
) -> ClusterInfo:
    node_info = [dig(raw, "status", "nodeInfo") for raw in raws]
    phases = Counter(str(dig(p, "status").get("phase", "")) for p in pods)
    counts = container_states(pods)
    return ClusterInfo(
        server_version=str(version.get("gitVersion", "")),
        api_version=api_version(version),
        os=_distinct(str(i.get("osImage") or i.get("operatingSystem") or "") for i in node_info),
        arch=_distinct(str(i.get("architecture", "")) for i in node_info),
        kernel_version=_distinct(str(i.get("kernelVersion", "")) for i in node_info),
        cpus=sum(n.cpus for n in summaries),
        memory_bytes=sum(n.memory_bytes for n in summaries),
        node_count=len(summaries),
        containers_running=counts["running"],
        containers_stopped=counts["stopped"],
        ready_node_count=sum(n.state is NodeState.READY for n in summaries),
        manager_count=sum(n.role is NodeRole.MANAGER for n in summaries),
        pods_running=phases["Running"],
        pods_pending=phases["Pending"],
        pods_succeeded=phases["Succeeded"],
        pods_failed=phases["Failed"],
    )


# --- keys ------------------------------------------------------------------------------------


def key(*parts: str) -> str:
    return SEP.join(parts)


def bad_key(value: str, what: str, form: str) -> InvalidArgument:
    return InvalidArgument.field(
        "name", f"a Kubernetes {what} id is {form}", reason="INVALID_NAME", metadata={"value": value[:200]}
    )


def split_key(value: str, count: int, what: str, form: str) -> list[str]:
    """A key's ``count`` parts, or INVALID_NAME saying what the key of ``what`` looks like."""
    parts = value.split(SEP)
    if len(parts) != count or not all(parts):
        raise bad_key(value, what, form)
    return parts


# --- images ----------------------------------------------------------------------------------


def image_id(names: Sequence[str]) -> str:
    """The 64 hex digits that identify an image of a node (see the module's doc)."""
    for name in names:
        _, at, digest = name.partition("@sha256:")
        if at and _HEX64.match(digest):
            return digest
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()


def images(raw: Doc) -> list[ImageInfo]:
    """The images a node's kubelet reports (``status.images``: names and size, no id or time)."""
    node_id = str(dig(raw, "metadata").get("name", ""))
    out = []
    for image in dig(raw, "status").get("images") or ():
        names = [str(n) for n in image.get("names") or ()]
        if not names:
            continue
        out.append(
            ImageInfo(
                image_key=key(node_id, image_id(names)),
                image_id="",  # the kubelet reports no image id
                node_id=node_id,
                repo_tags=tuple(n for n in names if "@" not in n),
                repo_digests=tuple(n for n in names if "@" in n),
                size_bytes=int(image.get("sizeBytes") or 0),
                containers=-1,
            )
        )
    return out


# --- volumes ---------------------------------------------------------------------------------

CLAIM = "persistentvolumeclaim"
PERSISTENT_VOLUME = "persistentvolume"


def claim(raw: Doc) -> VolumeInfo:
    meta, spec, status = dig(raw, "metadata"), dig(raw, "spec"), dig(raw, "status")
    capacity = status.get("capacity") or dig(spec, "resources", "requests")
    namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    return VolumeInfo(
        volume_key=key("pvc", namespace, name),
        driver=str(spec.get("storageClassName") or ""),
        labels=labels(raw),
        scope="global",
        create_time=time(meta.get("creationTimestamp")),
        capacity_bytes=byte_count(capacity.get("storage")),
        access_modes=tuple(str(m) for m in status.get("accessModes") or spec.get("accessModes") or ()),
        status=str(status.get("phase", "")),
        namespace=namespace,
        kind=CLAIM,
    )


def persistent_volume(raw: Doc) -> VolumeInfo:
    meta, spec = dig(raw, "metadata"), dig(raw, "spec")
    return VolumeInfo(
        volume_key=key("pv", str(meta.get("name", ""))),
        driver=str(spec.get("storageClassName") or ""),
        labels=labels(raw),
        mountpoint=str(dig(spec, "hostPath").get("path") or dig(spec, "local").get("path") or ""),
        scope="global",
        create_time=time(meta.get("creationTimestamp")),
        capacity_bytes=byte_count(dig(spec, "capacity").get("storage")),
        access_modes=tuple(str(m) for m in spec.get("accessModes") or ()),
        status=str(dig(raw, "status").get("phase", "")),
        kind=PERSISTENT_VOLUME,
    )
