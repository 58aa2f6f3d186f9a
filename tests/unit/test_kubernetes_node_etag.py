"""A Kubernetes node's etag follows what can be set on it, not the kubelet's status writes."""

from __future__ import annotations

import copy

from zanepool_server.drivers.kubernetes.parse import spec_version

NODE = {
    "metadata": {"name": "n1", "resourceVersion": "100", "labels": {"a": "1"}},
    "spec": {},
    "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t1"}]},
}


def test_status_writes_leave_the_etag_alone() -> None:
    later = copy.deepcopy(NODE)
    later["metadata"]["resourceVersion"] = "101"
    later["status"]["conditions"][0]["lastHeartbeatTime"] = "t2"
    assert spec_version(later) == spec_version(NODE)


def test_labels_taints_and_scheduling_move_it() -> None:
    labelled, cordoned, tainted = (copy.deepcopy(NODE) for _ in range(3))
    labelled["metadata"]["labels"]["b"] = "2"
    cordoned["spec"]["unschedulable"] = True
    tainted["spec"]["taints"] = [{"key": "k", "effect": "NoSchedule"}]
    versions = {spec_version(n) for n in (NODE, labelled, cordoned, tainted)}
    assert len(versions) == 4
