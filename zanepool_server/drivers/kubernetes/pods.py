"""Pods <-> containers (pure functions): a pod's containers as ContainerInfo, and the pod or
Deployment a CreateContainer asks for.

A container is one container of a pod (``spec.containers``; init and ephemeral containers
are not listed). Its key is ``{namespace}_{pod}_{container}``: namespaces and container
names are DNS labels and pod names DNS subdomains, none of which ever holds ``_``, so
the key splits back into its three parts, and it is URL-safe. (A key is at most 300
characters: a pod name longer than about 230 characters cannot be addressed.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from zanepool_server.drivers.kubernetes.parse import (
    FINISHED,
    Doc,
    byte_count,
    cpus,
    dig,
    key,
    labels,
    split_key,
    time,
)
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import (
    ContainerInfo,
    ContainerSpec,
    ContainerState,
    MountSpec,
    PortMapping,
    Resources,
)

#: The label CreateContainer puts on what it makes (the pod, or a Deployment and its pods);
#: a Deployment selects its pods by it.
MANAGED = "zanepool.io/container"
DEFAULT_NAMESPACE = "default"
#: A mirror pod (the API's copy of a kubelet's static pod) carries this annotation.
MIRROR = "kubernetes.io/config.mirror"
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_RESTART_OUT = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}
_RESTART_IN = {
    "": "Always",
    "always": "Always",
    "unless-stopped": "Always",
    "on-failure": "OnFailure",
    "no": "Never",
}


def container_key(namespace: str, pod: str, container: str) -> str:
    return key(namespace, pod, container)


def split_container_key(value: str) -> tuple[str, str, str]:
    namespace, pod, container = split_key(value, 3, "container", "{namespace}_{pod}_{container}")
    return namespace, pod, container


def owner(pod: Doc) -> str:
    """``Kind/name`` of the pod's controller (else its first owner); "" for a bare pod."""
    refs = [r for r in dig(pod, "metadata").get("ownerReferences") or () if isinstance(r, dict)]
    chosen = controller(pod) or (refs[0] if refs else None)
    return f"{chosen.get('kind', '')}/{chosen.get('name', '')}" if chosen else ""


def controller(pod: Doc) -> Doc | None:
    """The ownerReference of the pod's controller, when it has one."""
    refs = dig(pod, "metadata").get("ownerReferences") or ()
    return next((r for r in refs if isinstance(r, dict) and r.get("controller")), None)


def is_mirror(pod: Doc) -> bool:
    return MIRROR in dig(pod, "metadata", "annotations")


def _pending_why(pod: Doc) -> str:
    """Why a pod without container statuses is not running (unscheduled, mostly)."""
    status = dig(pod, "status")
    for condition in status.get("conditions") or ():
        if condition.get("status") == "False" and condition.get("reason"):
            return ": ".join(p for p in (condition.get("reason"), condition.get("message")) if p)
    return ": ".join(p for p in (status.get("reason"), status.get("message")) if p)


_Run = tuple[ContainerState, int, datetime | None, datetime | None, str]


def _state(pod: Doc, status: Doc | None) -> _Run:
    """(state, exit code, start, finish, why) of a container from its status."""
    if status is None:
        phase = dig(pod, "status").get("phase")
        return (
            ContainerState.EXITED if phase in FINISHED else ContainerState.CREATED,
            0,
            None,
            None,
            _pending_why(pod),
        )
    state, last = status.get("state") or {}, dig(status, "lastState", "terminated")
    if "running" in state:
        return ContainerState.RUNNING, 0, time(dig(state, "running").get("startedAt")), None, ""
    if "terminated" in state:
        ended = dig(state, "terminated")
        code = int(ended.get("exitCode") or 0)
        why = ": ".join(p for p in (ended.get("reason"), ended.get("message")) if p)
        # Ended, in a live pod whose restart policy runs it again: the kubelet is restarting it.
        policy = dig(pod, "spec").get("restartPolicy", "Always")
        again = policy == "Always" or (policy == "OnFailure" and code != 0)
        live = dig(pod, "status").get("phase") not in FINISHED and alive(pod)
        state_now = ContainerState.RESTARTING if again and live else ContainerState.EXITED
        return state_now, code, time(ended.get("startedAt")), time(ended.get("finishedAt")), why
    waiting = dig(state, "waiting")
    why = ": ".join(p for p in (waiting.get("reason"), waiting.get("message")) if p)
    if last or waiting.get("reason") == "CrashLoopBackOff":
        started, finished = time(last.get("startedAt")), time(last.get("finishedAt"))
        return ContainerState.RESTARTING, int(last.get("exitCode") or 0), started, finished, why
    return ContainerState.CREATED, 0, None, None, why


