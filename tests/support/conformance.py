"""What differs between a Swarm pool and a Kubernetes pool, for tests/e2e/test_conformance.py
(its fixtures are in tests/support/conformance_fixtures.py).

The conformance tests run the same API-level checks against both kinds of pool. Everything
they need to know about a kind is in one :class:`Subject`: how to register the test bed's
cluster (and how to reach the same cluster by another route), what a container or volume
that runs there looks like, which capabilities the kind has or lacks by design, which node
a test may change. Every object a test makes carries the label ``MARK=<run>``; what it
leaves behind is removed when the test ends (Swarm services by that label, Kubernetes
objects with the test's namespace).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiodocker
import grpc

from tests.support import kubernetes, testbed
from tests.support.servers import RunningServer, swarm_pool
from zanepool.v1 import container_service_pb2 as cs
from zanepool.v1 import (
    container_service_pb2_grpc,
    event_service_pb2_grpc,
    image_service_pb2_grpc,
    log_service_pb2_grpc,
    network_service_pb2_grpc,
    node_service_pb2_grpc,
    volume_service_pb2_grpc,
)
from zanepool.v1 import node_service_pb2 as ns
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb

KINDS = ("swarm", "kubernetes")
BUSYBOX = "local/busybox:1"
#: Says hello once, then idles; exits at once on SIGTERM (a shell as PID 1 ignores it untrapped).
HELLO = "conformance-hello"
LOOP = f"echo {HELLO}; trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"
#: The label on everything a test makes (a key both kinds accept: DNS prefix and name).
MARK = "zanepool.io/conformance"
CALL = 60  # seconds for calls that wait on the cluster
CAP = pb.Capability


class Stubs:
    """One stub per service, on the test server's channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.nodes = node_service_pb2_grpc.NodeServiceStub(channel)
        self.containers = container_service_pb2_grpc.ContainerServiceStub(channel)
        self.images = image_service_pb2_grpc.ImageServiceStub(channel)
        self.volumes = volume_service_pb2_grpc.VolumeServiceStub(channel)
        self.networks = network_service_pb2_grpc.NetworkServiceStub(channel)
        self.logs = log_service_pb2_grpc.LogServiceStub(channel)
        self.events = event_service_pb2_grpc.EventServiceStub(channel)


@dataclass
class Subject:
    """One kind of pool over its test bed, and the clean-up of what a test made in it."""

    kind: str
    pool_id: str
    #: The RegisterPool message for the test bed's cluster.
    pool: pb.Pool
    #: The same cluster by another route (another endpoint or other credentials).
    alias: pb.Pool
    #: Capabilities the kind has by design, and ones it cannot have.
    must: frozenset[int]
    never: frozenset[int]
    node_count: int
    #: A Docker engine for ImportNode (Swarm: one already in this swarm, so nothing changes).
    engine: str
    #: An image reference PullImage can fetch onto the pool's nodes.
    pull: str
    #: Fields every container spec needs on this kind, and what makes a container restartable.
    container_fields: dict[str, Any]
    restartable_fields: dict[str, Any]
    volume_fields: dict[str, Any]
    #: A well-formed container id that names no container.
    missing_container_id: str
    server: RunningServer
    stack: contextlib.AsyncExitStack
    run: str
    stubs: Stubs = field(init=False)
    #: The node a test may change (a worker), set by :meth:`register`.
    node: str = ""

    def __post_init__(self) -> None:
        self.stubs = Stubs(self.server.channel)

    @property
    def name(self) -> str:
        return f"pools/{self.pool_id}"

    @property
    def labels(self) -> dict[str, str]:
        return {MARK: self.run}

    @property
    def label_filter(self) -> str:
        return f'labels.{MARK} = "{self.run}"'

    def later(self, call: Callable[[], Awaitable[Any]]) -> None:
        """Run ``call`` when the test ends; an RPC error then (already gone) is no failure."""

        async def quietly() -> None:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await call()

        self.stack.push_async_callback(quietly)

    async def register(self, pool_id: str = "", **fields: Any) -> pb.Pool:
        """Register the test bed's cluster (as this subject's pool unless told otherwise)."""
        message = pb.Pool()
        message.CopyFrom(self.pool)
        for key, value in fields.items():
            if isinstance(value, dict):
                getattr(message, key).update(value)
            else:
                setattr(message, key, value)
        request = ps.RegisterPoolRequest(pool_id=pool_id or self.pool_id, pool=message)
        registered = (await self.server.pools.RegisterPool(request, timeout=30)).pool
        if not pool_id and not self.node:
            workers = await self.stubs.nodes.ListNodes(
                ns.ListNodesRequest(parent=self.name, filter="role = WORKER", order_by="hostname")
            )
            self.node = workers.nodes[0].name
        return registered

    def container(self, *, restartable: bool = False, **fields: Any) -> pb.Container:
        """A container that runs on this kind of pool: busybox saying hello, then idling."""
        wanted: dict[str, Any] = {"image": BUSYBOX, "command": ["sh", "-c", LOOP], "labels": self.labels}
        wanted |= self.container_fields | (self.restartable_fields if restartable else {}) | fields
        return pb.Container(**wanted)

    async def create(self, container_id: str, *, restartable: bool = False, **fields: Any) -> pb.Container:
        request = cs.CreateContainerRequest(
            parent=self.name,
            container_id=container_id,
            container=self.container(restartable=restartable, **fields),
        )
        return (await self.stubs.containers.CreateContainer(request, timeout=CALL)).container

    def volume(self) -> pb.Volume:
        return pb.Volume(labels=self.labels, **self.volume_fields)

    def missing_container(self) -> str:
        return f"{self.name}/containers/{self.missing_container_id}"


