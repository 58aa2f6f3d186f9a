"""One conformance suite for every kind of pool: the same API-level tests against a Swarm pool
(the 3-node swarm of tests/testbed/swarm) and a Kubernetes pool (tests/testbed/k8s).

What differs between the kinds lives in one adapter, ``tests.support.conformance.Subject``;
the tests themselves never ask which kind they run on. Where a test shows the two drivers
disagree where they should not, it is marked strictly xfail with the request and the answer.
Behaviour that differs by design (Kubernetes refusing Start/Stop, Swarm's ImportNode, ...)
is covered in test_kubernetes.py and test_swarm_cluster.py; the one driver-specific test here
is Swarm's mutable node role (Kubernetes' refusal is in test_kubernetes.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from tests.support import conformance, testbed
from tests.support.conformance import CALL, CAP, HELLO, KINDS, MARK, Subject
from tests.support.engines import refused
from tests.support.proxy import proxy_to
from tests.support.servers import RunningServer, error_info, swarm_pool
from zanepool.v1 import container_service_pb2 as cs
from zanepool.v1 import event_service_pb2 as es
from zanepool.v1 import image_service_pb2 as ims
from zanepool.v1 import log_service_pb2 as ls
from zanepool.v1 import network_service_pb2 as nws
from zanepool.v1 import node_service_pb2 as ns
from zanepool.v1 import node_service_pb2_grpc
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb
from zanepool.v1 import volume_service_pb2 as vs

# The fixtures `subject` (one of each kind), `registered` and `both`.
pytest_plugins = ("tests.support.conformance_fixtures",)
Code = grpc.StatusCode
STATE = pb.Container.State
NODE = pb.Node
#: What a pool answers for an RPC of a capability it does not advertise.
REFUSALS = (Code.UNIMPLEMENTED, Code.FAILED_PRECONDITION)


class Disagreement(AssertionError):
    """The server answered otherwise than this suite requires of every kind of pool: what the
    strict xfails below expect (``raises=Disagreement``), so that no other failure passes as one."""


def known(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, raises=Disagreement, reason=reason)


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


async def listed_containers(s: Subject, parent: str = "", extra: str = "") -> list[str]:
    query = s.label_filter + (f" AND {extra}" if extra else "")
    response = await s.stubs.containers.ListContainers(
        cs.ListContainersRequest(parent=parent or s.name, filter=query)
    )
    assert not response.unreachable
    return [c.name for c in response.containers]


async def settled(s: Subject, expected: list[str]) -> None:
    """Wait until the test's containers are ``expected`` (a deleted pod is listed until it ends)."""
    for _ in range(60):
        if await listed_containers(s) == expected:
            return
        await asyncio.sleep(0.25)
    assert await listed_containers(s) == expected


async def failure(call: Awaitable[Any]) -> grpc.aio.AioRpcError | None:
    """How ``call`` failed, or None when it succeeded."""
    try:
        await call
    except grpc.aio.AioRpcError as err:
        return err
    return None


def refusal(err: grpc.aio.AioRpcError | None) -> None:
    """A refusal for the pool's kind: UNIMPLEMENTED or FAILED_PRECONDITION, with a reason."""
    if err is None or err.code() not in REFUSALS:
        answer = "success" if err is None else f"{err.code().name}: {err.details()}"
        raise Disagreement(f"wanted UNIMPLEMENTED or FAILED_PRECONDITION, got {answer}")
    assert error_info(err).reason and err.details(), err.details()


async def unsupported(call: Awaitable[Any]) -> None:
    refusal(await failure(call))


async def drained(call: Any) -> list[Any]:
    """Every message of a stream that ends by itself."""
    return [message async for message in call]


async def gone(call: Callable[[], Awaitable[Any]], reason: str) -> None:
    """Wait until ``call`` fails (Kubernetes deletes with a grace period); it must be NOT_FOUND."""
    for _ in range(60):
        try:
            await call()
        except grpc.aio.AioRpcError:
            break
        await asyncio.sleep(0.25)
    await refused(call(), Code.NOT_FOUND, reason)


def check_node(node: pb.Node, s: Subject) -> None:
    assert node.name.startswith(f"{s.name}/nodes/") and node.etag, node
    assert node.hostname and node.address and node.engine_version, node
    assert node.role in (NODE.ROLE_MANAGER, NODE.ROLE_WORKER), node
    assert (node.state, node.availability) == (NODE.STATE_READY, NODE.AVAILABILITY_ACTIVE), node
    assert node.cpus >= 1 and node.memory_bytes > 0 and node.os and node.arch, node
    assert node.create_time.seconds > 0, node


# --- pools ----------------------------------------------------------------------------------------


