"""Kubernetes pools end to end: a real gRPC channel, a real server, a real store and the
Kubernetes test bed (a v1.20 API server with one real kubelet node; tests/testbed/k8s).

Every test cleans up what it makes: pods, Deployments and claims live in a namespace of
the test's own (``k8s_namespace``), deleted after it; the node's labels and cordon are
restored. The node itself is never drained or removed: the test bed is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import field_mask_pb2

from tests.support.kubernetes import KubeBed
from tests.support.servers import RunningServer, error_info
from zanepool.v1 import container_service_pb2 as cs
from zanepool.v1 import container_service_pb2_grpc as cs_grpc
from zanepool.v1 import image_service_pb2 as ims
from zanepool.v1 import image_service_pb2_grpc as ims_grpc
from zanepool.v1 import network_service_pb2 as nws
from zanepool.v1 import network_service_pb2_grpc as nws_grpc
from zanepool.v1 import node_service_pb2 as ns
from zanepool.v1 import node_service_pb2_grpc as ns_grpc
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb
from zanepool.v1 import volume_service_pb2 as vs
from zanepool.v1 import volume_service_pb2_grpc as vs_grpc
from zanepool_server.drivers.kubernetes import KubernetesDriver, pods
from zanepool_server.drivers.kubernetes.nodes import KubeNodes
from zanepool_server.errors import NotFound
from zanepool_server.model import ContainerSpec

BUSYBOX = "local/busybox:1"


async def register(server: RunningServer, pool_id: str, pool: pb.Pool) -> pb.Pool:
    return (
        await server.pools.RegisterPool(ps.RegisterPoolRequest(pool_id=pool_id, pool=pool), timeout=30)
    ).pool


async def refused(
    call: object, request: object, code: grpc.StatusCode, reason: str, seconds: float = 30
) -> str:
    """Make the call, expect it to fail with ``code`` and ``reason``; return its message."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(request, timeout=seconds)  # type: ignore[operator]
    assert err.value.code() == code, err.value.details()
    assert error_info(err.value).reason == reason, err.value.details()
    return err.value.details() or ""


# --- registration ----------------------------------------------------------------------------


async def test_register_with_token_then_full_view(
    server: RunningServer, k8s: KubeBed, k8s_admin: KubernetesDriver
) -> None:
    pool = await register(server, "kube", k8s.pool())
    kube_system = await k8s_admin.kube.get("/api/v1/namespaces/kube-system")
    assert pool.cluster_id == kube_system["metadata"]["uid"]
    assert pool.driver == pb.DRIVER_KUBERNETES and pool.credentials_set
    assert pool.state == pb.Pool.STATE_READY, pool.state_message
    info = pool.info
    assert info.server_version.startswith("v1.20.") and info.api_version == "1.20"
    assert info.node_count == 1 and info.ready_node_count == 1
    assert info.cpus >= 1 and info.memory_bytes > 0
    assert info.os and info.arch and info.kernel_version
    assert set(pool.capabilities) == {
        pb.CAPABILITY_NODE_REMOVE,
        pb.CAPABILITY_VOLUMES,
        pb.CAPABILITY_LOGS,
        pb.CAPABILITY_EVENTS,
    }
    assert not pool.nodes

    full = (await server.pools.GetPool(ps.GetPoolRequest(name="pools/kube", view=pb.POOL_VIEW_FULL))).pool
    assert full.state == pb.Pool.STATE_READY
    (node,) = full.nodes
    assert node.name == f"pools/kube/nodes/{k8s.node}"
    assert node.state == pb.Node.STATE_READY and node.address == k8s.node
    assert node.engine_version.startswith("v1.20.") and node.os == "linux" and node.kernel_version
    assert node.cpus >= 1 and 0 < node.allocatable_memory_bytes <= node.memory_bytes
    assert node.etag and node.labels["kubernetes.io/hostname"]

    refreshed = (await server.pools.RefreshPool(ps.RefreshPoolRequest(name="pools/kube"), timeout=30)).pool
    assert refreshed.state == pb.Pool.STATE_READY and len(refreshed.nodes) == 1

    # The same cluster, through other credentials, is still the same cluster.
    message = await refused(
        server.pools.RegisterPool,
        ps.RegisterPoolRequest(pool_id="again", pool=k8s.pool(cert_pem=k8s.cert_pem, key_pem=k8s.key_pem)),
        grpc.StatusCode.ALREADY_EXISTS,
        "CLUSTER_ALREADY_REGISTERED",
    )
    assert "pools/kube" in message