def _mounts(pod: Doc, container: Doc) -> tuple[MountSpec, ...]:
    volumes = {v.get("name"): v for v in dig(pod, "spec").get("volumes") or () if isinstance(v, dict)}
    out = []
    for mount in container.get("volumeMounts") or ():
        name, target, ro = (
            str(mount.get("name", "")),
            str(mount.get("mountPath", "")),
            bool(mount.get("readOnly")),
        )
        volume = volumes.get(name) or {}
        if "persistentVolumeClaim" in volume:
            out.append(
                MountSpec(
                    "volume", target, str(dig(volume, "persistentVolumeClaim").get("claimName", "")), ro
                )
            )
        elif "hostPath" in volume:
            out.append(MountSpec("bind", target, str(dig(volume, "hostPath").get("path", "")), ro))
        elif dig(volume, "emptyDir").get("medium") == "Memory":
            out.append(MountSpec("tmpfs", target, "", ro))
        else:
            out.append(MountSpec("volume", target, name, ro))
    return tuple(out)


def _resources(container: Doc) -> Resources:
    limits, requests = dig(container, "resources", "limits"), dig(container, "resources", "requests")
    return Resources(
        cpu_limit=cpus(limits.get("cpu")),
        memory_limit_bytes=byte_count(limits.get("memory")),
        cpu_reservation=cpus(requests.get("cpu")),
        memory_reservation_bytes=byte_count(requests.get("memory")),
    )


def container(pod: Doc, name: str) -> ContainerInfo | None:
    """The container ``name`` of a pod, or None when the pod has no such container."""
    spec = dig(pod, "spec")
    found = next((c for c in spec.get("containers") or () if c.get("name") == name), None)
    if found is None:
        return None
    meta = dig(pod, "metadata")
    statuses = dig(pod, "status").get("containerStatuses") or ()
    status = next((s for s in statuses if s.get("name") == name), None)
    state, exit_code, started, finished, why = _state(pod, status)
    namespace, pod_name = str(meta.get("namespace", "")), str(meta.get("name", ""))
    return ContainerInfo(
        container_id=container_key(namespace, pod_name, name),
        image=str(found.get("image", "")),
        command=tuple(str(c) for c in found.get("command") or ()),
        args=tuple(str(a) for a in found.get("args") or ()),
        # Literal values only: a valueFrom (a secret, a field) is not resolved here.
        env={str(e["name"]): str(e["value"]) for e in found.get("env") or () if "value" in e and "name" in e},
        labels=labels(pod),
        node_id=str(spec.get("nodeName") or ""),
        state=state,
        exit_code=exit_code,
        create_time=time(meta.get("creationTimestamp")),
        start_time=started,
        finish_time=finished,
        ports=tuple(
            PortMapping(
                container_port=int(p.get("containerPort") or 0),
                host_port=int(p.get("hostPort") or 0),
                protocol=str(p.get("protocol") or "TCP").lower(),
                host_ip=str(p.get("hostIP") or ""),
            )
            for p in found.get("ports") or ()
        ),
        mounts=_mounts(pod, found),
        restart_policy=_RESTART_OUT.get(str(spec.get("restartPolicy", "")), ""),
        resources=_resources(found),
        owner=owner(pod),
        namespace=namespace,
        restart_count=int((status or {}).get("restartCount") or 0),
        state_message=why,
        engine_container_id=str((status or {}).get("containerID") or ""),
        image_pull_policy=str(found.get("imagePullPolicy") or ""),
        tty=bool(found.get("tty")),
    )