async def test_register_get_and_refresh(subject: Subject) -> None:
    s = subject
    pool = await s.register(display_name="Conformance", labels={"env": "test", MARK: s.run})
    assert (pool.name, pool.driver, pool.endpoint, pool.display_name) == (
        s.name,
        s.pool.driver,
        s.pool.endpoint,
        "Conformance",
    )
    assert dict(pool.labels) == {"env": "test", MARK: s.run}
    assert pool.uid and pool.etag and pool.cluster_id
    assert pool.credentials_set == s.pool.HasField("credentials") and not pool.HasField("credentials")
    assert pool.state == pb.Pool.STATE_READY, pool.state_message
    info = pool.info
    assert info.server_version and info.api_version and info.os and info.arch and info.kernel_version
    assert info.node_count == info.ready_node_count == s.node_count
    assert info.cpus >= s.node_count and info.memory_bytes > 0
    assert pool.create_time.seconds and pool.update_time.seconds and pool.last_sync_time.seconds
    assert not pool.nodes, "nodes belong to the FULL view"

    for view in (pb.POOL_VIEW_UNSPECIFIED, pb.POOL_VIEW_BASIC):
        assert (await s.server.pools.GetPool(ps.GetPoolRequest(name=s.name, view=view))).pool == pool

    full = (await s.server.pools.GetPool(ps.GetPoolRequest(name=s.name, view=pb.POOL_VIEW_FULL))).pool
    assert full.state == pb.Pool.STATE_READY and full.etag == pool.etag
    assert len(full.nodes) == full.info.node_count == s.node_count
    for node in full.nodes:
        check_node(node, s)

    refreshed = (await s.server.pools.RefreshPool(ps.RefreshPoolRequest(name=s.name), timeout=30)).pool
    assert refreshed.state == pb.Pool.STATE_READY and len(refreshed.nodes) == s.node_count
    assert refreshed.last_sync_time.ToDatetime() >= pool.last_sync_time.ToDatetime()
    assert refreshed.etag == pool.etag, "a sync is not an update"


async def test_validate_only_stores_nothing(subject: Subject) -> None:
    s = subject
    request = ps.RegisterPoolRequest(pool_id=s.pool_id, pool=s.pool, validate_only=True)
    checked = (await s.server.pools.RegisterPool(request, timeout=30)).pool
    assert checked.name == s.name and checked.cluster_id and checked.info.node_count == s.node_count
    assert not (await s.server.pools.ListPools(ps.ListPoolsRequest())).pools
    await refused(s.server.pools.GetPool(ps.GetPoolRequest(name=s.name)), Code.NOT_FOUND, "POOL_NOT_FOUND")
    assert (await s.register()).cluster_id == checked.cluster_id


async def test_same_cluster_twice_is_refused(registered: Subject) -> None:
    s = registered
    for validate_only in (True, False):
        request = ps.RegisterPoolRequest(pool_id="again", pool=s.alias, validate_only=validate_only)
        message = await refused(
            s.server.pools.RegisterPool(request, timeout=30),
            Code.ALREADY_EXISTS,
            "CLUSTER_ALREADY_REGISTERED",
        )
        assert s.name in message
    assert [p.name for p in (await s.server.pools.ListPools(ps.ListPoolsRequest())).pools] == [s.name]


async def test_list_pools_by_driver(both: tuple[Subject, Subject]) -> None:
    swarm, kube = both
    await asyncio.gather(swarm.register(), kube.register())
    pools = swarm.server.pools
    for query, expected in (
        ("", [kube.name, swarm.name]),
        ("driver = SWARM", [swarm.name]),
        ("driver = KUBERNETES", [kube.name]),
        ("driver != SWARM AND state = READY", [kube.name]),
        ("driver = SWARM OR driver = KUBERNETES", [kube.name, swarm.name]),
    ):
        listed = await pools.ListPools(ps.ListPoolsRequest(filter=query))
        assert [p.name for p in listed.pools] == expected, query
    up, down = [
        [p.driver for p in (await pools.ListPools(ps.ListPoolsRequest(order_by=order))).pools]
        for order in ("driver", "driver desc")
    ]
    assert sorted(up) == [pb.DRIVER_SWARM, pb.DRIVER_KUBERNETES] and down == up[::-1]


async def test_capabilities_are_advertised(registered: Subject) -> None:
    s = registered
    pool = (await s.server.pools.GetPool(ps.GetPoolRequest(name=s.name))).pool
    caps = set(pool.capabilities)
    assert len(caps) == len(pool.capabilities) and CAP.CAPABILITY_UNSPECIFIED not in caps
    assert s.must <= caps, f"missing {sorted(CAP.Name(c) for c in s.must - caps)}"
    assert not caps & s.never, f"cannot have {sorted(CAP.Name(c) for c in caps & s.never)}"
    full = (await s.server.pools.GetPool(ps.GetPoolRequest(name=s.name, view=pb.POOL_VIEW_FULL))).pool
    [listed] = (await s.server.pools.ListPools(ps.ListPoolsRequest())).pools
    assert set(full.capabilities) == set(listed.capabilities) == caps


