"""The Swarm container driver's pure parts: Engine API documents in, containers and specs out."""

from __future__ import annotations

from typing import Any, cast

import pytest

from zanepool_server.drivers.swarm import containers as sc
from zanepool_server.drivers.swarm.fleet import Fleet, NodeEngine
from zanepool_server.errors import FailedPrecondition
from zanepool_server.model import ContainerSpec, ContainerState, MountSpec, PortMapping, Resources

HEX = {name: name[0] * 64 for name in ("alpha", "bravo", "charlie", "delta", "echo")}
ENGINE = cast(Any, object())  # never called: _assemble only remembers which engine holds what


def task(
    tid: str, service: str, state: str, cid: str = "", *, desired: str = "running", **more: Any
) -> dict[str, Any]:
    return {
        "ID": tid,
        "ServiceID": service,
        "NodeID": "n1",
        "DesiredState": desired,
        "CreatedAt": more.pop("created", "2025-05-01T10:00:00.5Z"),
        "Status": {"State": state, "ContainerStatus": {"ContainerID": cid, "ExitCode": 0}, **more},
        "Spec": {
            "ContainerSpec": {"Image": "img:1", "Command": ["sh"], "Args": ["-c", "x"], "Env": ["A=b=c"]}
        },
    }


def service(sid: str, name: str, *, managed: bool, replicas: int = 1) -> dict[str, Any]:
    return {
        "ID": sid,
        "CreatedAt": "2025-05-01T09:00:00Z",
        "Version": {"Index": 7},
        "Spec": {
            "Name": name,
            "Labels": {sc.MANAGED: "true"} if managed else {},
            "Mode": {"Replicated": {"Replicas": replicas}},
            "TaskTemplate": {
                "ContainerSpec": {"Image": "img:1", "Labels": {"team": "a"}},
                "RestartPolicy": {"Condition": "on-failure"},
                "Networks": [{"Target": "netid"}],
            },
        },
    }


