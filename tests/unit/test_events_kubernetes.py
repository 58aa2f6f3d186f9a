"""Kubernetes events: Event objects -> ClusterEvent, watch errors, the order of a list."""

from __future__ import annotations

from typing import Any

import pytest

from zanepool_server.drivers.kubernetes import events
from zanepool_server.errors import PermissionDenied

SECOND = 10**9
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z


def event(kind: str, name: str, namespace: str = "", **fields: Any) -> dict[str, Any]:
    involved = {"kind": kind, "name": name, "uid": f"uid-{name}"}
    if namespace:
        involved["namespace"] = namespace
    doc: dict[str, Any] = {
        "metadata": {"name": f"{name}.1", "namespace": namespace or "default", "resourceVersion": "42"},
        "involvedObject": involved,
        "reason": "Started",
        "message": "Started container web",
        "source": {"component": "kubelet", "host": "node-1"},
        "lastTimestamp": "2023-11-14T22:13:20Z",
        "count": 3,
        "type": "Normal",
    }
    return doc | fields


@pytest.mark.parametrize(
    ("doc", "resource"),
    [
        (
            event(
                "Pod",
                "web-1",
                "shop",
                involvedObject={
                    **event("Pod", "web-1", "shop")["involvedObject"],
                    "fieldPath": "spec.containers{web}",
                },
            ),
            "containers/shop_web-1_web",
        ),
        (event("Pod", "web-1", "shop"), "uid-web-1"),
        (
            event(
                "Pod",
                "web-1",
                "shop",
                involvedObject={
                    **event("Pod", "web-1", "shop")["involvedObject"],
                    "fieldPath": "spec.initContainers{setup}",
                },
            ),
            "uid-web-1",
        ),
        (event("Node", "node-1"), "nodes/node-1"),
        (event("PersistentVolumeClaim", "data", "shop"), "volumes/pvc_shop_data"),
        (event("PersistentVolume", "pv-7"), "volumes/pv_pv-7"),
        (event("ReplicaSet", "web-5d", "shop"), "uid-web-5d"),
    ],
)
def test_resources_are_our_names_else_the_objects_uid(doc: dict[str, Any], resource: str) -> None:
    normalised = events.normalise(doc)
    assert normalised.resource == resource
    assert normalised.kind == doc["involvedObject"]["kind"].lower()
    assert normalised.action == "Started" and normalised.message == "Started container web"
    assert normalised.ts_ns == T0 * SECOND and normalised.index == 42


def test_attributes_are_those_set() -> None:
    doc = event("Pod", "web-1", "shop")
    assert events.normalise(doc).attributes == {
        "type": "Normal",
        "namespace": "shop",
        "name": "web-1",
        "count": "3",
        "component": "kubelet",
    }
    bare = event("Node", "node-1", source={}, count=None, reportingComponent="kube-controller")
    assert events.normalise(bare).attributes == {
        "type": "Normal",
        "namespace": "default",
        "name": "node-1",
        "component": "kube-controller",
    }


def test_the_latest_time_an_event_has_is_its_time() -> None:
    newer = event("Node", "n", series={"count": 9, "lastObservedTime": "2023-11-14T22:13:25.250000Z"})
    assert events.normalise(newer).ts_ns == T0 * SECOND + 5 * SECOND + 250_000_000
    assert events.normalise(newer).attributes["count"] == "3"
    micro = event("Node", "n", lastTimestamp=None, eventTime="2023-11-14T22:13:21.000123Z")
    assert events.normalise(micro).ts_ns == (T0 + 1) * SECOND + 123_000
    created = event("Node", "n", lastTimestamp=None)
    created["metadata"]["creationTimestamp"] = "2023-11-14T22:13:22Z"
    assert events.normalise(created).ts_ns == (T0 + 2) * SECOND
    assert events.normalise(event("Node", "n", lastTimestamp=None)).ts_ns == 0


def test_a_listed_history_is_in_order_and_after_the_floor() -> None:
    docs = [
        event("Node", "c", metadata={"resourceVersion": "30"}, lastTimestamp="2023-11-14T22:13:22Z"),
        event("Node", "a", metadata={"resourceVersion": "12"}),
        event("Node", "b", metadata={"resourceVersion": "11"}),
        event("Node", "old", metadata={"resourceVersion": "5"}, lastTimestamp="2023-11-14T22:13:19Z"),
    ]
    got = list(events._sorted(docs, (T0 * SECOND, 11)))
    assert [e.attributes["name"] for e in got] == ["a", "c"]


def test_watch_errors() -> None:
    assert events._watch_event({"type": "ADDED", "object": {"x": 1}}, "e", "w") == ("ADDED", {"x": 1})
    with pytest.raises(events._Expired):
        events._watch_event({"type": "ERROR", "object": {"code": 410, "reason": "Expired"}}, "e", "w")
    with pytest.raises(PermissionDenied) as denied:
        events._watch_event(
            {"type": "ERROR", "object": {"code": 403, "reason": "Forbidden", "message": "no"}}, "e", "w"
        )
    assert denied.value.metadata["k8s_status"] == "403"