# --- capabilities against behaviour -----------------------------------------------------------------
#
# One probe per capability: when the pool advertises it, the probe shows it works; when it does
# not, every RPC of the capability must answer UNIMPLEMENTED or FAILED_PRECONDITION with a
# reason (never INTERNAL, never a silent success). Probes that would change the shared test beds
# (ImportNode, RemoveNode) stop at the cluster's own refusal for the object's state, which shows
# the verb is there; test_swarm_cluster.py runs them to the end on engines of its own.


async def probe_node_import(s: Subject, advertised: bool) -> None:
    call = s.stubs.nodes.ImportNode(
        ns.ImportNodeRequest(parent=s.name, engine=pb.Engine(endpoint=s.engine)), timeout=30
    )
    if advertised:  # the engine is in this swarm already
        await refused(call, Code.FAILED_PRECONDITION, "ENGINE_ALREADY_IN_SWARM")
    else:
        await unsupported(call)


async def probe_node_remove(s: Subject, advertised: bool) -> None:
    call = s.stubs.nodes.RemoveNode(ns.RemoveNodeRequest(name=s.node), timeout=30)  # a live worker
    if advertised:
        await refused(call, Code.FAILED_PRECONDITION, "NODE_NOT_DOWN")
    else:
        await unsupported(call)


async def probe_start_stop(s: Subject, advertised: bool) -> None:
    made = await s.create(f"zp-ss-{s.run}")
    stop = cs.StopContainerRequest(name=made.name, timeout_seconds=1)
    start = cs.StartContainerRequest(name=made.name)
    containers = s.stubs.containers
    if not advertised:
        await unsupported(containers.StopContainer(stop, timeout=CALL))
        await unsupported(containers.StartContainer(start, timeout=CALL))
        return
    stopped = (await containers.StopContainer(stop, timeout=CALL)).container
    assert stopped.state == STATE.STATE_EXITED
    assert await listed_containers(s, extra="state = EXITED") == [made.name]
    started = (await containers.StartContainer(start, timeout=CALL)).container
    assert started.state == STATE.STATE_RUNNING and started.name == made.name


async def pull(s: Subject) -> pb.Image:
    request = ims.PullImageRequest(parent=s.name, image=s.pull, node=s.node)
    images = (await s.stubs.images.PullImage(request, timeout=CALL)).images
    for image in images:
        s.later(lambda name=image.name: s.stubs.images.DeleteImage(ims.DeleteImageRequest(name=name)))
    assert [i.node for i in images] == [s.node] and s.pull in images[0].repo_tags
    return images[0]


async def probe_image_pull(s: Subject, advertised: bool) -> None:
    if not advertised:
        await unsupported(s.stubs.images.PullImage(ims.PullImageRequest(parent=s.name, image=s.pull)))
        return
    image = await pull(s)
    assert (await s.stubs.images.GetImage(ims.GetImageRequest(name=image.name))).image == image


async def probe_image_delete(s: Subject, advertised: bool) -> None:
    images = s.stubs.images
    if not advertised:  # an image the node holds: asking to delete it must change nothing
        listed = (await images.ListImages(ims.ListImagesRequest(parent=s.name))).images
        busybox = next(i for i in listed if conformance.BUSYBOX in i.repo_tags)
        await unsupported(images.DeleteImage(ims.DeleteImageRequest(name=busybox.name)))
        return
    image = await pull(s)
    await images.DeleteImage(ims.DeleteImageRequest(name=image.name))
    await gone(lambda: images.GetImage(ims.GetImageRequest(name=image.name)), "IMAGE_NOT_FOUND")


async def probe_volumes(s: Subject, advertised: bool) -> None:
    volumes = s.stubs.volumes
    create = vs.CreateVolumeRequest(parent=s.name, volume_id=f"zp-vol-{s.run}", volume=s.volume())
    if not advertised:  # nothing can be made, so there is nothing to delete either
        await unsupported(volumes.CreateVolume(create))
        return
    made = (await volumes.CreateVolume(create, timeout=CALL)).volume
    s.later(lambda: volumes.DeleteVolume(vs.DeleteVolumeRequest(name=made.name, force=True)))
    assert made.name.startswith(f"{s.name}/volumes/") and made.labels[MARK] == s.run
    assert (await volumes.GetVolume(vs.GetVolumeRequest(name=made.name))).volume.name == made.name
    listed = await volumes.ListVolumes(vs.ListVolumesRequest(parent=s.name, filter=s.label_filter))
    assert [v.name for v in listed.volumes] == [made.name]
    await volumes.DeleteVolume(vs.DeleteVolumeRequest(name=made.name))
    await gone(lambda: volumes.GetVolume(vs.GetVolumeRequest(name=made.name)), "VOLUME_NOT_FOUND")