def containers(pod: Doc) -> list[ContainerInfo]:
    names = [str(c.get("name", "")) for c in dig(pod, "spec").get("containers") or ()]
    return [c for c in (container(pod, n) for n in names) if c is not None]


def waiting_reason(pod: Doc, name: str) -> str:
    """Why a pod's container waits ("" when it does not)."""
    for status in dig(pod, "status").get("containerStatuses") or ():
        if status.get("name") == name:
            return str(dig(status, "state", "waiting").get("reason") or "")
    return ""


def unschedulable(pod: Doc) -> str:
    """The scheduler's reason a pod has no node ("" when it is placed or not yet tried)."""
    for condition in dig(pod, "status").get("conditions") or ():
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return str(condition.get("message") or condition.get("reason") or "unschedulable")
    return ""


# --- CreateContainer -------------------------------------------------------------------------


def _unsupported(field: str, why: str) -> InvalidArgument:
    return InvalidArgument.field(f"container.{field}", why, reason="UNSUPPORTED_FIELD")


def namespace_of(given: str, field: str) -> str:
    """The namespace a create names (``default`` when it names none), checked."""
    namespace = given or DEFAULT_NAMESPACE
    if not _DNS_LABEL.match(namespace):
        raise InvalidArgument.field(
            field,
            "a namespace is an RFC 1123 label: 1-63 characters of [a-z0-9-]",
            reason="INVALID_NAMESPACE",
            metadata={"value": namespace[:100]},
        )
    return namespace


def node_selector(constraints: tuple[str, ...]) -> dict[str, str]:
    """Constraints as a nodeSelector: each one ``label=value``."""
    selector = {}
    for i, text in enumerate(constraints):
        label, eq, value = text.partition("=")
        if not eq or not label.strip() or value.startswith("="):
            raise InvalidArgument.field(
                f"container.constraints[{i}]",
                "a Kubernetes constraint is a node label match, label=value (a nodeSelector entry)",
                reason="INVALID_CONSTRAINT",
                metadata={"value": text[:200]},
            )
        selector[label.strip()] = value.strip()
    return selector


def _millicores(value: float) -> str:
    return f"{round(value * 1000)}m"


def _resource_fields(res: Resources) -> Doc:
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if res.cpu_limit:
        limits["cpu"] = _millicores(res.cpu_limit)
    if res.memory_limit_bytes:
        limits["memory"] = str(res.memory_limit_bytes)
    if res.cpu_reservation:
        requests["cpu"] = _millicores(res.cpu_reservation)
    if res.memory_reservation_bytes:
        requests["memory"] = str(res.memory_reservation_bytes)
    return {k: v for k, v in (("limits", limits), ("requests", requests)) if v}


def _volume(i: int, mount: MountSpec) -> Doc:
    name = f"m{i}"
    if mount.type == "bind":
        return {"name": name, "hostPath": {"path": mount.source}}
    if mount.type == "tmpfs":
        return {"name": name, "emptyDir": {"medium": "Memory"}}
    return {"name": name, "persistentVolumeClaim": {"claimName": mount.source, "readOnly": mount.read_only}}


