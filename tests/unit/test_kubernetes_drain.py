"""Node updates and drains against a scripted API server (the shared test bed's one node is
never drained: its other tests' pods would go).

What a real API server answers is checked end to end in tests/e2e/test_kubernetes.py
(labels, cordon, the Eviction API of v1.20); here, the drain's own logic: which pods are
evicted, a PodDisruptionBudget's refusal retried, the wait until they are gone, its bound.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_kubernetes_parse import node_doc
from zanepool_server import deadline
from zanepool_server.drivers.kubernetes import parse
from zanepool_server.drivers.kubernetes.nodes import KubeNodes
from zanepool_server.errors import Aborted, ClusterUnavailable, FailedPrecondition, ResourceExhausted
from zanepool_server.model import NodeAvailability, NodeChange, NodeRole, NodeState


def pod(name: str, owner: str = "", *, mirror: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": f"{name}-owner", "controller": True}]
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.mirror": "x"}
    return {
        "metadata": meta,
        "spec": {"nodeName": "127.0.0.1", "containers": []},
        "status": {"phase": "Running"},
    }


class Server:
    """Answers what KubeNodes asks: the node, the pods on it, patches, evictions."""

    def __init__(self, pods: list[dict[str, Any]], *, refusals: int = 0, evict: bool = True) -> None:
        self.node = node_doc()
        self.pods = pods
        self.refusals = refusals  # evictions refused (429) before they are accepted
        self.evict = evict  # whether an accepted eviction makes the pod go
        self.calls: list[tuple[str, str, Any]] = []
        self.conflicts = 0  # PATCHes refused as conflicting before one is taken

    async def get(self, url: str, query: Any = None) -> dict[str, Any]:
        return self.node

    async def items(self, url: str, query: Any = None) -> list[dict[str, Any]]:
        return list(self.pods)

    async def request(self, method: str, url: str, query: Any = None, body: Any = None, **_: Any) -> Any:
        self.calls.append((method, url, body))
        if method == "PATCH":
            if self.conflicts:
                self.conflicts -= 1
                raise Aborted("conflict", reason="CONCURRENT_MODIFICATION")
            if body.get("metadata", {}).get("resourceVersion") not in (None, "1429"):
                raise Aborted("conflict", reason="CONCURRENT_MODIFICATION")
            self.node["spec"] = {**self.node["spec"], **body.get("spec", {})}
        elif url.endswith("/eviction"):
            if self.refusals:
                self.refusals -= 1
                raise ResourceExhausted("budget", reason="CLUSTER_TOO_MANY_REQUESTS")
            if self.evict:
                self.pods = [p for p in self.pods if p["metadata"]["name"] != url.split("/")[-2]]
        return {}


class Driver:
    def __init__(self, server: Server) -> None:
        self.kube = server

    async def server_minor(self) -> int:
        return 20


def nodes_of(server: Server) -> KubeNodes:
    return KubeNodes(Driver(server))  # type: ignore[arg-type]


async def test_drain_evicts_all_but_daemon_set_and_mirror_pods() -> None:
    server = Server(
        [
            pod("web", "ReplicaSet"),
            pod("agent", "DaemonSet"),
            pod("static", "Node", mirror=True),
            pod("bare"),
        ],
        refusals=1,
    )
    with deadline.scope(10):
        node = await nodes_of(server).update("127.0.0.1", NodeChange(availability=NodeAvailability.DRAIN))
    assert node.availability is NodeAvailability.PAUSE, "a drained node reads as cordoned"
    patch = next(body for method, _, body in server.calls if method == "PATCH")
    assert patch == {"spec": {"unschedulable": True}, "metadata": {"resourceVersion": "1429"}}
    evicted = [body["metadata"]["name"] for _, url, body in server.calls if url.endswith("/eviction")]
    assert sorted(evicted) == ["bare", "web", "web"], "the refused eviction was tried again"
    assert {body["apiVersion"] for _, url, body in server.calls if url.endswith("/eviction")} == {
        "policy/v1beta1"
    }
    assert [p["metadata"]["name"] for p in server.pods] == ["agent", "static"]


async def test_drain_is_bounded_by_the_deadline() -> None:
    server = Server([pod("stuck", "ReplicaSet")], evict=False)
    with deadline.scope(1.2), pytest.raises(ClusterUnavailable) as err:
        await nodes_of(server).update("127.0.0.1", NodeChange(availability=NodeAvailability.DRAIN))
    assert err.value.reason == "DRAIN_TIMEOUT" and "ns/stuck" in err.value.message


async def test_update_labels_etag_and_role() -> None:
    server = Server([])
    ops = nodes_of(server)
    etag = parse.spec_version(server.node)
    await ops.update("127.0.0.1", NodeChange(labels={"zone": "a"}, version=etag))
    (_, _, patch) = server.calls[-1]
    assert patch == {
        "metadata": {
            "labels": {"kubernetes.io/hostname": None, "kubernetes.io/os": None, "zone": "a"},
            "resourceVersion": "1429",  # the node as read: a write in between is a conflict
        }
    }
    with pytest.raises(Aborted) as stale:
        await ops.update("127.0.0.1", NodeChange(availability=NodeAvailability.PAUSE, version="7"))
    assert stale.value.reason == "ETAG_MISMATCH"
    with pytest.raises(FailedPrecondition) as role:
        await ops.update("127.0.0.1", NodeChange(role=NodeRole.MANAGER))
    assert role.value.reason == "ROLE_NOT_MUTABLE"
    # The role it has is no change.
    same = await ops.update("127.0.0.1", NodeChange(role=NodeRole.WORKER))
    assert same.state is NodeState.READY


async def test_a_kubelet_write_in_between_is_tried_again() -> None:
    server = Server([])
    server.conflicts = 2  # the kubelet wrote the node's status between our read and patch, twice
    ops = nodes_of(server)
    node = await ops.update("127.0.0.1", NodeChange(availability=NodeAvailability.PAUSE))
    assert node.availability is NodeAvailability.PAUSE
    assert [m for m, _, _ in server.calls].count("PATCH") == 3
    server.conflicts = 5
    with pytest.raises(Aborted):
        await ops.update("127.0.0.1", NodeChange(availability=NodeAvailability.ACTIVE))