async def probe_networks(s: Subject, advertised: bool) -> None:
    networks = s.stubs.networks
    network_id = f"zp-net-{s.run}"
    name = f"{s.name}/networks/{network_id}"
    create = nws.CreateNetworkRequest(
        parent=s.name, network_id=network_id, network=pb.Network(labels=s.labels, attachable=True)
    )
    if not advertised:
        for call in (
            networks.ListNetworks(nws.ListNetworksRequest(parent=s.name)),
            networks.GetNetwork(nws.GetNetworkRequest(name=name)),
            networks.CreateNetwork(create),
            networks.DeleteNetwork(nws.DeleteNetworkRequest(name=name)),
        ):
            await unsupported(call)
        return
    made = (await networks.CreateNetwork(create, timeout=CALL)).network
    s.later(lambda: networks.DeleteNetwork(nws.DeleteNetworkRequest(name=made.name)))
    assert made.name == name and made.labels[MARK] == s.run
    got = (await networks.GetNetwork(nws.GetNetworkRequest(name=name))).network
    assert (got.name, got.network_id, got.labels) == (made.name, made.network_id, made.labels)
    listed = await networks.ListNetworks(nws.ListNetworksRequest(parent=s.name, filter=s.label_filter))
    assert [n.name for n in listed.networks] == [name]
    await networks.DeleteNetwork(nws.DeleteNetworkRequest(name=name))
    await gone(lambda: networks.GetNetwork(nws.GetNetworkRequest(name=name)), "NETWORK_NOT_FOUND")


async def probe_logs(s: Subject, advertised: bool) -> None:
    made = await s.create(f"zp-logs-{s.run}")
    logs = s.stubs.logs
    one = ls.StreamLogsRequest(parent=made.name)
    if not advertised:
        await unsupported(drained(logs.StreamLogs(one, timeout=30)))
        every = ls.StreamLogsRequest(parent=s.name, filter=s.label_filter)
        await unsupported(drained(logs.StreamLogs(every, timeout=30)))
        return
    lines: list[str] = []
    for _ in range(40):  # until the engine has the container's first line
        messages = await drained(logs.StreamLogs(one, timeout=30))
        lines = [m.entry.line for m in messages if m.HasField("entry")]
        if HELLO in lines:
            break
        await asyncio.sleep(0.25)
    assert HELLO in lines


async def first(call: Any, found: Callable[[Any], bool], seconds: float) -> Any:
    """The first message of a stream that ``found`` accepts; None when it ends or time runs out."""

    async def scan() -> Any:
        async for message in call:
            if found(message):
                return message
        return None

    try:
        return await asyncio.wait_for(scan(), seconds)
    except TimeoutError:
        return None


async def probe_events(s: Subject, advertised: bool) -> None:
    def from_cluster(message: es.WatchEventsResponse) -> bool:
        event = message.event
        return message.HasField("event") and event.source == es.Event.SOURCE_CLUSTER and event.pool == s.name

    call = s.stubs.events.WatchEvents(es.WatchEventsRequest(parent=s.name))
    watch = asyncio.ensure_future(first(call, from_cluster, 30 if advertised else 6))
    try:
        await asyncio.sleep(1)  # the watch is set up, or refused
        if not watch.done():
            await s.create(f"zp-ev-{s.run}")
        err = await failure(watch)
    finally:
        call.cancel()
    if advertised:
        assert err is None and watch.result() is not None, err
    elif err is not None:
        refusal(err)
    else:  # Zane Pool's own events may flow; the cluster's must not
        assert watch.result() is None, watch.result()


PROBES: dict[int, Callable[[Subject, bool], Awaitable[None]]] = {
    CAP.CAPABILITY_NODE_IMPORT: probe_node_import,
    CAP.CAPABILITY_NODE_REMOVE: probe_node_remove,
    CAP.CAPABILITY_CONTAINER_START_STOP: probe_start_stop,
    CAP.CAPABILITY_IMAGE_PULL: probe_image_pull,
    CAP.CAPABILITY_IMAGE_DELETE: probe_image_delete,
    CAP.CAPABILITY_VOLUMES: probe_volumes,
    CAP.CAPABILITY_NETWORKS: probe_networks,
    CAP.CAPABILITY_LOGS: probe_logs,
    CAP.CAPABILITY_EVENTS: probe_events,
}
assert set(PROBES) == set(CAP.values()) - {CAP.CAPABILITY_UNSPECIFIED}, "a probe for every capability"

#: Disagreements found by the probes, kept here until the server is fixed.
KNOWN_CAPABILITIES: dict[tuple[str, int], str] = {}
CAPABILITY_CASES = [
    pytest.param(
        kind,
        capability,
        id=f"{kind}-{CAP.Name(capability).removeprefix('CAPABILITY_')}",
        marks=[known(KNOWN_CAPABILITIES[kind, capability])]
        if (kind, capability) in KNOWN_CAPABILITIES
        else [],
    )
    for kind in KINDS
    for capability in PROBES
]