async def test_register_with_client_certificate(server: RunningServer, k8s: KubeBed) -> None:
    pool = await register(server, "by-cert", k8s.pool(cert_pem=k8s.cert_pem, key_pem=k8s.key_pem))
    assert pool.state == pb.Pool.STATE_READY and pool.info.node_count == 1
    await server.pools.DeletePool(ps.DeletePoolRequest(name="pools/by-cert"))


async def test_register_with_kubeconfig(server: RunningServer, k8s: KubeBed) -> None:
    kubeconfig = pb.Pool(
        driver=pb.DRIVER_KUBERNETES,
        endpoint=k8s.api,
        credentials=pb.Credentials(kubeconfig=k8s.kubeconfig()),
    )
    pool = await register(server, "by-kubeconfig", kubeconfig)
    assert pool.state == pb.Pool.STATE_READY and pool.credentials_set

    # The pool's endpoint is where the credentials go: a kubeconfig for another server is refused.
    other = pb.Pool()
    other.CopyFrom(kubeconfig)
    other.credentials.kubeconfig = k8s.kubeconfig(server="https://10.255.255.1:6443")
    message = await refused(
        server.pools.RegisterPool,
        ps.RegisterPoolRequest(pool_id="elsewhere", pool=other),
        grpc.StatusCode.INVALID_ARGUMENT,
        "KUBECONFIG_SERVER_MISMATCH",
    )
    assert "10.255.255.1" in message

    # The test bed's own kubeconfig names its CA by a file path: the server reads no files.
    other.credentials.kubeconfig = k8s.kubeconfig(inline=False)
    message = await refused(
        server.pools.RegisterPool,
        ps.RegisterPoolRequest(pool_id="with-files", pool=other),
        grpc.StatusCode.INVALID_ARGUMENT,
        "UNSUPPORTED_KUBECONFIG",
    )
    assert "certificate-authority" in message


