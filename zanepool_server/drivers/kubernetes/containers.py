"""Kubernetes containers: ContainerService over pods.

A container is one container of a pod; its key is ``{namespace}_{pod}_{container}`` (see
``pods``).

- list: ``GET /api/v1/pods`` (every namespace, in pages), each pod's containers;
- get: ``GET /api/v1/namespaces/{namespace}/pods/{pod}``;
- create: a bare pod, ``POST /api/v1/namespaces/{namespace}/pods``, named after the
  container id (``c-<8 hex>`` when none is given; pod and container have the same name),
  or, with ``replicas`` > 0, a Deployment of that name (``POST /apis/apps/v1/.../deployments``)
  whose pods it selects by the label ``zanepool.io/container={id}`` (on the bare pod too).
  The namespace is ``Container.namespace``, ``default`` when empty. target_node becomes a
  required node affinity on ``metadata.name`` (as a DaemonSet's pods have: the scheduler
  still checks the node fits), constraints ``label=value`` a nodeSelector, mounts of type
  volume a PersistentVolumeClaim (the source), bind a hostPath, tmpfs a memory emptyDir;
  networks are refused (a pod has the cluster's one network). Then the pod (the
  Deployment's oldest) is polled until its container runs (or ran); a container that
  cannot start (IMAGE_NOT_FOUND: not on the node with imagePullPolicy Never;
  IMAGE_PULL_FAILED; CONTAINER_START_FAILED; NO_SUITABLE_NODE: unschedulable for
  ``PLACEMENT_GRACE`` seconds) or does not start in time (CONTAINER_TIMEOUT) is deleted
  again, with what was made. The answer is that container; ``validate_only`` is the API
  server's dry run (``dryRun=All``), answering a Deployment's pod template under the
  Deployment's name.
- start, stop: refused (FAILED_PRECONDITION NO_START_STOP_IN_KUBERNETES): a pod's
  containers are run by its kubelet for as long as the pod exists; there is no stopped pod.
- restart: a pod with a controller (ReplicaSet, StatefulSet, DaemonSet, Job, ...) is
  deleted (``timeout_seconds`` as its grace period) and its controller makes a new one:
  the answer is the new pod's container (a new name, but for a StatefulSet's) once it
  runs. A bare pod has nothing to make it again (BARE_POD_CANNOT_RESTART), a static pod's
  mirror cannot be deleted through the API (STATIC_POD_CANNOT_RESTART).
- delete: the pod, ``DELETE`` with ``gracePeriodSeconds`` (0 with force); every container
  of the pod goes with it. A container of a Deployment that CreateContainer made deletes
  that Deployment (``propagationPolicy=Background``): deleting its pod would only make its
  ReplicaSet start another.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from zanepool_server import deadline
from zanepool_server.drivers.kubernetes import parse, pods
from zanepool_server.drivers.kubernetes.client import Doc, Kube, path
from zanepool_server.drivers.kubernetes.nodes import not_found as node_not_found
from zanepool_server.errors import (
    AlreadyExists,
    ClusterUnavailable,
    FailedPrecondition,
    NotFound,
    ZanePoolError,
)
from zanepool_server.model import ContainerInfo, ContainerSpec, ContainerState

if TYPE_CHECKING:
    from zanepool_server.drivers.kubernetes.driver import KubernetesDriver

POLL = 0.25
#: Kept back from the call's deadline, so that a create that did not start can be undone.
UNDO_RESERVE = 2.0
UNDO_CAP = 10.0
#: How long "unschedulable" must last to be final.
PLACEMENT_GRACE = 1.5
#: Container states that mean it started (a crash-looping container did start).
_STARTED = frozenset({ContainerState.RUNNING, ContainerState.EXITED, ContainerState.RESTARTING})
#: Why a container waits -> the reason it will not start.
_FAILURES = {
    "ErrImageNeverPull": "IMAGE_NOT_FOUND",
    "InvalidImageName": "IMAGE_NOT_FOUND",
    "ErrImagePull": "IMAGE_PULL_FAILED",
    "ImagePullBackOff": "IMAGE_PULL_FAILED",
    "CreateContainerConfigError": "CONTAINER_START_FAILED",
    "CreateContainerError": "CONTAINER_START_FAILED",
    "RunContainerError": "CONTAINER_START_FAILED",
}


def _pods(namespace: str) -> str:
    return path("api", "v1", "namespaces", namespace, "pods")


def _deployments(namespace: str) -> str:
    return path("apis", "apps", "v1", "namespaces", namespace, "deployments")


def _missing(key: str) -> NotFound:
    return NotFound(f"no container {key}", reason="CONTAINER_NOT_FOUND", metadata={"container": key})


def _delete_options(*, force: bool, grace_period_seconds: int) -> dict[str, str]:
    if force:
        return {"gracePeriodSeconds": "0"}
    return {"gracePeriodSeconds": str(grace_period_seconds)} if grace_period_seconds else {}


class KubeContainers:
    """ContainerOps over an API server."""

    def __init__(self, driver: KubernetesDriver) -> None:
        self._driver = driver
        self._undoing: set[asyncio.Task[Any]] = set()

    @property
    def _kube(self) -> Kube:
        return self._driver.kube

    async def list(self) -> Sequence[ContainerInfo]:
        return [c for pod in await self._kube.items("/api/v1/pods") for c in pods.containers(pod)]

    async def get(self, container_id: str) -> ContainerInfo:
        return (await self._find(container_id))[1]

    async def _find(self, key: str) -> tuple[Doc, ContainerInfo]:
        namespace, pod_name, name = pods.split_container_key(key)
        try:
            pod = await self._kube.get(f"{_pods(namespace)}/{pod_name}")
        except NotFound as exc:
            raise _missing(key) from exc
        info = pods.container(pod, name)
        if info is None:
            raise _missing(key)
        return pod, info

    # --- create ------------------------------------------------------------------------------

    async def create(self, name: str, spec: ContainerSpec, *, validate_only: bool) -> ContainerInfo:
        name = name or f"c-{secrets.token_hex(4)}"
        namespace = pods.namespace_of(spec.namespace, "container.namespace")
        node_id = await self._node(spec.target_node)
        deployment = spec.replicas > 0
        if deployment:
            url, body = _deployments(namespace), pods.deployment_manifest(name, namespace, spec, node_id)
        else:
            url, body = _pods(namespace), pods.pod_manifest(name, namespace, spec, node_id)
        kind = "Deployment" if deployment else "pod"
        taken = AlreadyExists(
            f"namespace {namespace} has a {kind} named {name} already",
            reason="NAME_IN_USE",
            metadata={"namespace": namespace, "name": name},
        )
        made = await self._kube.create(url, namespace, body, dry_run=validate_only, taken=taken)
        if validate_only:
            info = pods.container(pods.template_pod(made) if deployment else made, name)
            assert info is not None
            return replace(info, state=ContainerState.UNSPECIFIED)
        undo = functools.partial(
            self._kube.request,
            "DELETE",
            f"{url}/{name}",
            {"propagationPolicy": "Background", "gracePeriodSeconds": "0"},
        )
        try:
            if deployment:
                return await self._started(
                    name, functools.partial(self._oldest, namespace, {pods.MANAGED: name})
                )
            return await self._started(name, functools.partial(self._kube.get, f"{url}/{name}"))
        except BaseException:
            await self._undone(undo)
            raise

    async def _node(self, target: str) -> str:
        if not target:
            return ""
        try:
            await self._kube.get(path("api", "v1", "nodes", target))
        except NotFound as exc:
            raise node_not_found(target) from exc
        return target

    async def _oldest(self, namespace: str, selected: dict[str, str]) -> Doc | None:
        return pods.first(
            await self._kube.items(_pods(namespace), {"labelSelector": pods.selector(selected)})
        )

    async def _started(self, name: str, pick: Callable[[], Awaitable[Doc | None]]) -> ContainerInfo:
        """Poll the pod ``pick`` answers until its container ``name`` has started; refuse one that
        cannot start, and time out in time to undo."""
        unplaced_since: float | None = None
        while True:
            pod = await pick()
            info = pods.container(pod, name) if pod is not None else None
            if pod is not None and info is not None:
                if info.state in _STARTED:
                    return info
                failure = _FAILURES.get(pods.waiting_reason(pod, name))
                if failure:
                    raise FailedPrecondition(
                        f"container {info.container_id} cannot start: {info.state_message}",
                        reason=failure,
                        metadata={"container": info.container_id},
                    )
                unplaced = pods.unschedulable(pod)
                if unplaced:
                    unplaced_since = unplaced_since or time.monotonic()
                    if time.monotonic() - unplaced_since >= PLACEMENT_GRACE:
                        raise FailedPrecondition(
                            f"no node can run container {info.container_id}: {unplaced}",
                            reason="NO_SUITABLE_NODE",
                            metadata={"container": info.container_id},
                        )
                else:
                    unplaced_since = None
            if deadline.remaining() <= POLL + UNDO_RESERVE:
                raise ClusterUnavailable(
                    f"container {name} did not start in time"
                    + (f": {info.state_message}" if info and info.state_message else ""),
                    reason="CONTAINER_TIMEOUT",
                    metadata={"container": info.container_id if info else name},
                )
            await asyncio.sleep(POLL)

    async def _undone(self, undo: Callable[[], Awaitable[Any]]) -> None:
        """Run ``undo`` to its end with time of its own, even when the call is cancelled; its
        own failure is not reported (the caller needs the original error), and is dropped in the
        task itself: a caller cancelled meanwhile never reads it."""

        async def run() -> None:
            with contextlib.suppress(ZanePoolError):
                await undo()

        with deadline.detached(UNDO_CAP):
            task = asyncio.ensure_future(run())  # the task keeps the detached deadline
        self._undoing.add(task)
        task.add_done_callback(self._undoing.discard)
        await asyncio.shield(task)

    # --- start, stop, restart ----------------------------------------------------------------

    async def start(self, container_id: str) -> ContainerInfo:
        raise _no_start_stop(container_id, "start")

    async def stop(self, container_id: str, timeout_seconds: int) -> ContainerInfo:
        raise _no_start_stop(container_id, "stop")

    async def restart(self, container_id: str, timeout_seconds: int) -> ContainerInfo:
        pod, info = await self._find(container_id)
        if pods.is_mirror(pod):
            raise FailedPrecondition(
                f"container {container_id} is in a static pod: its kubelet runs it from a file on "
                "the node, and the API only mirrors it",
                reason="STATIC_POD_CANNOT_RESTART",
                metadata={"container": container_id},
            )
        owner = pods.controller(pod)
        if owner is None:
            raise FailedPrecondition(
                f"container {container_id} is in a bare pod: a pod's containers cannot be restarted in "
                "place, and nothing would make the pod again if it were deleted; delete it and create "
                "it again",
                reason="BARE_POD_CANNOT_RESTART",
                metadata={"container": container_id},
            )
        old = pods.pod_uid(pod)
        await self._kube.request(
            "DELETE",
            f"{_pods(info.namespace)}/{parse.dig(pod, 'metadata').get('name')}",
            _delete_options(force=False, grace_period_seconds=timeout_seconds),
        )
        name = container_id.rsplit(parse.SEP, 1)[1]
        return await self._started(name, functools.partial(self._replacement, info.namespace, owner, old))

    async def _replacement(self, namespace: str, owner: Doc, old: str) -> Doc | None:
        """The newest live pod of the same controller, other than the deleted one."""
        mine = [
            p
            for p in await self._kube.items(_pods(namespace))
            if pods.pod_uid(p) != old and (pods.controller(p) or {}).get("uid") == owner.get("uid")
        ]
        return pods.first(mine)

    # --- delete ------------------------------------------------------------------------------

    async def delete(self, container_id: str, *, force: bool, grace_period_seconds: int) -> None:
        pod, info = await self._find(container_id)
        deployment = await self._made_deployment(pod, info.namespace)
        name = parse.dig(pod, "metadata").get("name")
        options = _delete_options(force=force, grace_period_seconds=grace_period_seconds)
        if deployment:
            # The Deployment goes at once and the garbage collector takes its ReplicaSet and
            # pod after it; forced, the pod goes at once too, so that the container is gone
            # when the call answers (a pod the dying ReplicaSet makes meanwhile goes with it).
            await self._kube.request(
                "DELETE", f"{_deployments(info.namespace)}/{deployment}", {"propagationPolicy": "Background"}
            )
            if not force:
                return
        try:
            await self._kube.request("DELETE", f"{_pods(info.namespace)}/{name}", options)
        except NotFound as exc:
            if not deployment:
                raise _missing(container_id) from exc

    async def _made_deployment(self, pod: Doc, namespace: str) -> str:
        """The Deployment CreateContainer made that owns this pod (through its ReplicaSet), or ""."""
        made, owner = pods.managed_name(pod), pods.controller(pod) or {}
        if not made or owner.get("kind") != "ReplicaSet":
            return ""
        url = path("apis", "apps", "v1", "namespaces", namespace, "replicasets", str(owner.get("name")))
        try:
            replica_set = await self._kube.get(url)
        except NotFound:
            return ""
        parent = pods.controller(replica_set) or {}
        return made if parent.get("kind") == "Deployment" and parent.get("name") == made else ""


def _no_start_stop(container_id: str, operation: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"cannot {operation} {container_id}: Kubernetes has no stopped container; a pod's kubelet "
        "runs its containers (restarting them by the pod's restartPolicy) for as long as the pod "
        "exists. Delete the pod, or scale its controller (replicas 0) instead",
        reason="NO_START_STOP_IN_KUBERNETES",
        metadata={"container": container_id, "operation": operation},
    )