@pytest.mark.parametrize(("subject", "capability"), CAPABILITY_CASES, indirect=["subject"])
async def test_capability_matches_behaviour(subject: Subject, capability: int) -> None:
    pool = await subject.register()
    await PROBES[capability](subject, capability in pool.capabilities)


# --- nodes ------------------------------------------------------------------------------------------


async def test_list_get_page_and_filter_nodes(registered: Subject) -> None:
    s, nodes = registered, registered.stubs.nodes
    listed = await nodes.ListNodes(ns.ListNodesRequest(parent=s.name))
    assert len(listed.nodes) == s.node_count and not listed.unreachable and not listed.next_page_token
    names = [n.name for n in listed.nodes]
    assert names == sorted(names) and s.node in names
    for node in listed.nodes:
        check_node(node, s)
        got = (await nodes.GetNode(ns.GetNodeRequest(name=node.name))).node
        stable = ("name", "hostname", "address", "role", "engine_version", "cpus", "memory_bytes", "os")
        assert [getattr(got, f) for f in stable] == [getattr(node, f) for f in stable]

    walked, token = [], ""
    while True:
        page = await nodes.ListNodes(ns.ListNodesRequest(parent=s.name, page_size=1, page_token=token))
        assert len(page.nodes) == 1
        walked += [n.name for n in page.nodes]
        token = page.next_page_token
        if not token:
            break
    assert walked == names

    by_host = await nodes.ListNodes(ns.ListNodesRequest(parent=s.name, order_by="hostname desc"))
    hostnames = [n.hostname for n in by_host.nodes]
    assert hostnames == sorted(hostnames, reverse=True)
    target = next(n for n in listed.nodes if n.name == s.node)
    workers = {n.name for n in listed.nodes if n.role == NODE.ROLE_WORKER}
    for query, expected in (
        (f'hostname = "{target.hostname}"', {s.node}),
        ("state = READY AND availability = ACTIVE", set(names)),
        ("role = WORKER", workers),
        ("NOT role = WORKER", set(names) - workers),
        (f"labels.{MARK}:*", set()),
    ):
        found = await nodes.ListNodes(ns.ListNodesRequest(parent=s.name, filter=query))
        assert {n.name for n in found.nodes} == expected, query


async def test_update_node_labels_and_availability(registered: Subject) -> None:
    s, nodes = registered, registered.stubs.nodes
    got = (await nodes.GetNode(ns.GetNodeRequest(name=s.node))).node

    def update(node: pb.Node, *paths: str) -> Awaitable[ns.UpdateNodeResponse]:
        return nodes.UpdateNode(ns.UpdateNodeRequest(node=node, update_mask=mask(*paths)), timeout=30)

    try:
        labelled = (await update(pb.Node(name=s.node, labels=s.labels, etag=got.etag), f"labels.{MARK}")).node
        assert dict(labelled.labels) == dict(got.labels) | s.labels, "only that label changes"
        assert labelled.etag != got.etag

        stale = pb.Node(name=s.node, availability=NODE.AVAILABILITY_PAUSE, etag=got.etag)
        await refused(update(stale, "availability"), Code.ABORTED, "ETAG_MISMATCH")
        assert (await nodes.GetNode(ns.GetNodeRequest(name=s.node))).node.availability == (
            NODE.AVAILABILITY_ACTIVE
        )

        fresh = pb.Node(name=s.node, availability=NODE.AVAILABILITY_PAUSE, etag=labelled.etag)
        paused = (await update(fresh, "availability")).node
        assert paused.availability == NODE.AVAILABILITY_PAUSE and paused.labels[MARK] == s.run
        for query in ("availability = PAUSE", s.label_filter):
            found = await nodes.ListNodes(ns.ListNodesRequest(parent=s.name, filter=query))
            assert [n.name for n in found.nodes] == [s.node], query
    finally:
        back = pb.Node(name=s.node, availability=NODE.AVAILABILITY_ACTIVE)
        restored = (await update(back, "availability", f"labels.{MARK}")).node
    assert restored.availability == NODE.AVAILABILITY_ACTIVE and dict(restored.labels) == dict(got.labels)


# --- containers -------------------------------------------------------------------------------------


