"""Kubernetes nodes: list, get, update (labels, cordon, uncordon, drain), remove.

- list: ``GET /api/v1/nodes`` and ``GET /api/v1/pods`` at once (one pod list for the
  whole cluster, grouped by ``spec.nodeName``: container counts and reserved CPU and
  memory, the sum of the requests of the pods that have not finished);
- get: ``GET /api/v1/nodes/{name}`` and the pods with ``fieldSelector=spec.nodeName={name}``;
- update: one JSON merge patch of the node, carrying its ``resourceVersion`` when an etag
  is given (the API server answers 409 Conflict when the node changed since: ABORTED
  ETAG_MISMATCH). Labels are replaced as given (a removed key is patched to null);
  ACTIVE uncordons (``spec.unschedulable`` false), PAUSE cordons. DRAIN cordons, then
  evicts every pod of the node that is not a DaemonSet's or a mirror pod, through the
  Eviction API (``policy/v1beta1`` before Kubernetes 1.22, ``policy/v1`` from it), and
  waits until they are gone, within the call's deadline (a PodDisruptionBudget that
  forbids an eviction is retried until then). Kubernetes keeps no "drained" state: a
  drained node reads as PAUSE (cordoned). A node's role comes from its
  ``node-role.kubernetes.io/*`` labels, which the cluster's installer sets: a role
  change is refused (ROLE_NOT_MUTABLE).
- join: refused: a node joins through its own kubelet's bootstrap (NODE_JOINS_THROUGH_BOOTSTRAP);
- remove: ``DELETE /api/v1/nodes/{name}``, only for a node that is not Ready (or with
  force): a running kubelet registers its node again at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from zanepool_server import deadline
from zanepool_server.drivers.kubernetes import parse, pods
from zanepool_server.drivers.kubernetes.client import Doc, Kube, path
from zanepool_server.errors import (
    Aborted,
    ClusterUnavailable,
    FailedPrecondition,
    NotFound,
    ResourceExhausted,
)
from zanepool_server.model import EngineSpec, NodeAvailability, NodeChange, NodeState, NodeSummary

if TYPE_CHECKING:
    from zanepool_server.drivers.kubernetes.driver import KubernetesDriver

POLL = 0.5
Docs = list[Doc]  # (``list`` is a method name inside KubeNodes)


def not_found(node_id: str) -> NotFound:
    return NotFound(
        f"node {node_id} is not in the cluster", reason="NODE_NOT_FOUND", metadata={"node": node_id}
    )


def _on_node(node_id: str) -> dict[str, str]:
    return {"fieldSelector": f"spec.nodeName={node_id}"}


def label_patch(current: dict[str, str], wanted: dict[str, str]) -> dict[str, str | None]:
    """The merge patch of ``metadata.labels`` that turns ``current`` into ``wanted``."""
    removed: dict[str, str | None] = {k: None for k in current if k not in wanted}
    return {**removed, **{k: v for k, v in wanted.items() if current.get(k) != v}}


def evictable(pod: Doc) -> bool:
    """What a drain evicts: every pod but a DaemonSet's (it would come back at once) and
    mirror pods (the kubelet's static pods: the API cannot remove them)."""
    owner = pods.controller(pod) or {}
    return owner.get("kind") != "DaemonSet" and not pods.is_mirror(pod)


def eviction(pod: Doc, minor: int) -> Doc:
    meta = parse.dig(pod, "metadata")
    return {
        "apiVersion": "policy/v1" if minor >= 22 else "policy/v1beta1",
        "kind": "Eviction",
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
    }


#: Reads and patches of one UpdateNode before a write conflict is the caller's.
UPDATE_ATTEMPTS = 3


def _node_patch(current: NodeSummary, change: NodeChange) -> Doc:
    patch: Doc = {}
    if change.labels is not None:
        patch["metadata"] = {"labels": label_patch(current.labels, change.labels)}
    if change.availability is not None and change.availability is not NodeAvailability.UNSPECIFIED:
        patch["spec"] = {"unschedulable": change.availability is not NodeAvailability.ACTIVE}
    return patch


def _changed_since(node_id: str, version: str) -> Aborted:
    return Aborted(
        f"node {node_id} has changed since version {version} was read",
        reason="ETAG_MISMATCH",
        metadata={"node": node_id, "etag": version},
    )


class KubeNodes:
    """NodeOps over an API server."""

    def __init__(self, driver: KubernetesDriver) -> None:
        self._driver = driver

    @property
    def _kube(self) -> Kube:
        return self._driver.kube

    async def list(self) -> Sequence[NodeSummary]:
        raws, placed = await asyncio.gather(
            self._kube.items("/api/v1/nodes"), self._kube.items("/api/v1/pods")
        )
        return parse.nodes(raws, placed)

    async def get(self, node_id: str) -> NodeSummary:
        raw, placed = await asyncio.gather(self._raw(node_id), self._pods_on(node_id))
        return parse.node(raw, placed)

    async def _raw(self, node_id: str) -> Doc:
        try:
            return await self._kube.get(path("api", "v1", "nodes", node_id))
        except NotFound as exc:
            raise not_found(node_id) from exc

    async def _pods_on(self, node_id: str) -> Docs:
        return await self._kube.items("/api/v1/pods", _on_node(node_id))

    async def update(self, node_id: str, change: NodeChange) -> NodeSummary:
        await self._apply(node_id, change)
        return await self.get(node_id)

    async def _apply(self, node_id: str, change: NodeChange) -> None:
        """Patch the node to ``change`` (against the node as read), then drain it if asked."""
        for attempt in range(1, UPDATE_ATTEMPTS + 1):
            raw = await self._raw(node_id)
            current = parse.node(raw, [])
            if change.role is not None and change.role is not current.role:
                raise FailedPrecondition(
                    f"node {node_id}'s role comes from its node-role.kubernetes.io labels, set when the "
                    "cluster was installed; Zane Pool does not make or unmake control-plane nodes",
                    reason="ROLE_NOT_MUTABLE",
                    metadata={"node": node_id, "role": current.role.value},
                )
            if change.version and change.version != current.version:
                raise _changed_since(node_id, change.version)
            patch = _node_patch(current, change)
            if not patch:
                break
            # Against the node as read: the kubelet writes its status every few seconds, and
            # a write that lands in between makes the patch conflict: read and try again.
            patch.setdefault("metadata", {})["resourceVersion"] = parse.dig(raw, "metadata").get(
                "resourceVersion", ""
            )
            try:
                await self._kube.request(
                    "PATCH", path("api", "v1", "nodes", node_id), body=patch, merge_patch=True
                )
                break
            except Aborted:
                if attempt == UPDATE_ATTEMPTS:
                    raise
            except NotFound as exc:
                raise not_found(node_id) from exc
        if change.availability is NodeAvailability.DRAIN:
            await self._drain(node_id)

    async def join(self, engine: EngineSpec) -> NodeSummary:
        raise FailedPrecondition(
            "a Kubernetes node joins through its own kubelet's bootstrap (a bootstrap token or "
            "certificate, e.g. `kubeadm join`), not through the API server; it appears in the pool "
            "once its kubelet has registered it",
            reason="NODE_JOINS_THROUGH_BOOTSTRAP",
            metadata={"endpoint": engine.endpoint},
        )

    async def remove(self, node_id: str, *, force: bool, drain: bool) -> None:
        state = parse.node(await self._raw(node_id), []).state
        if state is NodeState.READY and not force:
            raise FailedPrecondition(
                f"node {node_id} is Ready: its kubelet would register it again at once; stop the "
                "kubelet first, or pass force",
                reason="NODE_NOT_DOWN",
                metadata={"node": node_id, "state": state.value},
            )
        if drain:
            await self._apply(node_id, NodeChange(availability=NodeAvailability.DRAIN))
        try:
            await self._kube.request("DELETE", path("api", "v1", "nodes", node_id))
        except NotFound as exc:
            raise not_found(node_id) from exc

    # --- drain -------------------------------------------------------------------------------

    async def _drain(self, node_id: str) -> None:
        minor = await self._driver.server_minor()
        targets = [p for p in await self._pods_on(node_id) if evictable(p)]
        await asyncio.gather(*(self._evict(node_id, p, minor) for p in targets))
        uids = {pods.pod_uid(p) for p in targets}
        while left := [p for p in await self._pods_on(node_id) if pods.pod_uid(p) in uids]:
            self._check_time(node_id, left, "did not end")
            await asyncio.sleep(POLL)

    async def _evict(self, node_id: str, pod: Doc, minor: int) -> None:
        meta = parse.dig(pod, "metadata")
        url = path(
            "api", "v1", "namespaces", str(meta.get("namespace")), "pods", str(meta.get("name")), "eviction"
        )
        while True:
            try:
                await self._kube.request("POST", url, body=eviction(pod, minor))
                return
            except NotFound:
                return  # gone already
            except ResourceExhausted:
                # A PodDisruptionBudget allows no disruption now: the eviction is tried again.
                self._check_time(node_id, [pod], "could not be evicted (a PodDisruptionBudget forbids it)")
                await asyncio.sleep(POLL)

    @staticmethod
    def _check_time(node_id: str, left: Sequence[Doc], what: str) -> None:
        if deadline.remaining() > POLL:
            return
        names = sorted(
            f"{parse.dig(p, 'metadata').get('namespace')}/{parse.dig(p, 'metadata').get('name')}"
            for p in left
        )
        raise ClusterUnavailable(
            f"draining node {node_id}: {len(names)} pod(s) {what} in time: {', '.join(names[:10])}",
            reason="DRAIN_TIMEOUT",
            metadata={"node": node_id, "pods": ",".join(names[:50])},
        )
