"""Pods <-> containers: a pod's containers as the API reads them, and what CreateContainer makes.

The pod has the shape the v1.20 test bed answered for a pod with a sleeping container and
one that exits 3 (in CrashLoopBackOff), trimmed to what is read.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from zanepool_server.drivers.kubernetes import nodes, pods
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import ContainerSpec, ContainerState, MountSpec, PortMapping, Resources

POD: dict[str, Any] = {
    "metadata": {
        "creationTimestamp": "2026-12-04T16:48:28Z",
        "labels": {"app": "rec"},
        "name": "rec",
        "namespace": "zp-record",
        "uid": "5135b9f1-fc94-4e1a-b4d1-4660c0878cd7",
    },
    "spec": {
        "containers": [
            {
                "command": ["sleep", "3600"],
                "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {}}}],
                "image": "local/busybox:1",
                "imagePullPolicy": "Never",
                "name": "main",
                "ports": [{"containerPort": 8080, "hostPort": 18080, "protocol": "TCP"}],
                "resources": {
                    "limits": {"cpu": "1", "memory": "128Mi"},
                    "requests": {"cpu": "250m", "memory": "64Mi"},
                },
                "volumeMounts": [
                    {
                        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                        "name": "token",
                        "readOnly": True,
                    },
                    {"mountPath": "/data", "name": "data"},
                    {"mountPath": "/host", "name": "host"},
                    {"mountPath": "/tmp", "name": "scratch"},
                ],
            },
            {"command": ["sh", "-c", "exit 3"], "image": "local/busybox:1", "name": "crash"},
        ],
        "nodeName": "127.0.0.1",
        "restartPolicy": "Always",
        "volumes": [
            {"name": "token", "secret": {"secretName": "default-token-xx6lv"}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "claim-1"}},
            {"name": "host", "hostPath": {"path": "/srv"}},
            {"name": "scratch", "emptyDir": {"medium": "Memory"}},
        ],
    },
    "status": {
        "containerStatuses": [
            {
                "containerID": "docker://fcf7",
                "lastState": {
                    "terminated": {
                        "exitCode": 3,
                        "finishedAt": "2026-12-04T16:48:29Z",
                        "reason": "Error",
                        "startedAt": "2026-12-04T16:48:29Z",
                    }
                },
                "name": "crash",
                "restartCount": 1,
                "state": {
                    "waiting": {
                        "message": "back-off 10s restarting failed container",
                        "reason": "CrashLoopBackOff",
                    }
                },
            },
            {
                "containerID": "docker://81b9",
                "lastState": {},
                "name": "main",
                "restartCount": 0,
                "state": {"running": {"startedAt": "2026-12-04T16:48:29Z"}},
            },
        ],
        "phase": "Running",
    },
}


def with_status(**status: Any) -> dict[str, Any]:
    pod = copy.deepcopy(POD)
    pod["status"] = status
    return pod


def test_running_container() -> None:
    main = pods.container(POD, "main")
    assert main is not None
    assert main.container_id == "zp-record_rec_main"
    assert pods.split_container_key(main.container_id) == ("zp-record", "rec", "main")
    assert main.state is ContainerState.RUNNING and main.exit_code == 0
    assert main.start_time == datetime(2026, 12, 4, 16, 48, 29, tzinfo=UTC)
    assert main.node_id == "127.0.0.1" and main.namespace == "zp-record" and main.labels == {"app": "rec"}
    assert main.env == {"A": "1"}, "a valueFrom is not resolved"
    assert main.ports == (PortMapping(8080, 18080, "tcp", ""),)
    assert main.resources == Resources(1.0, 128 * 2**20, 0.25, 64 * 2**20)
    assert main.mounts == (
        MountSpec("volume", "/var/run/secrets/kubernetes.io/serviceaccount", "token", True),
        MountSpec("volume", "/data", "claim-1"),
        MountSpec("bind", "/host", "/srv"),
        MountSpec("tmpfs", "/tmp"),
    )
    assert main.restart_policy == "always" and main.image_pull_policy == "Never"
    assert main.engine_container_id == "docker://81b9" and not main.owner


def test_crash_looping_container_is_restarting() -> None:
    crash = pods.container(POD, "crash")
    assert crash is not None
    assert crash.state is ContainerState.RESTARTING and crash.exit_code == 3 and crash.restart_count == 1
    assert crash.state_message.startswith("CrashLoopBackOff: back-off")
    assert [c.container_id for c in pods.containers(POD)] == ["zp-record_rec_main", "zp-record_rec_crash"]
    assert pods.container(POD, "nope") is None


@pytest.mark.parametrize(
    ("status", "policy", "state", "message"),
    [
        (
            {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/1 nodes are available",
                    }
                ],
            },
            "Always",
            ContainerState.CREATED,
            "Unschedulable: 0/1 nodes are available",
        ),
        (
            {
                "phase": "Pending",
                "containerStatuses": [
                    {
                        "name": "main",
                        "state": {"waiting": {"reason": "ErrImageNeverPull", "message": "not present"}},
                    }
                ],
            },
            "Always",
            ContainerState.CREATED,
            "ErrImageNeverPull: not present",
        ),
        (
            {
                "phase": "Succeeded",
                "containerStatuses": [
                    {"name": "main", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
                ],
            },
            "Never",
            ContainerState.EXITED,
            "Completed",
        ),
        (
            {
                "phase": "Running",
                "containerStatuses": [
                    {"name": "main", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
                ],
            },
            "OnFailure",
            ContainerState.RESTARTING,
            "Error",
        ),
        ({"phase": "Failed"}, "Never", ContainerState.EXITED, ""),
    ],
)
def test_container_states(status: dict[str, Any], policy: str, state: ContainerState, message: str) -> None:
    pod = with_status(**status)
    pod["spec"]["restartPolicy"] = policy
    main = pods.container(pod, "main")
    assert main is not None and main.state is state and main.state_message == message


def test_owner_and_controller() -> None:
    pod = copy.deepcopy(POD)
    assert pods.owner(pod) == "" and pods.controller(pod) is None
    pod["metadata"]["ownerReferences"] = [
        {"kind": "Node", "name": "n"},
        {"kind": "ReplicaSet", "name": "web-74b56d9b76", "controller": True, "uid": "u1"},
    ]
    assert pods.owner(pod) == "ReplicaSet/web-74b56d9b76" and (pods.controller(pod) or {})["uid"] == "u1"
    assert nodes.evictable(pod)
    pod["metadata"]["ownerReferences"][1]["kind"] = "DaemonSet"
    assert not nodes.evictable(pod)
    mirror = copy.deepcopy(POD)
    mirror["metadata"]["annotations"] = {pods.MIRROR: "abc"}
    assert pods.is_mirror(mirror) and not nodes.evictable(mirror)


def test_eviction_follows_the_server_version() -> None:
    assert nodes.eviction(POD, 20) == {
        "apiVersion": "policy/v1beta1",
        "kind": "Eviction",
        "metadata": {"name": "rec", "namespace": "zp-record"},
    }
    assert nodes.eviction(POD, 22)["apiVersion"] == "policy/v1"


def test_label_patch() -> None:
    assert nodes.label_patch({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "x", "d": "4"}) == {
        "c": None,
        "b": "x",
        "d": "4",
    }


# --- CreateContainer ---------------------------------------------------------------------------


def test_pod_manifest() -> None:
    spec = ContainerSpec(
        image="local/busybox:1",
        command=("sleep",),
        args=("60",),
        env={"A": "1"},
        labels={"app": "zp"},
        ports=(PortMapping(80, 8080, "udp"),),
        mounts=(MountSpec("volume", "/data", "claim-1", True), MountSpec("tmpfs", "/tmp")),
        restart_policy="on-failure",
        resources=Resources(cpu_limit=0.5, memory_limit_bytes=2**20),
        constraints=("disk=ssd",),
        image_pull_policy="Never",
        tty=True,
    )
    pod = pods.pod_manifest("web", "ns1", spec, "node-a")
    assert pod["metadata"] == {
        "name": "web",
        "namespace": "ns1",
        "labels": {"app": "zp", pods.MANAGED: "web"},
    }
    body = pod["spec"]
    (box,) = body["containers"]
    assert box == {
        "name": "web",
        "image": "local/busybox:1",
        "command": ["sleep"],
        "args": ["60"],
        "env": [{"name": "A", "value": "1"}],
        "ports": [{"containerPort": 80, "protocol": "UDP", "hostPort": 8080}],
        "volumeMounts": [
            {"name": "m0", "mountPath": "/data", "readOnly": True},
            {"name": "m1", "mountPath": "/tmp", "readOnly": False},
        ],
        "resources": {"limits": {"cpu": "500m", "memory": "1048576"}},
        "tty": True,
        "imagePullPolicy": "Never",
    }
    assert body["restartPolicy"] == "OnFailure" and body["nodeSelector"] == {"disk": "ssd"}
    assert body["volumes"] == [
        {"name": "m0", "persistentVolumeClaim": {"claimName": "claim-1", "readOnly": True}},
        {"name": "m1", "emptyDir": {"medium": "Memory"}},
    ]
    term = body["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ][0]
    assert term == {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-a"]}]}
    # What the API server would answer parses back to the same container.
    made = pods.container({**pod, "status": {"phase": "Pending"}}, "web")
    assert made is not None and made.container_id == "ns1_web_web" and made.restart_policy == "on-failure"


def test_deployment_manifest_and_its_template() -> None:
    spec = ContainerSpec(image="local/busybox:1", replicas=3, labels={"app": "zp"})
    deployment = pods.deployment_manifest("web", "default", spec, "")
    assert deployment["kind"] == "Deployment" and deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["selector"] == {"matchLabels": {pods.MANAGED: "web"}}
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == {"app": "zp", pods.MANAGED: "web"}
    assert template["spec"]["restartPolicy"] == "Always" and "affinity" not in template["spec"]
    info = pods.container(pods.template_pod(deployment), "web")
    assert info is not None and info.container_id == "default_web_web" and info.owner == "Deployment/web"


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        (ContainerSpec(image="i", networks=("backend",)), "container.networks", "UNSUPPORTED_FIELD"),
        (
            ContainerSpec(image="i", image_pull_policy="Sometimes"),
            "container.image_pull_policy",
            "INVALID_IMAGE_PULL_POLICY",
        ),
        (
            ContainerSpec(image="i", replicas=2, restart_policy="no"),
            "container.restart_policy",
            "INVALID_RESTART_POLICY",
        ),
        (
            ContainerSpec(image="i", constraints=("node.labels.zone==a",)),
            "container.constraints[0]",
            "INVALID_CONSTRAINT",
        ),
        (
            ContainerSpec(image="i", mounts=(MountSpec("volume", "/data"),)),
            "container.mounts[0].source",
            "INVALID_MOUNT",
        ),
    ],
)
def test_create_refusals(spec: ContainerSpec, field: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        pods.pod_manifest("web", "default", spec, "")
    assert err.value.reason == reason and err.value.violations[0].field == field


def test_namespace_and_selection_helpers() -> None:
    assert pods.namespace_of("", "container.namespace") == "default"
    with pytest.raises(InvalidArgument) as err:
        pods.namespace_of("Not_A_Label", "container.namespace")
    assert err.value.reason == "INVALID_NAMESPACE"
    older, newer, leaving = copy.deepcopy(POD), copy.deepcopy(POD), copy.deepcopy(POD)
    newer["metadata"].update(name="b", creationTimestamp="2026-12-05T00:00:00Z")
    leaving["metadata"].update(name="0", deletionTimestamp="2026-12-04T00:00:00Z")
    assert pods.first([newer, leaving, older]) is older and pods.first([leaving]) is None
    assert pods.selector({"b": "2", "a": "1"}) == "a=1,b=2"