async def test_container_lifecycle(registered: Subject) -> None:
    s, containers = registered, registered.stubs.containers
    container_id = f"zp-life-{s.run}"
    spec = s.container(env={"GREETING": "hello"})
    check = cs.CreateContainerRequest(
        parent=s.name, container_id=container_id, container=spec, validate_only=True
    )
    checked = (await containers.CreateContainer(check, timeout=CALL)).container
    assert checked.name.startswith(f"{s.name}/containers/") and checked.state == STATE.STATE_UNSPECIFIED
    assert await listed_containers(s) == [], "validate_only makes nothing"

    made = await s.create(container_id, env={"GREETING": "hello"})
    assert made.name == checked.name and made.state == STATE.STATE_RUNNING, made
    assert made.node.startswith(f"{s.name}/nodes/") and made.container_id
    assert made.image == conformance.BUSYBOX and made.env["GREETING"] == "hello"
    assert made.labels[MARK] == s.run and made.create_time.seconds > 0

    got = (await containers.GetContainer(cs.GetContainerRequest(name=made.name))).container
    fields = ("name", "image", "node", "state", "owner", "container_id", "namespace")
    assert [getattr(got, f) for f in fields] == [getattr(made, f) for f in fields]
    assert list(got.command) == list(made.command) and got.start_time.seconds > 0

    assert await listed_containers(s) == [made.name]
    assert await listed_containers(s, extra=f'state = RUNNING AND node = "{made.node}"') == [made.name]
    assert await listed_containers(s, "pools/-", f'image = "{conformance.BUSYBOX}"') == [made.name]
    assert await listed_containers(s, extra="state = EXITED") == []

    await containers.DeleteContainer(cs.DeleteContainerRequest(name=made.name, force=True), timeout=CALL)
    await refused(
        containers.GetContainer(cs.GetContainerRequest(name=made.name)), Code.NOT_FOUND, "CONTAINER_NOT_FOUND"
    )
    await settled(s, [])


async def test_restart_a_managed_container(registered: Subject) -> None:
    """A container a cluster keeps running (a Swarm service's, a Kubernetes Deployment's) restarts.

    A bare Kubernetes pod cannot (BARE_POD_CANNOT_RESTART, test_kubernetes.py).
    """
    s, containers = registered, registered.stubs.containers
    made = await s.create(f"zp-restart-{s.run}", restartable=True)
    assert made.state == STATE.STATE_RUNNING and made.owner, made
    assert await listed_containers(s, extra=f'owner = "{made.owner}"') == [made.name]

    restart = cs.RestartContainerRequest(name=made.name, timeout_seconds=1)
    restarted = (await containers.RestartContainer(restart, timeout=CALL)).container
    assert restarted.state == STATE.STATE_RUNNING and restarted.owner == made.owner
    assert restarted.container_id != made.container_id, "a new container runs"
    got = (await containers.GetContainer(cs.GetContainerRequest(name=restarted.name))).container
    assert (got.state, got.container_id) == (STATE.STATE_RUNNING, restarted.container_id)
    # Kubernetes: the replaced pod is still listed while it ends.
    assert restarted.name in await listed_containers(s, extra="state = RUNNING")


@pytest.mark.parametrize(
    "subject",
    [
        "swarm",
        "kubernetes",
    ],
    indirect=True,
)
async def test_forced_delete_is_done_when_it_answers(subject: Subject) -> None:
    s = subject
    await s.register()
    made = await s.create(f"zp-gone-{s.run}", restartable=True)
    await s.stubs.containers.DeleteContainer(
        cs.DeleteContainerRequest(name=made.name, force=True), timeout=CALL
    )
    err = await failure(s.stubs.containers.GetContainer(cs.GetContainerRequest(name=made.name)))
    if err is None:
        raise Disagreement(f"{made.name} is still there after a forced delete")
    assert (err.code(), error_info(err).reason) == (Code.NOT_FOUND, "CONTAINER_NOT_FOUND"), err.details()


async def test_labels_round_trip(registered: Subject) -> None:
    s = registered
    labels = s.labels | {"tier": "web", "zanepool.io/team": "core", "version": "1.2.3"}
    made = await s.create(f"zp-labels-{s.run}", labels=labels)
    got = (await s.stubs.containers.GetContainer(cs.GetContainerRequest(name=made.name))).container
    assert dict(got.labels).items() >= labels.items() and dict(made.labels).items() >= labels.items()
    for query, expected in (
        ('labels.tier = web AND labels.zanepool.io/team = "core"', [made.name]),
        ('labels.version = "1.2.3" AND labels.tier:*', [made.name]),
        ("labels.tier = db", []),
        ("NOT labels.tier = web", []),
    ):
        assert await listed_containers(s, extra=query) == expected, query