def summary(cid: str, state: str, status: str, **labels: str) -> dict[str, Any]:
    return {
        "Id": cid,
        "Image": "img:1",
        "Created": 1746090000,
        "State": state,
        "Status": status,
        "Labels": labels,
        "Ports": [
            {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        ],
        "Mounts": [
            {"Type": "volume", "Name": "data", "Source": "/var/lib/x", "Destination": "/data", "RW": False}
        ],
        "NetworkSettings": {"Networks": {"bridge": {}}},
    }


def scan(
    services: list[dict[str, Any]], tasks: list[dict[str, Any]], on_n1: list[dict[str, Any]]
) -> sc._Scan:
    node = NodeEngine("n1", ENGINE, {})
    fleet = Fleet("n1", frozenset({"n1", "n2"}), {"n1": node}, {})
    return sc._Scan(fleet, services, tasks, {"netid": "backend"}, [(node, on_n1)])


def test_assemble_names_each_container_once() -> None:
    found = sc._assemble(
        scan(
            [service("s1", "web", managed=True), service("s2", "db", managed=False)],
            [
                task("t1", "s1", "running", HEX["alpha"]),
                task("t2", "s2", "running", HEX["bravo"]),
                task("t3", "s2", "running", HEX["charlie"])
                | {"NodeID": "n2"},  # a node no engine answers for
                task("t4", "s2", "pending"),  # no container yet
            ],
            [
                summary(HEX["alpha"], "running", "Up 1 second", **{sc.SERVICE_ID: "s1"}),
                summary(
                    HEX["bravo"], "running", "Up 2 seconds", **{sc.SERVICE_ID: "s2", sc._SERVICE_NAME: "db"}
                ),
                summary(HEX["delta"], "exited", "Exited (137) 5 minutes ago"),
            ],
        )
    )
    assert sorted(found) == sorted(["web", HEX["bravo"], HEX["charlie"], HEX["delta"]])
    web = found["web"]
    assert web.kind is sc.Kind.MANAGED and web.info.engine_container_id == HEX["alpha"]
    assert web.info.networks == ("backend",) and web.info.labels == {"team": "a"}
    assert web.info.restart_policy == "on-failure" and web.info.owner == "web"

    bravo = found[HEX["bravo"]]  # the engine's data first, the task's where the engine says nothing
    assert bravo.kind is sc.Kind.TASK and bravo.info.owner == "db" and bravo.info.command == ("sh",)
    assert bravo.info.ports == (PortMapping(80, 8080, "tcp"),) and bravo.info.state_message == "Up 2 seconds"
    assert bravo.info.env == {"A": "b=c"}

    charlie = found[HEX["charlie"]]
    assert charlie.kind is sc.Kind.TASK and charlie.info.node_id == "n2" and charlie.info.owner == "db"

    delta = found[HEX["delta"]]
    assert delta.kind is sc.Kind.STANDALONE and delta.engine is ENGINE and delta.info.exit_code == 137
    assert delta.info.state is ContainerState.EXITED and delta.info.mounts == (
        MountSpec("volume", "/data", "data", True),
    )
    assert delta.info.create_time is not None and delta.info.node_id == "n1"


@pytest.mark.parametrize(
    ("replicas", "tasks", "state", "restarts"),
    [
        (0, [], ContainerState.EXITED, 0),
        (1, [], ContainerState.CREATED, 0),
        (1, [task("t1", "s1", "running", HEX["alpha"])], ContainerState.RUNNING, 0),
        (
            1,
            [
                task("t1", "s1", "failed", HEX["alpha"], desired="shutdown", created="2025-05-01T10:00:00Z"),
                task("t2", "s1", "ready", desired="ready", created="2025-05-01T10:00:09Z"),
            ],
            ContainerState.RESTARTING,
            1,
        ),
        (0, [task("t1", "s1", "shutdown", HEX["alpha"], desired="remove")], ContainerState.EXITED, 0),
    ],
)
def test_a_managed_service_is_one_container(
    replicas: int, tasks: list[dict[str, Any]], state: ContainerState, restarts: int
) -> None:
    info = sc._managed(service("s1", "web", managed=True, replicas=replicas), tasks, {})
    assert (info.container_id, info.state, info.restart_count) == ("web", state, restarts)


def test_inspect_reads_what_a_summary_cannot() -> None:
    raw = {
        "Id": HEX["echo"],
        "Created": "2025-05-01T10:00:00.123456789Z",
        "RestartCount": 2,
        "State": {
            "Status": "exited",
            "ExitCode": 3,
            "StartedAt": "2025-05-01T10:00:01Z",
            "FinishedAt": "0001-01-01T00:00:00Z",
        },
        "Config": {
            "Image": "img:1",
            "Entrypoint": None,
            "Cmd": ["sleep", "1"],
            "Env": ["PATH=/bin"],
            "Tty": True,
        },
        "HostConfig": {
            "RestartPolicy": {"Name": ""},
            "NanoCpus": 500_000_000,
            "Memory": 1024,
            "PortBindings": {"80/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}], "81/tcp": None},
        },
        "NetworkSettings": {"Ports": {}, "Networks": {"bridge": {}}},
    }
    info = sc._engine_container(raw, "n1")
    assert info.args == ("sleep", "1") and info.command == () and info.tty and info.exit_code == 3
    assert info.finish_time is None and info.start_time is not None and info.restart_count == 2
    assert info.restart_policy == "no" and info.resources == Resources(cpu_limit=0.5, memory_limit_bytes=1024)
    assert info.ports == (PortMapping(80, 53, "udp", "127.0.0.1"),)


def test_service_spec_from_a_container_spec() -> None:
    spec = ContainerSpec(
        image="img:1",
        command=("sh",),
        env={"A": "1"},
        labels={"team": "a"},
        ports=(PortMapping(80, 8080),),
        networks=("backend",),
        restart_policy="unless-stopped",
        resources=Resources(cpu_limit=1.5, memory_reservation_bytes=64),
        constraints=("node.labels.zone==a",),
    )
    body = sc._service_spec("web", spec, "n2")
    template = body["TaskTemplate"]
    assert body["Labels"] == {sc.MANAGED: "true"} and body["Mode"] == {"Replicated": {"Replicas": 1}}
    assert template["ContainerSpec"]["Labels"] == {"team": "a"} and template["ContainerSpec"]["Env"] == [
        "A=1"
    ]
    assert "Args" not in template["ContainerSpec"] and template["RestartPolicy"] == {"Condition": "any"}
    assert template["Placement"]["Constraints"] == ["node.labels.zone==a", "node.id==n2"]
    assert template["Resources"]["Limits"]["NanoCPUs"] == 1_500_000_000
    assert body["EndpointSpec"]["Ports"][0]["PublishMode"] == "host"


def test_respec_changes_a_copy() -> None:
    original = service("s1", "web", managed=True)
    changed = sc._respec(original, replicas=0, grace=2, force=True)
    assert changed["Mode"]["Replicated"]["Replicas"] == 0 and changed["TaskTemplate"]["ForceUpdate"] == 1
    assert changed["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] == 2_000_000_000
    assert (
        original["Spec"]["Mode"]["Replicated"]["Replicas"] == 1
        and "ForceUpdate" not in original["Spec"]["TaskTemplate"]
    )


@pytest.mark.parametrize(
    ("state", "err", "reason"),
    [
        ("rejected", "No such image: img:1", "IMAGE_NOT_FOUND"),
        ("rejected", "invalid mount config", "TASK_REJECTED"),
        ("failed", "starting container failed: exec: nosuch", "CONTAINER_START_FAILED"),
    ],
)
def test_a_task_that_cannot_run_fails_the_wait(state: str, err: str, reason: str) -> None:
    with pytest.raises(FailedPrecondition) as failed:
        sc._started("web", frozenset())([task("t1", "s1", state, Err=err)])
    assert failed.value.reason == reason and failed.value.metadata["task"] == "t1"


def test_a_program_that_exits_has_run() -> None:
    assert sc._started("web", frozenset())(
        [task("t1", "s1", "failed", HEX["alpha"], Err="task: non-zero exit (1)")]
    )
    assert not sc._started("web", frozenset())([task("t1", "s1", "starting")])


def test_no_suitable_node_is_final_once_nothing_is_leaving_and_it_lasts() -> None:
    now = [0.0]
    done = sc._started("web", frozenset({"old"}), clock=lambda: now[0])
    pending = task("new", "s1", "pending", Err="no suitable node (host-mode port already in use on 1 node)")
    assert not done(
        [task("old", "s1", "running", desired="shutdown"), pending]
    )  # its predecessor frees the port
    assert not done([task("old", "s1", "shutdown", desired="shutdown"), pending])
    now[0] = sc.PLACEMENT_GRACE + 0.1
    with pytest.raises(FailedPrecondition) as failed:
        done([task("old", "s1", "shutdown", desired="shutdown"), pending])
    assert failed.value.reason == "NO_SUITABLE_NODE"