@pytest.mark.parametrize(
    ("credentials", "code", "reason"),
    [
        ({"bearer_token": "not-a-token"}, grpc.StatusCode.UNAUTHENTICATED, "CLUSTER_UNAUTHENTICATED"),
        ("readonly", grpc.StatusCode.PERMISSION_DENIED, "CLUSTER_PERMISSION_DENIED"),
        # The system's CAs do not know the test bed's: the server's certificate is not trusted.
        ("no-ca", grpc.StatusCode.UNAUTHENTICATED, "CLUSTER_TLS_FAILED"),
        (
            {"kubeconfig": "current-context: x", "bearer_token": "t"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "CONFLICTING_CREDENTIALS",
        ),
        ({"kubeconfig": "[not a mapping"}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_KUBECONFIG"),
        ({"bearer_token": "two words"}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_CREDENTIALS"),
    ],
)
async def test_registration_refused(
    server: RunningServer, k8s: KubeBed, credentials: object, code: grpc.StatusCode, reason: str
) -> None:
    if credentials == "readonly":
        pool = k8s.pool(bearer_token=k8s.readonly_token)
    elif credentials == "no-ca":
        pool = pb.Pool(
            driver=pb.DRIVER_KUBERNETES, endpoint=k8s.api, credentials=pb.Credentials(bearer_token=k8s.token)
        )
    else:
        assert isinstance(credentials, dict)
        # A kubeconfig comes alone; other credentials come with the test bed's CA.
        pool = (
            k8s.pool(**credentials)
            if "kubeconfig" not in credentials
            else pb.Pool(
                driver=pb.DRIVER_KUBERNETES, endpoint=k8s.api, credentials=pb.Credentials(**credentials)
            )
        )
    await refused(server.pools.RegisterPool, ps.RegisterPoolRequest(pool_id="bad", pool=pool), code, reason)
    assert not (await server.pools.ListPools(ps.ListPoolsRequest())).pools


async def test_unreachable_and_bad_endpoints(server: RunningServer, k8s: KubeBed) -> None:
    nobody = k8s.pool()
    nobody.endpoint = "https://127.0.0.1:1"
    await refused(
        server.pools.RegisterPool,
        ps.RegisterPoolRequest(pool_id="nobody", pool=nobody),
        grpc.StatusCode.UNAVAILABLE,
        "CLUSTER_UNREACHABLE",
    )
    swarm_like = k8s.pool()
    swarm_like.endpoint = "tcp://127.0.0.1:16443"
    await refused(
        server.pools.RegisterPool,
        ps.RegisterPoolRequest(pool_id="scheme", pool=swarm_like),
        grpc.StatusCode.INVALID_ARGUMENT,
        "UNSUPPORTED_ENDPOINT_SCHEME",
    )


# --- nodes -----------------------------------------------------------------------------------


@pytest.fixture
async def nodes(server: RunningServer, k8s_pool: str) -> ns_grpc.NodeServiceStub:
    return ns_grpc.NodeServiceStub(server.channel)


async def test_list_get_label_and_cordon_node(nodes: ns_grpc.NodeServiceStub, k8s: KubeBed) -> None:
    listed = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/kube"))
    (node,) = listed.nodes
    name = f"pools/kube/nodes/{k8s.node}"
    assert node.name == name and node.role == pb.Node.ROLE_WORKER and node.etag
    got = (await nodes.GetNode(ns.GetNodeRequest(name=name))).node
    assert got.name == name and got.hostname and got.engine_version == node.engine_version

    mask = field_mask_pb2.FieldMask
    try:
        labelled = (
            await nodes.UpdateNode(
                ns.UpdateNodeRequest(
                    node=pb.Node(name=name, labels={"zanepool.io/zone": "a"}, etag=got.etag),
                    update_mask=mask(paths=["labels.zanepool.io/zone"]),
                )
            )
        ).node
        assert labelled.labels["zanepool.io/zone"] == "a" and labelled.etag != got.etag
        assert labelled.labels["kubernetes.io/hostname"], "the other labels stay"

        # The etag read before the change is stale now.
        await refused(
            nodes.UpdateNode,
            ns.UpdateNodeRequest(
                node=pb.Node(name=name, availability=pb.Node.AVAILABILITY_PAUSE, etag=got.etag),
                update_mask=mask(paths=["availability"]),
            ),
            grpc.StatusCode.ABORTED,
            "ETAG_MISMATCH",
        )
        cordoned = (
            await nodes.UpdateNode(
                ns.UpdateNodeRequest(
                    node=pb.Node(name=name, availability=pb.Node.AVAILABILITY_PAUSE, etag=labelled.etag),
                    update_mask=mask(paths=["availability"]),
                )
            )
        ).node
        assert cordoned.availability == pb.Node.AVAILABILITY_PAUSE
        paused = await nodes.ListNodes(ns.ListNodesRequest(parent="pools/-", filter="availability = PAUSE"))
        assert [n.name for n in paused.nodes] == [name]

        await refused(
            nodes.UpdateNode,
            ns.UpdateNodeRequest(
                node=pb.Node(name=name, role=pb.Node.ROLE_MANAGER), update_mask=mask(paths=["role"])
            ),
            grpc.StatusCode.FAILED_PRECONDITION,
            "ROLE_NOT_MUTABLE",
        )
    finally:
        restored = (
            await nodes.UpdateNode(
                ns.UpdateNodeRequest(
                    node=pb.Node(name=name, availability=pb.Node.AVAILABILITY_ACTIVE),
                    update_mask=mask(paths=["availability", "labels.zanepool.io/zone"]),
                )
            )
        ).node
    assert restored.availability == pb.Node.AVAILABILITY_ACTIVE
    assert "zanepool.io/zone" not in restored.labels


async def test_node_changes_kubernetes_refuses(nodes: ns_grpc.NodeServiceStub, k8s: KubeBed) -> None:
    await refused(
        nodes.ImportNode,
        ns.ImportNodeRequest(parent="pools/kube", engine=pb.Engine(endpoint="https://10.0.0.9:10250")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "NODE_JOINS_THROUGH_BOOTSTRAP",
    )
    # The node is Ready: deleting its Node object would only make its kubelet register it again.
    await refused(
        nodes.RemoveNode,
        ns.RemoveNodeRequest(name=f"pools/kube/nodes/{k8s.node}"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "NODE_NOT_DOWN",
    )
    await refused(
        nodes.GetNode,
        ns.GetNodeRequest(name="pools/kube/nodes/no-such-node"),
        grpc.StatusCode.NOT_FOUND,
        "NODE_NOT_FOUND",
    )


# --- containers ------------------------------------------------------------------------------


@pytest.fixture
async def containers(server: RunningServer, k8s_pool: str) -> cs_grpc.ContainerServiceStub:
    return cs_grpc.ContainerServiceStub(server.channel)


def sleeper(namespace: str, **fields: object) -> pb.Container:
    defaults: dict[str, object] = {
        "image": BUSYBOX,
        "command": ["sleep", "3600"],
        "image_pull_policy": "Never",
    }
    return pb.Container(namespace=namespace, **(defaults | fields))  # type: ignore[arg-type]


async def create(
    containers: cs_grpc.ContainerServiceStub, container_id: str, container: pb.Container
) -> pb.Container:
    request = cs.CreateContainerRequest(parent="pools/kube", container_id=container_id, container=container)
    return (await containers.CreateContainer(request, timeout=60)).container


async def test_bare_pod_lifecycle(
    containers: cs_grpc.ContainerServiceStub, k8s: KubeBed, k8s_namespace: str
) -> None:
    made = await create(containers, "bare", sleeper(k8s_namespace, labels={"app": "zp"}, env={"A": "1"}))
    name = f"pools/kube/containers/{k8s_namespace}_bare_bare"
    assert made.name == name and made.state == pb.Container.STATE_RUNNING, made.state_message
    assert made.node == f"pools/kube/nodes/{k8s.node}" and made.namespace == k8s_namespace
    assert made.image == BUSYBOX and made.image_pull_policy == "Never" and dict(made.env) == {"A": "1"}
    assert made.labels["app"] == "zp" and not made.owner and made.container_id.startswith("docker://")

    got = (await containers.GetContainer(cs.GetContainerRequest(name=name))).container
    assert got.name == name and got.state == pb.Container.STATE_RUNNING and got.start_time.seconds
    listed = await containers.ListContainers(
        cs.ListContainersRequest(
            parent="pools/kube", filter=f'namespace = "{k8s_namespace}" AND labels.app = "zp"'
        )
    )
    assert [c.name for c in listed.containers] == [name]
    running = await containers.ListContainers(
        cs.ListContainersRequest(
            parent="pools/-", filter=f'state = RUNNING AND node = "pools/kube/nodes/{k8s.node}"'
        )
    )
    assert name in [c.name for c in running.containers]

    await refused(
        containers.CreateContainer,
        cs.CreateContainerRequest(parent="pools/kube", container_id="bare", container=sleeper(k8s_namespace)),
        grpc.StatusCode.ALREADY_EXISTS,
        "NAME_IN_USE",
    )
    await refused(
        containers.RestartContainer,
        cs.RestartContainerRequest(name=name),
        grpc.StatusCode.FAILED_PRECONDITION,
        "BARE_POD_CANNOT_RESTART",
    )
    for call, request in (
        (containers.StopContainer, cs.StopContainerRequest(name=name)),
        (containers.StartContainer, cs.StartContainerRequest(name=name)),
    ):
        message = await refused(
            call, request, grpc.StatusCode.FAILED_PRECONDITION, "NO_START_STOP_IN_KUBERNETES"
        )
        assert "no stopped container" in message

    await containers.DeleteContainer(cs.DeleteContainerRequest(name=name, force=True))
    await refused(
        containers.GetContainer,
        cs.GetContainerRequest(name=name),
        grpc.StatusCode.NOT_FOUND,
        "CONTAINER_NOT_FOUND",
    )


async def test_deployment_pod_restarts_through_its_controller(
    containers: cs_grpc.ContainerServiceStub, k8s_admin: KubernetesDriver, k8s_namespace: str
) -> None:
    made = await create(containers, "web", sleeper(k8s_namespace, replicas=1))
    assert made.state == pb.Container.STATE_RUNNING, made.state_message
    assert made.owner.startswith("ReplicaSet/web-")
    assert made.name.startswith(f"pools/kube/containers/{k8s_namespace}_web-") and made.name.endswith("_web")

    restarted = (
        await containers.RestartContainer(cs.RestartContainerRequest(name=made.name), timeout=60)
    ).container
    assert restarted.state == pb.Container.STATE_RUNNING and restarted.owner == made.owner
    assert restarted.name != made.name, "the ReplicaSet made a new pod"

    # Deleting a container of a Deployment CreateContainer made deletes that Deployment.
    await containers.DeleteContainer(cs.DeleteContainerRequest(name=restarted.name))
    with pytest.raises(NotFound):
        await k8s_admin.kube.get(f"/apis/apps/v1/namespaces/{k8s_namespace}/deployments/web")


async def test_create_refusals_leave_nothing(
    containers: cs_grpc.ContainerServiceStub, k8s_admin: KubernetesDriver, k8s_namespace: str
) -> None:
    # Not on the node, and the policy forbids a pull: the pod is deleted again.
    missing = sleeper(k8s_namespace, image="local/no-such-image:1")
    message = await refused(
        containers.CreateContainer,
        cs.CreateContainerRequest(parent="pools/kube", container_id="ghost", container=missing),
        grpc.StatusCode.FAILED_PRECONDITION,
        "IMAGE_NOT_FOUND",
        seconds=60,
    )
    assert "ErrImageNeverPull" in message
    for _ in range(40):
        pods = await k8s_admin.kube.items(f"/api/v1/namespaces/{k8s_namespace}/pods")
        if not pods:
            break
        await asyncio.sleep(0.25)
    assert not pods

    dry = (
        await containers.CreateContainer(
            cs.CreateContainerRequest(
                parent="pools/kube", container_id="dry", container=sleeper(k8s_namespace), validate_only=True
            )
        )
    ).container
    assert dry.name == f"pools/kube/containers/{k8s_namespace}_dry_dry"
    assert not await k8s_admin.kube.items(f"/api/v1/namespaces/{k8s_namespace}/pods")

    await refused(
        containers.CreateContainer,
        cs.CreateContainerRequest(
            parent="pools/kube", container_id="net", container=sleeper(k8s_namespace, networks=["backend"])
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "UNSUPPORTED_FIELD",
    )
    await refused(
        containers.CreateContainer,
        cs.CreateContainerRequest(
            parent="pools/kube", container_id="lost", container=sleeper("no-such-namespace")
        ),
        grpc.StatusCode.NOT_FOUND,
        "NAMESPACE_NOT_FOUND",
    )
    await refused(
        containers.GetContainer,
        cs.GetContainerRequest(name="pools/kube/containers/not-a-key"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_NAME",
    )


# --- images, volumes, networks -----------------------------------------------------------------


async def test_images_per_node(server: RunningServer, k8s_pool: str, k8s: KubeBed) -> None:
    images = ims_grpc.ImageServiceStub(server.channel)
    listed = (await images.ListImages(ims.ListImagesRequest(parent="pools/kube"))).images
    busybox = next(i for i in listed if BUSYBOX in i.repo_tags)
    assert busybox.node == f"pools/kube/nodes/{k8s.node}" and busybox.size_bytes > 0
    assert busybox.name.startswith(f"pools/kube/images/{k8s.node}_")
    got = (await images.GetImage(ims.GetImageRequest(name=busybox.name))).image
    assert got == busybox
    for call, request in (
        (images.PullImage, ims.PullImageRequest(parent="pools/kube", image=BUSYBOX)),
        (images.DeleteImage, ims.DeleteImageRequest(name=busybox.name)),
    ):
        message = await refused(call, request, grpc.StatusCode.UNIMPLEMENTED, "IMAGES_MANAGED_BY_KUBELET")
        assert "kubelet" in message


async def test_claim_lifecycle(server: RunningServer, k8s_pool: str, k8s_namespace: str) -> None:
    volumes = vs_grpc.VolumeServiceStub(server.channel)
    spec = pb.Volume(namespace=k8s_namespace, capacity_bytes=2**30, labels={"test": k8s_namespace})
    create = vs.CreateVolumeRequest(parent="pools/kube", volume_id="data", volume=spec)
    dry_run = vs.CreateVolumeRequest(validate_only=True)
    dry_run.MergeFrom(create)
    dry = (await volumes.CreateVolume(dry_run)).volume
    name = f"pools/kube/volumes/pvc_{k8s_namespace}_data"
    assert dry.name == name
    await refused(
        volumes.GetVolume, vs.GetVolumeRequest(name=name), grpc.StatusCode.NOT_FOUND, "VOLUME_NOT_FOUND"
    )

    made = (await volumes.CreateVolume(create)).volume
    assert made.name == name and made.kind == "persistentvolumeclaim" and made.namespace == k8s_namespace
    assert made.capacity_bytes == 2**30 and list(made.access_modes) == ["ReadWriteOnce"]
    assert made.status == "Pending", "no provisioner binds it: it waits"
    listed = await volumes.ListVolumes(
        vs.ListVolumesRequest(parent="pools/kube", filter=f'labels.test = "{k8s_namespace}"')
    )
    assert [v.name for v in listed.volumes] == [name]
    assert (await volumes.GetVolume(vs.GetVolumeRequest(name=name))).volume == made
    await refused(volumes.CreateVolume, create, grpc.StatusCode.ALREADY_EXISTS, "VOLUME_ALREADY_EXISTS")
    no_size = vs.CreateVolumeRequest(
        parent="pools/kube", volume_id="nosize", volume=pb.Volume(namespace=k8s_namespace)
    )
    await refused(volumes.CreateVolume, no_size, grpc.StatusCode.INVALID_ARGUMENT, "MISSING_FIELD")

    await volumes.DeleteVolume(vs.DeleteVolumeRequest(name=name))
    for _ in range(40):  # the claim's protection finalizer goes first
        with contextlib.suppress(grpc.aio.AioRpcError):
            await volumes.GetVolume(vs.GetVolumeRequest(name=name))
            await asyncio.sleep(0.25)
            continue
        break
    await refused(
        volumes.GetVolume, vs.GetVolumeRequest(name=name), grpc.StatusCode.NOT_FOUND, "VOLUME_NOT_FOUND"
    )


async def test_no_networks(server: RunningServer, k8s_pool: str) -> None:
    networks = nws_grpc.NetworkServiceStub(server.channel)
    message = await refused(
        networks.ListNetworks,
        nws.ListNetworksRequest(parent="pools/kube"),
        grpc.StatusCode.UNIMPLEMENTED,
        "NO_NETWORK_OBJECT",
    )
    assert "NetworkPolicy" in message
    # Across pools, a kind of cluster without networks contributes none and is not "unreachable".
    every = await networks.ListNetworks(nws.ListNetworksRequest(parent="pools/-"))
    assert not every.networks and not every.unreachable


# --- the driver's eviction, on one pod of the test's own ---------------------------------------


@pytest.fixture
async def web_pod(k8s_admin: KubernetesDriver, k8s_namespace: str) -> AsyncIterator[dict[str, object]]:
    """A Deployment's running pod in the test's namespace."""
    spec = ContainerSpec(image=BUSYBOX, command=("sleep", "3600"), image_pull_policy="Never", replicas=1)
    body = pods.deployment_manifest("evictee", k8s_namespace, spec, "")
    await k8s_admin.kube.request("POST", f"/apis/apps/v1/namespaces/{k8s_namespace}/deployments", body=body)
    for _ in range(240):
        found = await k8s_admin.kube.items(
            f"/api/v1/namespaces/{k8s_namespace}/pods", {"labelSelector": f"{pods.MANAGED}=evictee"}
        )
        if found and found[0]["status"].get("phase") == "Running":
            yield found[0]
            return
        await asyncio.sleep(0.25)
    pytest.fail("the Deployment's pod did not run")


async def test_eviction_api_of_the_server(
    k8s_admin: KubernetesDriver, k8s_namespace: str, web_pod: dict[str, object], k8s: KubeBed
) -> None:
    """Drain evicts with the Eviction API of the server's version (policy/v1beta1 on 1.20)."""
    ops = k8s_admin.nodes
    assert isinstance(ops, KubeNodes)
    await ops._evict(k8s.node, web_pod, await k8s_admin.server_minor())
    meta = web_pod["metadata"]
    assert isinstance(meta, dict)
    for _ in range(120):
        try:
            pod = await k8s_admin.kube.get(f"/api/v1/namespaces/{k8s_namespace}/pods/{meta['name']}")
        except NotFound:
            break
        if pod["metadata"].get("deletionTimestamp"):
            break
        await asyncio.sleep(0.25)
    else:
        pytest.fail("the evicted pod was not deleted")