# --- errors -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A request that must fail the same way on every kind of pool.

    ``call(s)`` makes it and returns the call and, for NOT_FOUND, the name its message must say.
    """

    id: str
    call: Callable[[Subject], tuple[Awaitable[Any], str]]
    code: Code
    reason: str
    field: str = ""


def _node_change(name: str, node: pb.Node, *paths: str) -> ns.UpdateNodeRequest:
    node.name = name
    return ns.UpdateNodeRequest(node=node, update_mask=mask(*paths))


def _create(s: Subject, container_id: str, **fields: Any) -> Awaitable[Any]:
    request = cs.CreateContainerRequest(
        parent=s.name, container_id=container_id, container=s.container(**fields)
    )
    return s.stubs.containers.CreateContainer(request, timeout=CALL)


ROWS = [
    Row(
        "unknown-node",
        lambda s: (
            s.stubs.nodes.GetNode(ns.GetNodeRequest(name=f"{s.name}/nodes/zp-nosuch")),
            f"{s.name}/nodes/zp-nosuch",
        ),
        Code.NOT_FOUND,
        "NODE_NOT_FOUND",
    ),
    Row(
        "update-unknown-node",
        lambda s: (
            s.stubs.nodes.UpdateNode(
                _node_change(f"{s.name}/nodes/zp-nosuch", pb.Node(labels=s.labels), f"labels.{MARK}")
            ),
            f"{s.name}/nodes/zp-nosuch",
        ),
        Code.NOT_FOUND,
        "NODE_NOT_FOUND",
    ),
    Row(
        "unknown-container",
        lambda s: (
            s.stubs.containers.GetContainer(cs.GetContainerRequest(name=s.missing_container())),
            s.missing_container(),
        ),
        Code.NOT_FOUND,
        "CONTAINER_NOT_FOUND",
    ),
    Row(
        "restart-unknown-container",
        lambda s: (
            s.stubs.containers.RestartContainer(cs.RestartContainerRequest(name=s.missing_container())),
            s.missing_container(),
        ),
        Code.NOT_FOUND,
        "CONTAINER_NOT_FOUND",
    ),
    Row(
        "delete-unknown-container",
        lambda s: (
            s.stubs.containers.DeleteContainer(cs.DeleteContainerRequest(name=s.missing_container())),
            s.missing_container(),
        ),
        Code.NOT_FOUND,
        "CONTAINER_NOT_FOUND",
    ),
    Row(
        "create-on-unknown-node",
        lambda s: (_create(s, f"zp-lost-{s.run}", target_node=f"{s.name}/nodes/zp-nosuch"), "zp-nosuch"),
        Code.NOT_FOUND,
        "NODE_NOT_FOUND",
    ),
    Row(
        "node-name-without-id",
        lambda s: (s.stubs.nodes.GetNode(ns.GetNodeRequest(name=f"{s.name}/nodes")), ""),
        Code.INVALID_ARGUMENT,
        "INVALID_NAME",
        "name",
    ),
    Row(
        "container-name-with-a-slash",
        lambda s: (
            s.stubs.containers.GetContainer(cs.GetContainerRequest(name=f"{s.name}/containers/a/b")),
            "",
        ),
        Code.INVALID_ARGUMENT,
        "INVALID_NAME",
        "name",
    ),
    Row(
        "bad-container-id",
        lambda s: (_create(s, "Bad_Name"), ""),
        Code.INVALID_ARGUMENT,
        "INVALID_CONTAINER_ID",
        "container_id",
    ),
    Row(
        "container-without-image",
        lambda s: (_create(s, f"zp-noimage-{s.run}", image=""), ""),
        Code.INVALID_ARGUMENT,
        "MISSING_FIELD",
        "container.image",
    ),
    Row(
        "unknown-filter-field",
        lambda s: (
            s.stubs.containers.ListContainers(cs.ListContainersRequest(parent=s.name, filter="colour = red")),
            "",
        ),
        Code.INVALID_ARGUMENT,
        "UNSUPPORTED_FILTER_FIELD",
        "filter",
    ),
    Row(
        "negative-page-size",
        lambda s: (s.stubs.nodes.ListNodes(ns.ListNodesRequest(parent=s.name, page_size=-1)), ""),
        Code.INVALID_ARGUMENT,
        "INVALID_PAGE_SIZE",
        "page_size",
    ),
    Row(
        "immutable-node-field",
        lambda s: (s.stubs.nodes.UpdateNode(_node_change(s.node, pb.Node(hostname="x"), "hostname")), ""),
        Code.INVALID_ARGUMENT,
        "FIELD_NOT_MUTABLE",
        "update_mask",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
async def test_errors_are_alike(registered: Subject, row: Row) -> None:
    call, named = row.call(registered)
    message = await refused(call, row.code, row.reason, row.field)
    assert named in message, f"{message!r} does not name {named!r}"
    assert await listed_containers(registered) == [], "a refused call makes nothing"


# --- every pool at once -----------------------------------------------------------------------------


async def test_every_pool_across_kinds(both: tuple[Subject, Subject], swarm_unix: str) -> None:
    swarm, kube = both
    await asyncio.gather(swarm.register(), kube.register())
    # One label for both, so that one filter picks both containers.
    made = await asyncio.gather(
        swarm.create(f"zp-a-{swarm.run}"), kube.create(f"zp-b-{swarm.run}", labels=swarm.labels)
    )
    mine = sorted(c.name for c in made)
    nodes = swarm.stubs.nodes

    def pools_of(names: list[str]) -> list[str]:
        return sorted({"/".join(n.split("/")[:2]) for n in names})

    every = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-"), timeout=30)
    assert len(every.nodes) == swarm.node_count + kube.node_count and not every.unreachable
    assert pools_of([n.name for n in every.nodes]) == [kube.name, swarm.name]
    walked, token = [], ""
    while True:  # a page token works across pools of both kinds
        page = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-", page_size=1, page_token=token))
        walked += [n.name for n in page.nodes]
        token = page.next_page_token
        if not token:
            break
    assert walked == [n.name for n in every.nodes]
    assert await listed_containers(swarm, "pools/-") == mine

    # A third pool through a loopback proxy that then stops: the others still answer.
    async with proxy_to(swarm_unix) as proxy:
        await swarm.server.pools.RegisterPool(
            ps.RegisterPoolRequest(pool_id="proxied", pool=swarm_pool(proxy.endpoint)), timeout=30
        )
        three = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-"), timeout=30)
        assert pools_of([n.name for n in three.nodes]) == [kube.name, "pools/proxied", swarm.name]
        await proxy.stop()

        partial = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-"), timeout=30)
        assert list(partial.unreachable) == ["pools/proxied"]
        assert [n.name for n in partial.nodes] == [n.name for n in every.nodes]
        containers = await swarm.stubs.containers.ListContainers(
            cs.ListContainersRequest(parent="pools/-", filter=swarm.label_filter), timeout=30
        )
        assert list(containers.unreachable) == ["pools/proxied"]
        assert [c.name for c in containers.containers] == mine
        await refused(
            nodes.ListNodes(ns.ListNodesRequest(parent="pools/proxied"), timeout=30),
            Code.UNAVAILABLE,
            "CLUSTER_UNREACHABLE",
        )


async def test_same_machine_same_words(both: tuple[Subject, Subject]) -> None:
    """Both test beds run on this one host: what each pool says about it must read alike."""
    pools = await asyncio.gather(*(s.register() for s in both))
    infos = [p.info for p in pools]
    assert len({(i.os, i.kernel_version) for i in infos}) == 1, infos
    every = await both[0].stubs.nodes.ListNodes(ns.ListNodesRequest(parent="pools/-"))
    assert {n.os for n in every.nodes} == {"linux"}
    arches = {(p.name, p.info.arch) for p in pools} | {(n.name, n.arch) for n in every.nodes}
    if len({arch for _, arch in arches}) != 1:
        raise Disagreement(f"one machine, several architectures: {sorted(arches)}")


# --- by design, Swarm only ----------------------------------------------------------------------------


@pytest.fixture
def bare(cluster: testbed.Cluster) -> Iterator[testbed.Cluster]:
    """The swarm test bed's bare engines, left bare again after the test."""
    yield cluster
    testbed.script("swarm/reset-bare.sh")


