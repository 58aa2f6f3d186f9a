"""Kubernetes documents -> domain data: quantities, nodes, cluster info, images, volumes.

The documents have the shapes the v1.20 test bed answers (trimmed to what is read).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from zanepool_server.drivers.kubernetes import parse
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import NodeAvailability, NodeRole, NodeState


def node_doc(name: str = "127.0.0.1", **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "metadata": {
            "name": name,
            "uid": "0b0c7c1e-4a8f-4b9e-9d55-0ad36f1cbd1e",
            "resourceVersion": "1429",
            "creationTimestamp": "2026-12-04T16:46:19Z",
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
        },
        "spec": {},
        "status": {
            "capacity": {"cpu": "2", "memory": "24683792Ki", "pods": "110"},
            "allocatable": {"cpu": "1900m", "memory": "24581392Ki", "pods": "110"},
            "conditions": [
                {
                    "type": "MemoryPressure",
                    "status": "False",
                    "lastHeartbeatTime": "2026-12-04T16:48:44Z",
                    "reason": "KubeletHasSufficientMemory",
                },
                {
                    "type": "Ready",
                    "status": "True",
                    "lastHeartbeatTime": "2026-12-04T16:48:40Z",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                },
            ],
            "addresses": [{"type": "InternalIP", "address": name}, {"type": "Hostname", "address": "node-a"}],
            "nodeInfo": {
                "kernelVersion": "6.18.44",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "kubeletVersion": "v1.20.2",
            },
            "images": [
                {"names": ["local/busybox:1"], "sizeBytes": 1984172},
                {
                    "names": [
                        "docker.io/library/nginx@sha256:" + "ab" * 32,
                        "docker.io/library/nginx:1.25",
                    ],
                    "sizeBytes": 187000000,
                },
            ],
        },
    }
    doc.update(overrides)
    return doc


def pod_doc(node: str, phase: str, *states: str, requests: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": f"p-{phase}", "namespace": "default"},
        "spec": {
            "nodeName": node,
            "containers": [
                {"name": f"c{i}", "resources": {"requests": requests or {}}} for i in range(len(states))
            ],
        },
        "status": {
            "phase": phase,
            "containerStatuses": [{"name": f"c{i}", "state": {s: {}}} for i, s in enumerate(states)],
        },
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", Decimal(2)),
        ("250m", Decimal("0.25")),
        ("1.5", Decimal("1.5")),
        ("128Mi", Decimal(128 * 2**20)),
        ("24683792Ki", Decimal(24683792 * 1024)),
        ("1G", Decimal(10**9)),
        ("1e3", Decimal(1000)),
        ("2E", Decimal(2 * 10**18)),
        ("100n", Decimal("1E-7")),
        ("", Decimal(0)),
        (None, Decimal(0)),
        ("lots", Decimal(0)),
    ],
)
def test_quantity(text: str | None, value: Decimal) -> None:
    assert parse.quantity(text) == value


def test_bytes_round_up_and_times() -> None:
    assert parse.byte_count("1.5") == 2 and parse.byte_count("1Ki") == 1024
    assert parse.time("2026-12-04T16:48:29Z") == datetime(2026, 12, 4, 16, 48, 29, tzinfo=UTC)
    assert parse.time("2026-12-04T16:48:29.123456Z") == datetime(2026, 12, 4, 16, 48, 29, 123456, tzinfo=UTC)
    assert parse.time("yesterday") is None and parse.time(None) is None


def test_node() -> None:
    pods = [
        pod_doc("127.0.0.1", "Running", "running", "waiting", requests={"cpu": "250m", "memory": "64Mi"}),
        pod_doc("127.0.0.1", "Succeeded", "terminated", requests={"cpu": "4", "memory": "1Gi"}),
    ]
    node = parse.node(node_doc(), pods)
    assert node.node_id == "127.0.0.1" and node.hostname == "node-a" and node.address == "127.0.0.1"
    assert node.role is NodeRole.WORKER and node.state is NodeState.READY
    assert node.availability is NodeAvailability.ACTIVE
    assert node.state_message == "KubeletReady: kubelet is posting ready status"
    assert node.engine_version == "v1.20.2" and node.os == "linux" and node.arch == "amd64"
    assert node.cpus == 2 and node.memory_bytes == 24683792 * 1024
    assert node.allocatable_cpus == 1.9 and node.allocatable_memory_bytes == 24581392 * 1024
    # Requests of the pods still running only: the finished pod holds nothing.
    assert node.reserved_cpus == 0.5 and node.reserved_memory_bytes == 2 * 64 * 2**20
    assert (node.containers_running, node.containers_paused, node.containers_stopped) == (1, 0, 2)
    assert node.version == parse.spec_version(node_doc()) != "1429", "what can be set, not the status"
    assert node.labels["kubernetes.io/os"] == "linux"
    assert node.update_time == datetime(2026, 12, 4, 16, 48, 44, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ready", "state"),
    [("True", NodeState.READY), ("False", NodeState.DOWN), ("Unknown", NodeState.UNKNOWN)],
)
def test_node_state_and_role(ready: str, state: NodeState) -> None:
    doc = node_doc(spec={"unschedulable": True})
    doc["status"]["conditions"] = [{"type": "Ready", "status": ready, "reason": "NodeStatusUnknown"}]
    doc["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = ""
    node = parse.node(doc, [])
    assert node.state is state and node.state_message == "NodeStatusUnknown"
    assert node.availability is NodeAvailability.PAUSE and node.role is NodeRole.MANAGER


def test_pod_requests_count_init_containers_and_overhead() -> None:
    pod = {
        "spec": {
            "containers": [
                {"resources": {"requests": {"cpu": "100m", "memory": "10Mi"}}},
                {"resources": {"requests": {"cpu": "100m"}}},
            ],
            "initContainers": [{"resources": {"requests": {"cpu": "500m", "memory": "1Mi"}}}],
            "overhead": {"cpu": "10m"},
        }
    }
    assert parse.pod_requests(pod) == (Decimal("0.51"), Decimal(10 * 2**20))


def test_cluster_info_and_node_grouping() -> None:
    nodes = [node_doc("a"), node_doc("b")]
    nodes[1]["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    nodes[1]["status"]["nodeInfo"] = {**nodes[1]["status"]["nodeInfo"], "kernelVersion": "5.10"}
    pods = [
        pod_doc("a", "Running", "running"),
        pod_doc("b", "Running", "running", "running"),
        pod_doc("", "Pending"),
        pod_doc("a", "Failed", "terminated"),
    ]
    summaries = parse.nodes(nodes, pods)
    assert [n.containers_running for n in summaries] == [1, 2]
    info = parse.info({"major": "1", "minor": "20+", "gitVersion": "v1.20.2"}, nodes, summaries, pods)
    assert info.server_version == "v1.20.2" and info.api_version == "1.20"
    assert info.node_count == 2 and info.ready_node_count == 1 and info.manager_count == 0
    assert info.cpus == 4 and info.memory_bytes == 2 * 24683792 * 1024
    assert info.os == "Debian GNU/Linux 12 (bookworm)" and info.arch == "amd64"
    assert info.kernel_version == "5.10, 6.18.44"
    assert (info.pods_running, info.pods_pending, info.pods_succeeded, info.pods_failed) == (2, 1, 0, 1)
    assert (info.containers_running, info.containers_stopped) == (3, 1)


def test_images_of_a_node() -> None:
    local, nginx = parse.images(node_doc())
    assert local.node_id == "127.0.0.1" and local.repo_tags == ("local/busybox:1",) and not local.repo_digests
    assert local.image_key.startswith("127.0.0.1_") and len(local.image_key.split("_")[1]) == 64
    assert local.size_bytes == 1984172 and local.containers == -1 and not local.image_id
    # An image with a repo digest is known by it.
    assert nginx.image_key == "127.0.0.1_" + "ab" * 32
    assert nginx.repo_tags == ("docker.io/library/nginx:1.25",) and len(nginx.repo_digests) == 1
    assert parse.split_key(nginx.image_key, 2, "image", "x") == ["127.0.0.1", "ab" * 32]


def test_keys_refuse_what_does_not_split() -> None:
    for bad in ("a", "a__b", "_a", "a_b_c"):
        with pytest.raises(InvalidArgument) as err:
            parse.split_key(bad, 2, "image", "{node}_{64 hex digits}")
        assert err.value.reason == "INVALID_NAME"


def test_claim_and_persistent_volume() -> None:
    claim = parse.claim(
        {
            "metadata": {"name": "data", "namespace": "ns1", "labels": {"app": "db"}},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "fast",
            },
            "status": {"phase": "Pending"},
        }
    )
    assert claim.volume_key == "pvc_ns1_data" and claim.kind == "persistentvolumeclaim"
    assert claim.capacity_bytes == 2**30 and claim.driver == "fast" and claim.status == "Pending"
    assert (
        claim.namespace == "ns1"
        and claim.access_modes == ("ReadWriteOnce",)
        and claim.labels == {"app": "db"}
    )
    bound = parse.claim(
        {
            "metadata": {"name": "data", "namespace": "ns1"},
            "spec": {"resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteMany"]},
        }
    )
    assert bound.capacity_bytes == 2 * 2**30 and bound.access_modes == ("ReadWriteMany",)
    pv = parse.persistent_volume(
        {
            "metadata": {"name": "pv-1"},
            "spec": {
                "capacity": {"storage": "5Gi"},
                "hostPath": {"path": "/srv/pv1"},
                "accessModes": ["ReadOnlyMany"],
            },
            "status": {"phase": "Available"},
        }
    )
    assert pv.volume_key == "pv_pv-1" and pv.kind == "persistentvolume" and pv.mountpoint == "/srv/pv1"
    assert pv.capacity_bytes == 5 * 2**30 and pv.status == "Available" and not pv.namespace