def pod_spec(name: str, spec: ContainerSpec, node_id: str) -> Doc:
    """The PodSpec of one container named ``name``; ``node_id`` ("" for any) pins it to a node."""
    if spec.networks:
        raise _unsupported(
            "networks", "a pod joins the cluster's one pod network; Kubernetes has no networks to attach"
        )
    for i, mount in enumerate(spec.mounts):
        if mount.type == "volume" and not mount.source:
            raise InvalidArgument.field(
                f"container.mounts[{i}].source",
                "a Kubernetes volume mount names the PersistentVolumeClaim to mount",
                reason="INVALID_MOUNT",
            )
    if spec.image_pull_policy and spec.image_pull_policy not in PULL_POLICIES:
        raise InvalidArgument.field(
            "container.image_pull_policy",
            f"one of {', '.join(PULL_POLICIES)}",
            reason="INVALID_IMAGE_PULL_POLICY",
            metadata={"value": spec.image_pull_policy[:100]},
        )
    restart = _RESTART_IN[spec.restart_policy]
    if spec.replicas and restart != "Always":
        raise InvalidArgument.field(
            "container.restart_policy",
            "the pods of a Deployment (replicas > 0) always restart: leave it empty or `always`",
            reason="INVALID_RESTART_POLICY",
        )
    box: Doc = {
        "name": name,
        "image": spec.image,
        "command": list(spec.command),
        "args": list(spec.args),
        "env": [{"name": k, "value": v} for k, v in spec.env.items()],
        "ports": [
            {
                "containerPort": p.container_port,
                "protocol": p.protocol.upper(),
                **({"hostPort": p.host_port} if p.host_port else {}),
                **({"hostIP": p.host_ip} if p.host_ip else {}),
            }
            for p in spec.ports
        ],
        "volumeMounts": [
            {"name": f"m{i}", "mountPath": m.target, "readOnly": m.read_only}
            for i, m in enumerate(spec.mounts)
        ],
        "resources": _resource_fields(spec.resources),
        "tty": spec.tty,
    }
    if spec.image_pull_policy:
        box["imagePullPolicy"] = spec.image_pull_policy
    out: Doc = {
        "containers": [{k: v for k, v in box.items() if v or k in ("name", "image")}],
        "restartPolicy": restart,
        "volumes": [_volume(i, m) for i, m in enumerate(spec.mounts)],
    }
    selector = node_selector(spec.constraints)
    if selector:
        out["nodeSelector"] = selector
    if node_id:
        # As a DaemonSet pins its pods: through the scheduler, which still checks the node fits.
        term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_id]}]}
        out["affinity"] = {
            "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}
        }
    return {k: v for k, v in out.items() if v}


def _meta(name: str, namespace: str, spec: ContainerSpec) -> Doc:
    return {"name": name, "namespace": namespace, "labels": {**spec.labels, MANAGED: name}}


def pod_manifest(name: str, namespace: str, spec: ContainerSpec, node_id: str) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(name, namespace, spec),
        "spec": pod_spec(name, spec, node_id),
    }


def deployment_manifest(name: str, namespace: str, spec: ContainerSpec, node_id: str) -> Doc:
    meta = _meta(name, namespace, spec)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": {MANAGED: name}},
            "template": {"metadata": {"labels": meta["labels"]}, "spec": pod_spec(name, spec, node_id)},
        },
    }


def template_pod(deployment: Doc) -> Doc:
    """A Deployment's pod template as a pod named after the Deployment (what a validate_only
    create answers: the Deployment's pods do not exist yet)."""
    meta = dig(deployment, "metadata")
    template = dig(deployment, "spec", "template")
    return {
        "metadata": {
            "name": meta.get("name", ""),
            "namespace": meta.get("namespace", ""),
            "labels": dig(template, "metadata", "labels"),
            "ownerReferences": [{"kind": "Deployment", "name": meta.get("name", ""), "controller": True}],
        },
        "spec": dig(template, "spec"),
    }


def managed_name(pod: Doc) -> str:
    """The container id CreateContainer gave what made this pod ("" when it did not make it)."""
    return str(dig(pod, "metadata", "labels").get(MANAGED, ""))


def selector(values: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(values.items()))


def pod_uid(pod: Doc) -> str:
    return str(dig(pod, "metadata").get("uid", ""))


def alive(pod: Doc) -> bool:
    """Not being deleted."""
    return not dig(pod, "metadata").get("deletionTimestamp")


def first(pods: list[Doc]) -> Doc | None:
    """The oldest live pod of a list (by creation time, then name)."""
    live = [p for p in pods if alive(p)]

    def order(pod: Doc) -> tuple[str, str]:
        meta = dig(pod, "metadata")
        return str(meta.get("creationTimestamp", "")), str(meta.get("name", ""))

    return min(live, key=order) if live else None