SWARM_MUST = frozenset(
    {
        CAP.CAPABILITY_NODE_IMPORT,
        CAP.CAPABILITY_NODE_REMOVE,
        CAP.CAPABILITY_CONTAINER_START_STOP,
        CAP.CAPABILITY_IMAGE_PULL,
        CAP.CAPABILITY_IMAGE_DELETE,
        CAP.CAPABILITY_VOLUMES,
        CAP.CAPABILITY_NETWORKS,
    }
)
#: Kubernetes has no stopped container, no engine to import (kubelets bootstrap), no image
#: pull or delete call (the kubelet's own), and no network object.
KUBERNETES_NEVER = frozenset(
    {
        CAP.CAPABILITY_NODE_IMPORT,
        CAP.CAPABILITY_CONTAINER_START_STOP,
        CAP.CAPABILITY_IMAGE_PULL,
        CAP.CAPABILITY_IMAGE_DELETE,
        CAP.CAPABILITY_NETWORKS,
    }
)


def make(
    kind: str, fixture: Callable[[str], Any], server: RunningServer, stack: contextlib.AsyncExitStack
) -> Subject:
    """The subject of ``kind``; ``fixture(name)`` gives the test bed's fixtures (request.getfixturevalue)."""
    run = uuid.uuid4().hex[:8]
    if kind == "swarm":
        cluster: testbed.Cluster = fixture("cluster")
        stack.push_async_callback(drop_services, cluster.manager, run)
        return Subject(
            kind=kind,
            pool_id="swarm",
            pool=swarm_pool(cluster.manager, node_endpoints=cluster.node_endpoints()),
            alias=swarm_pool(f"tcp://{cluster.node_addrs[0]}:2375"),  # the manager over plain TCP
            must=SWARM_MUST,
            never=frozenset(),
            node_count=len(cluster.nodes),
            engine=cluster.nodes[1],
            pull=cluster.registry_image,
            container_fields={},
            restartable_fields={},
            volume_fields={},
            missing_container_id=f"zp-nosuch-{run}",
            server=server,
            stack=stack,
            run=run,
        )
    if kind == "kubernetes":
        k8s: kubernetes.KubeBed = fixture("k8s")
        tb: testbed.Testbed = fixture("tb")
        namespace: str = fixture("k8s_namespace")  # deleted after the test, with all it holds
        return Subject(
            kind=kind,
            pool_id="kube",
            pool=k8s.pool(),
            alias=k8s.pool(cert_pem=k8s.cert_pem, key_pem=k8s.key_pem),
            must=frozenset({CAP.CAPABILITY_NODE_REMOVE, CAP.CAPABILITY_VOLUMES}),
            never=KUBERNETES_NEVER,
            node_count=1,
            engine=tb.require("ZANEPOOL_TB_K8S_DOCKER"),  # the kubelet's own engine
            pull=BUSYBOX,
            container_fields={"image_pull_policy": "Never", "namespace": namespace},
            restartable_fields={"replicas": 1},  # a Deployment's pod; a bare pod cannot restart
            volume_fields={"namespace": namespace, "capacity_bytes": 2**30},
            missing_container_id=f"{namespace}_zp-nosuch_zp-nosuch",
            server=server,
            stack=stack,
            run=run,
        )
    raise ValueError(f"no such kind of pool: {kind}")


async def drop_services(manager: str, run: str) -> None:
    """Remove the swarm services a test made (their containers carry ``MARK=run``)."""
    docker = aiodocker.Docker(url=manager)
    try:
        for service in await docker.services.list():
            labels = service["Spec"]["TaskTemplate"].get("ContainerSpec", {}).get("Labels") or {}
            if labels.get(MARK) == run:
                with contextlib.suppress(aiodocker.DockerError):
                    await docker.services.delete(service["ID"])
    finally:
        await docker.close()