async def test_swarm_node_role_is_mutable(server: RunningServer, bare: testbed.Cluster) -> None:
    """Swarm promotes and demotes nodes (Kubernetes refuses: ROLE_NOT_MUTABLE, test_kubernetes.py).

    On a swarm of its own (the bare engines), so that the shared 3-node swarm never changes roles.
    """
    engines = [
        pb.Engine(endpoint=e, advertise_address=a) for e, a in zip(bare.bare, bare.bare_addrs, strict=True)
    ]
    request = ps.CreatePoolRequest(pool_id="roles", pool=swarm_pool(""), engines=engines)
    await server.pools.CreatePool(request, timeout=90)
    nodes = node_service_pb2_grpc.NodeServiceStub(server.channel)
    [worker] = (
        await nodes.ListNodes(ns.ListNodesRequest(parent="pools/roles", filter="role = WORKER"))
    ).nodes

    def change(role: pb.Node.Role.ValueType) -> Awaitable[ns.UpdateNodeResponse]:
        node = pb.Node(name=worker.name, role=role)
        return nodes.UpdateNode(ns.UpdateNodeRequest(node=node, update_mask=mask("role")), timeout=30)

    assert (await change(NODE.ROLE_MANAGER)).node.role == NODE.ROLE_MANAGER
    managers = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/roles", filter="role = MANAGER"))
    assert len(managers.nodes) == 2 and worker.name in [n.name for n in managers.nodes]
    err = await failure(change(NODE.ROLE_WORKER))
    if err is not None and err.code() == Code.NOT_FOUND:
        raise Disagreement(f"{worker.name}: {err.details()}")
    # Until the new manager has joined raft, a refusal that says to come back later is right.
    assert err is None or err.code() in (Code.UNAVAILABLE, Code.FAILED_PRECONDITION), err.details()
    if err is not None:
        assert error_info(err).reason == "RAFT_MEMBERSHIP_PENDING", err.details()
