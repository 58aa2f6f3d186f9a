"""ContainerService end to end: the 3-node swarm (tests/testbed/swarm) and the single-node one.

Every object a test makes carries the label ``zanepool.test=<run>`` and is removed by the
``made`` fixture whatever the outcome; lists filter on that label, so tests that share the
engines never see each other's containers.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiodocker
import grpc
import pytest
from aiodocker.exceptions import DockerError

from tests.support.engines import refused
from tests.support.servers import RunningServer, error_info, swarm_pool
from tests.support.testbed import Cluster
from zanepool.v1 import container_service_pb2 as cs
from zanepool.v1 import container_service_pb2_grpc, node_service_pb2_grpc
from zanepool.v1 import node_service_pb2 as ns
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb

BUSYBOX = "local/busybox:1"
# Exits at once on SIGTERM: a shell as PID 1 ignores it unless trapped, and runs a trap only
# once its foreground command ends (``wait`` ends at once).
LOOP = "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"
ENGINE_ID = re.compile(r"^[0-9a-f]{64}$")
STATE = pb.Container.State
CALL = 60  # seconds for calls that wait on the cluster


@contextlib.asynccontextmanager
async def engine(endpoint: str) -> AsyncIterator[aiodocker.Docker]:
    """One engine's own API, for what a test makes or checks behind the server's back."""
    docker = aiodocker.Docker(url=endpoint)
    try:
        yield docker
    finally:
        await docker.close()


@dataclass
class Made:
    """What a test made on the engines, removed at teardown (a missing object is fine)."""

    services: list[tuple[str, str]] = field(default_factory=list)  # (manager endpoint, name or id)
    containers: list[tuple[str, str]] = field(default_factory=list)  # (engine endpoint, id)
    networks: list[tuple[str, str]] = field(default_factory=list)  # (manager endpoint, id)

    async def clean(self) -> None:
        for endpoint, service in self.services:
            async with engine(endpoint) as docker:
                with contextlib.suppress(DockerError):
                    await docker.services.delete(service)
        for endpoint, container in self.containers:
            async with engine(endpoint) as docker:
                with contextlib.suppress(DockerError):
                    await docker.containers.container(container).delete(force=True)
        for endpoint, network in self.networks:
            async with engine(endpoint) as docker:
                for _ in range(40):  # a removed service's tasks leave the network a moment later
                    try:
                        await (await docker.networks.get(network)).delete()
                    except DockerError as exc:
                        if exc.status == 404:
                            break
                    await asyncio.sleep(0.25)


@pytest.fixture
async def made() -> AsyncIterator[Made]:
    leftovers = Made()
    try:
        yield leftovers
    finally:
        await leftovers.clean()


@pytest.fixture
def run() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def containers(server: RunningServer) -> container_service_pb2_grpc.ContainerServiceStub:
    return container_service_pb2_grpc.ContainerServiceStub(server.channel)


@pytest.fixture
async def single_pool(server: RunningServer, swarm_unix: str) -> str:
    await server.pools.RegisterPool(ps.RegisterPoolRequest(pool_id="one", pool=swarm_pool(swarm_unix)))
    return "pools/one"


@dataclass(frozen=True)
class Worker:
    name: str  # pools/multi/nodes/{id}
    hostname: str
    endpoint: str  # its own engine


@pytest.fixture
async def worker(server: RunningServer, cluster: Cluster, cluster_pool: str) -> Worker:
    nodes = node_service_pb2_grpc.NodeServiceStub(server.channel)
    listed = await nodes.ListNodes(ns.ListNodesRequest(parent=cluster_pool, filter="role = WORKER"))
    node = sorted(listed.nodes, key=lambda n: n.hostname)[0]
    return Worker(node.name, node.hostname, cluster.node_endpoints()[node.hostname])


def busybox(run: str, **fields: object) -> pb.Container:
    return pb.Container(
        image=BUSYBOX, command=["sh", "-c"], args=[LOOP], labels={"zanepool.test": run}, **fields
    )


async def create(
    stub: container_service_pb2_grpc.ContainerServiceStub,
    made: Made,
    manager: str,
    parent: str,
    container_id: str,
    container: pb.Container,
) -> pb.Container:
    made.services.append((manager, container_id))
    request = cs.CreateContainerRequest(parent=parent, container_id=container_id, container=container)
    return (await stub.CreateContainer(request, timeout=CALL)).container


async def listed(
    stub: container_service_pb2_grpc.ContainerServiceStub, parent: str, run: str, extra: str = ""
) -> list[str]:
    query = f'labels.zanepool.test = "{run}"' + (f" AND {extra}" if extra else "")
    response = await stub.ListContainers(cs.ListContainersRequest(parent=parent, filter=query))
    return [c.name for c in response.containers]


async def test_managed_container_lifecycle_on_a_worker(
    containers: container_service_pb2_grpc.ContainerServiceStub,
    cluster: Cluster,
    cluster_pool: str,
    worker: Worker,
    made: Made,
    run: str,
) -> None:
    cid = f"zp-{run}"
    spec = busybox(
        run,
        env={"GREETING": "hello"},
        target_node=worker.name,
        restart_policy="on-failure",
        resources=pb.Resources(cpu_limit=0.5, memory_limit_bytes=64 << 20),
    )
    created = await create(containers, made, cluster.manager, cluster_pool, cid, spec)
    name = f"{cluster_pool}/containers/{cid}"
    assert created.name == name and created.state == STATE.STATE_RUNNING and created.node == worker.name
    assert ENGINE_ID.match(created.container_id) and created.owner == cid

    # The worker's own engine runs it.
    async with engine(worker.endpoint) as docker:
        inspected = await docker.containers.get(created.container_id)
        assert inspected["State"]["Running"] and inspected["Config"]["Labels"]["zanepool.test"] == run

    got = (await containers.GetContainer(cs.GetContainerRequest(name=name))).container
    assert (got.image, list(got.command), list(got.args)) == (BUSYBOX, ["sh", "-c"], [LOOP])
    assert got.env["GREETING"] == "hello" and got.labels["zanepool.test"] == run
    assert got.restart_policy == "on-failure" and got.resources.cpu_limit == 0.5
    assert got.resources.memory_limit_bytes == 64 << 20 and got.create_time.seconds > 0

    here = f'node = "{worker.name}" AND state = RUNNING AND owner = "{cid}"'
    assert await listed(containers, cluster_pool, run, here) == [name]
    assert await listed(containers, cluster_pool, run, "state = EXITED") == []

    stopped = (
        await containers.StopContainer(cs.StopContainerRequest(name=name, timeout_seconds=1))
    ).container
    assert stopped.name == name and stopped.state == STATE.STATE_EXITED
    assert await listed(containers, cluster_pool, run, "state = EXITED") == [name]

    started = (await containers.StartContainer(cs.StartContainerRequest(name=name), timeout=CALL)).container
    assert started.name == name and started.state == STATE.STATE_RUNNING
    assert started.container_id not in ("", created.container_id)

    restarted = (
        await containers.RestartContainer(
            cs.RestartContainerRequest(name=name, timeout_seconds=1), timeout=CALL
        )
    ).container
    assert restarted.state == STATE.STATE_RUNNING and restarted.restart_count >= 1
    assert restarted.container_id not in ("", started.container_id)

    await containers.DeleteContainer(cs.DeleteContainerRequest(name=name))
    await refused(
        containers.GetContainer(cs.GetContainerRequest(name=name)),
        grpc.StatusCode.NOT_FOUND,
        "CONTAINER_NOT_FOUND",
    )


async def test_networks_ports_and_mounts(
    containers: container_service_pb2_grpc.ContainerServiceStub,
    cluster: Cluster,
    cluster_pool: str,
    worker: Worker,
    made: Made,
    run: str,
) -> None:
    network, port = f"zp-net-{run}", 20000 + int(run[:4], 16) % 10000
    async with engine(cluster.manager) as docker:
        made.networks.append((cluster.manager, network))
        await docker.networks.create({"Name": network, "Driver": "overlay"})
    spec = busybox(
        run,
        target_node=worker.hostname,  # a hostname will do
        networks=[network],
        ports=[pb.PortMapping(container_port=8080, host_port=port)],
        mounts=[
            pb.Mount(type="tmpfs", target="/scratch"),
            pb.Mount(type="bind", source="/tmp", target="/host", read_only=True),
        ],
    )
    created = await create(containers, made, cluster.manager, cluster_pool, f"zp-wired-{run}", spec)
    assert created.node == worker.name and list(created.networks) == [network]
    assert list(created.ports) == [pb.PortMapping(container_port=8080, host_port=port, protocol="tcp")]
    assert [(m.type, m.source, m.target, m.read_only) for m in created.mounts] == [
        ("tmpfs", "", "/scratch", False),
        ("bind", "/tmp", "/host", True),
    ]
    async with engine(worker.endpoint) as docker:  # published in host mode, on the worker itself
        inspected = await docker.containers.get(created.container_id)
        assert network in inspected["NetworkSettings"]["Networks"]
        assert inspected["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"] == str(port)
    await containers.DeleteContainer(cs.DeleteContainerRequest(name=created.name))


async def test_standalone_container_of_a_worker_engine(
    containers: container_service_pb2_grpc.ContainerServiceStub,
    cluster_pool: str,
    worker: Worker,
    made: Made,
    run: str,
) -> None:
    async with engine(worker.endpoint) as docker:
        config = {"Image": BUSYBOX, "Cmd": ["sh", "-c", LOOP], "Labels": {"zanepool.test": run}}
        made_here = await docker.containers.create(config, name=f"zp-standalone-{run}")
        made.containers.append((worker.endpoint, made_here.id))
        await made_here.start()
    name = f"{cluster_pool}/containers/{made_here.id}"

    response = await containers.ListContainers(
        cs.ListContainersRequest(parent=cluster_pool, filter=f'labels.zanepool.test = "{run}"')
    )
    [seen] = response.containers
    assert seen.name == name and seen.container_id == made_here.id and ENGINE_ID.match(seen.container_id)
    assert seen.node == worker.name and seen.state == STATE.STATE_RUNNING and not seen.owner

    stop = cs.StopContainerRequest(name=name, timeout_seconds=1)
    assert (await containers.StopContainer(stop, timeout=CALL)).container.state == STATE.STATE_EXITED
    start = cs.StartContainerRequest(name=name)
    assert (await containers.StartContainer(start, timeout=CALL)).container.state == STATE.STATE_RUNNING
    restart = cs.RestartContainerRequest(name=name, timeout_seconds=1)
    again = (await containers.RestartContainer(restart, timeout=CALL)).container
    assert again.state == STATE.STATE_RUNNING and again.name == name

    await refused(
        containers.DeleteContainer(cs.DeleteContainerRequest(name=name)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "CONTAINER_RUNNING",
    )
    await containers.DeleteContainer(cs.DeleteContainerRequest(name=name, force=True))
    async with engine(worker.endpoint) as docker:
        with pytest.raises(DockerError) as gone:
            await docker.containers.get(made_here.id)
        assert gone.value.status == 404


async def test_a_task_of_another_service_is_read_only(
    containers: container_service_pb2_grpc.ContainerServiceStub,
    cluster: Cluster,
    cluster_pool: str,
    made: Made,
    run: str,
) -> None:
    service = f"zp-foreign-{run}"
    made.services.append((cluster.manager, service))
    async with engine(cluster.manager) as docker:
        await docker.services.create(
            {
                "ContainerSpec": {
                    "Image": BUSYBOX,
                    "Command": ["sh", "-c", LOOP],
                    "Labels": {"zanepool.test": run},
                    "StopGracePeriod": 1_000_000_000,
                }
            },
            name=service,
        )
    names: list[str] = []
    for _ in range(80):  # until Swarm runs its task
        names = await listed(containers, cluster_pool, run, f'owner = "{service}" AND state = RUNNING')
        if names:
            break
        await asyncio.sleep(0.25)
    [name] = names
    assert ENGINE_ID.match(name.rsplit("/", 1)[1])

    with pytest.raises(grpc.aio.AioRpcError) as stop:
        await containers.StopContainer(cs.StopContainerRequest(name=name))
    assert stop.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(stop.value)
    assert (info.reason, info.metadata["service"]) == ("CONTAINER_MANAGED_BY_SERVICE", service)
    for call in (
        containers.StartContainer(cs.StartContainerRequest(name=name)),
        containers.DeleteContainer(cs.DeleteContainerRequest(name=name, force=True)),
    ):
        await refused(call, grpc.StatusCode.FAILED_PRECONDITION, "CONTAINER_MANAGED_BY_SERVICE")
    got = (await containers.GetContainer(cs.GetContainerRequest(name=name))).container
    assert got.owner == service and got.state == STATE.STATE_RUNNING
    assert list(got.command) == ["sh", "-c", LOOP]  # Swarm's Command is the container's entrypoint


async def test_list_across_pools(
    containers: container_service_pb2_grpc.ContainerServiceStub,
    cluster: Cluster,
    cluster_pool: str,
    single_pool: str,
    swarm_unix: str,
    made: Made,
    run: str,
) -> None:
    made_one, made_multi = await asyncio.gather(
        create(containers, made, swarm_unix, single_pool, f"zp-a-{run}", busybox(run)),
        create(containers, made, cluster.manager, cluster_pool, f"zp-b-{run}", busybox(run)),
    )
    everywhere = await listed(containers, "pools/-", run)
    assert everywhere == sorted([made_one.name, made_multi.name])

    first = await containers.ListContainers(
        cs.ListContainersRequest(
            parent="pools/-",
            filter=f'labels.zanepool.test = "{run}"',
            order_by="create_time desc",
            page_size=1,
        )
    )
    assert len(first.containers) == 1 and first.next_page_token
    second = await containers.ListContainers(
        cs.ListContainersRequest(
            parent="pools/-",
            filter=f'labels.zanepool.test = "{run}"',
            order_by="create_time desc",
            page_size=1,
            page_token=first.next_page_token,
        )
    )
    assert len(second.containers) == 1 and not second.next_page_token
    pages = [first.containers[0], second.containers[0]]
    assert pages[0].create_time.ToDatetime() >= pages[1].create_time.ToDatetime()
    assert {c.name for c in pages} == {made_one.name, made_multi.name}


async def test_failed_creates_leave_nothing(
    containers: container_service_pb2_grpc.ContainerServiceStub,
    single_pool: str,
    swarm_unix: str,
    made: Made,
    run: str,
) -> None:
    cases = (
        (f"zp-noimage-{run}", pb.Container(image="local/zanepool-nosuch:1"), "IMAGE_NOT_FOUND"),
        (f"zp-nonode-{run}", busybox(run, constraints=["node.labels.zp-nowhere==1"]), "NO_SUITABLE_NODE"),
    )
    for cid, spec, reason in cases:
        made.services.append((swarm_unix, cid))
        request = cs.CreateContainerRequest(parent=single_pool, container_id=cid, container=spec)
        message = await refused(
            containers.CreateContainer(request, timeout=CALL), grpc.StatusCode.FAILED_PRECONDITION, reason
        )
        assert cid in message
    async with engine(swarm_unix) as docker:
        left = {s["Spec"]["Name"] for s in await docker.services.list()}
    assert not left & {cid for cid, _, _ in cases}


async def test_validate_only_and_duplicate_names(
    containers: container_service_pb2_grpc.ContainerServiceStub,
    single_pool: str,
    swarm_unix: str,
    made: Made,
    run: str,
) -> None:
    cid = f"zp-dup-{run}"
    check = cs.CreateContainerRequest(
        parent=single_pool, container_id=cid, container=busybox(run), validate_only=True
    )
    checked = (await containers.CreateContainer(check)).container
    assert checked.name == f"{single_pool}/containers/{cid}" and checked.state == STATE.STATE_UNSPECIFIED
    assert await listed(containers, single_pool, run) == []

    await create(containers, made, swarm_unix, single_pool, cid, busybox(run))
    again = cs.CreateContainerRequest(parent=single_pool, container_id=cid, container=busybox(run))
    await refused(containers.CreateContainer(again), grpc.StatusCode.ALREADY_EXISTS, "NAME_IN_USE")
    check_again = cs.CreateContainerRequest(
        parent=single_pool, container_id=cid, container=busybox(run), validate_only=True
    )
    await refused(containers.CreateContainer(check_again), grpc.StatusCode.ALREADY_EXISTS, "NAME_IN_USE")


def _create(container_id: str = "", **fields: object) -> cs.CreateContainerRequest:
    container = pb.Container(**fields) if fields else None
    return cs.CreateContainerRequest(parent="pools/one", container_id=container_id, container=container)


BAD_REQUESTS = [
    (_create(), grpc.StatusCode.INVALID_ARGUMENT, "MISSING_FIELD"),
    (_create(tty=True), grpc.StatusCode.INVALID_ARGUMENT, "MISSING_FIELD"),
    (_create("Bad_Name", image=BUSYBOX), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_CONTAINER_ID"),
    (_create(image="Not An Image"), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_IMAGE_REFERENCE"),
    (_create(image=BUSYBOX, target_node="nosuchnode"), grpc.StatusCode.NOT_FOUND, "NODE_NOT_FOUND"),
    (
        _create(image=BUSYBOX, target_node="pools/other/nodes/x"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "NODE_NOT_IN_POOL",
    ),
    (_create(image=BUSYBOX, networks=["zp-nosuchnet"]), grpc.StatusCode.NOT_FOUND, "NETWORK_NOT_FOUND"),
    (_create(image=BUSYBOX, namespace="default"), grpc.StatusCode.INVALID_ARGUMENT, "UNSUPPORTED_FIELD"),
    (
        _create(image=BUSYBOX, ports=[pb.PortMapping(container_port=80, host_ip="127.0.0.1")]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "UNSUPPORTED_FIELD",
    ),
    (
        _create(image=BUSYBOX, ports=[pb.PortMapping(container_port=0)]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PORT",
    ),
    (
        _create(image=BUSYBOX, mounts=[pb.Mount(type="bind", source="rel", target="/x")]),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_MOUNT",
    ),
    (
        _create(image=BUSYBOX, restart_policy="sometimes"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_RESTART_POLICY",
    ),
    (
        cs.GetContainerRequest(name="pools/one/containers/zp-nosuch"),
        grpc.StatusCode.NOT_FOUND,
        "CONTAINER_NOT_FOUND",
    ),
    (
        cs.GetContainerRequest(name="pools/one/containers/" + "0" * 64),
        grpc.StatusCode.NOT_FOUND,
        "CONTAINER_NOT_FOUND",
    ),
    (
        cs.GetContainerRequest(name="pools/one/containers/a/b"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_NAME",
    ),
    (cs.GetContainerRequest(name="pools/zzz/containers/x"), grpc.StatusCode.NOT_FOUND, "POOL_NOT_FOUND"),
    (
        cs.StopContainerRequest(name="pools/one/containers/x", timeout_seconds=-1),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_TIMEOUT",
    ),
    (
        cs.DeleteContainerRequest(name="pools/one/containers/zp-nosuch"),
        grpc.StatusCode.NOT_FOUND,
        "CONTAINER_NOT_FOUND",
    ),
    (
        cs.ListContainersRequest(parent="pools/one", filter="colour = red"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "UNSUPPORTED_FILTER_FIELD",
    ),
    (
        cs.ListContainersRequest(parent="pools/one", order_by="image"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "UNSUPPORTED_ORDER_BY",
    ),
]


@pytest.mark.parametrize(("request_", "code", "reason"), BAD_REQUESTS)
async def test_bad_container_requests(
    containers: container_service_pb2_grpc.ContainerServiceStub,
    single_pool: str,
    request_: object,
    code: grpc.StatusCode,
    reason: str,
) -> None:
    method = {
        cs.CreateContainerRequest: containers.CreateContainer,
        cs.GetContainerRequest: containers.GetContainer,
        cs.StopContainerRequest: containers.StopContainer,
        cs.DeleteContainerRequest: containers.DeleteContainer,
        cs.ListContainersRequest: containers.ListContainers,
    }[type(request_)]
    await refused(method(request_, timeout=10), code, reason)  # type: ignore[operator]
