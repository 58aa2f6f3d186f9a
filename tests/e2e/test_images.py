"""ImageService end to end on the 3-node swarm: per-node lists, pulls from the local registry,
deletes (one in use refused), and bad input."""

from __future__ import annotations

import contextlib
from typing import Any

import aiodocker
import grpc
import pytest

from tests.support import testbed
from tests.support.engines import Bad, Bed, open_bed, refused, refused_by
from tests.support.servers import RunningServer, swarm_pool
from zanepool.v1 import image_service_pb2 as ims
from zanepool.v1 import image_service_pb2_grpc
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb

pytestmark = pytest.mark.slow
# The `bed` fixture: the cluster pool and its engines.
pytest_plugins = ("tests.support.bed",)
Code = grpc.StatusCode


@pytest.fixture
def images(server: RunningServer) -> image_service_pb2_grpc.ImageServiceStub:
    return image_service_pb2_grpc.ImageServiceStub(server.channel)


@pytest.fixture
async def registry_image(bed: Bed, cluster: testbed.Cluster) -> str:
    """The registry's test image, on no engine when the test starts or after it ends."""
    reference = cluster.registry_image

    async def drop() -> None:
        for docker in bed.engines.values():
            with contextlib.suppress(aiodocker.DockerError):
                await docker.images.delete(reference, force=True)

    await drop()
    bed.later(drop)
    return reference


async def test_images_are_listed_per_node(bed: Bed, images: image_service_pb2_grpc.ImageServiceStub) -> None:
    listed = (await images.ListImages(ims.ListImagesRequest(parent=bed.pool))).images
    busybox = [i for i in listed if "local/busybox:1" in i.repo_tags]
    # Every node holds local/busybox:1: one resource per node, each naming its node.
    assert sorted(i.node for i in busybox) == sorted(bed.node(n) for n in bed.engines)
    for image in busybox:
        node_id = image.node.rsplit("/", 1)[1]
        assert image.name == f"{bed.pool}/images/{node_id}.{image.image_id.removeprefix('sha256:')}"
        assert image.size_bytes > 0 and image.create_time.seconds > 0 and image.containers >= 0

    worker = bed.node(bed.worker_ids[0])
    on_worker = await images.ListImages(
        ims.ListImagesRequest(parent=bed.pool, filter=f'node = "{worker}" AND repo_tags: busybox')
    )
    assert [i.node for i in on_worker.images] == [worker]

    first = await images.ListImages(
        ims.ListImagesRequest(parent=bed.pool, page_size=1, order_by="size_bytes")
    )
    rest = await images.ListImages(
        ims.ListImagesRequest(
            parent=bed.pool, page_size=1000, order_by="size_bytes", page_token=first.next_page_token
        )
    )
    assert [i.name for i in [*first.images, *rest.images]] == [
        i.name for i in sorted(listed, key=lambda i: (i.size_bytes, i.name))
    ]
    everywhere = await images.ListImages(ims.ListImagesRequest(parent="pools/-"))
    assert {i.name for i in listed} <= {i.name for i in everywhere.images} and not everywhere.unreachable


async def test_pull_get_delete(
    bed: Bed, images: image_service_pb2_grpc.ImageServiceStub, registry_image: str
) -> None:
    worker = bed.node(bed.worker_ids[0])
    one = (
        await images.PullImage(ims.PullImageRequest(parent=bed.pool, image=registry_image, node=worker))
    ).images
    assert [i.node for i in one] == [worker] and registry_image in one[0].repo_tags
    assert one[0].repo_digests and one[0].labels["org.zanepool.testbed"] == "hello"
    assert (await images.GetImage(ims.GetImageRequest(name=one[0].name))).image == one[0]

    every = (await images.PullImage(ims.PullImageRequest(parent=bed.pool, image=registry_image))).images
    assert sorted(i.node for i in every) == sorted(bed.node(n) for n in bed.engines)
    assert {i.image_id for i in every} == {one[0].image_id}

    for image in every:
        await images.DeleteImage(ims.DeleteImageRequest(name=image.name))
    await refused(images.GetImage(ims.GetImageRequest(name=one[0].name)), Code.NOT_FOUND, "IMAGE_NOT_FOUND")
    await refused(
        images.DeleteImage(ims.DeleteImageRequest(name=one[0].name)), Code.NOT_FOUND, "IMAGE_NOT_FOUND"
    )


async def test_an_image_in_use_is_not_deleted(
    bed: Bed, images: image_service_pb2_grpc.ImageServiceStub, registry_image: str
) -> None:
    node_id = bed.worker_ids[-1]
    pulled = (
        await images.PullImage(
            ims.PullImageRequest(parent=bed.pool, image=registry_image, node=bed.node(node_id))
        )
    ).images[0]
    await bed.container(node_id, "uses-image", registry_image)
    assert (await images.GetImage(ims.GetImageRequest(name=pulled.name))).image.containers == 1
    for force in (False, True):  # a forced delete only untags an image that a container uses
        await refused(
            images.DeleteImage(ims.DeleteImageRequest(name=pulled.name, force=force)),
            Code.FAILED_PRECONDITION,
            "IMAGE_IN_USE",
        )


async def test_pull_of_a_missing_tag(
    bed: Bed, images: image_service_pb2_grpc.ImageServiceStub, cluster: testbed.Cluster
) -> None:
    missing = f"{cluster.registry}/hello:no-such-tag"
    for node in (bed.node(bed.worker_ids[0]), ""):
        await refused(
            images.PullImage(ims.PullImageRequest(parent=bed.pool, image=missing, node=node)),
            Code.NOT_FOUND,
            "IMAGE_NOT_FOUND_IN_REGISTRY",
        )


async def test_nodes_without_a_known_engine(
    server: RunningServer, images: image_service_pb2_grpc.ImageServiceStub, cluster: testbed.Cluster
) -> None:
    """A pool that knows the manager's engine only lists the manager's images, and says why it
    cannot pull onto a worker."""
    await server.pools.RegisterPool(
        ps.RegisterPoolRequest(pool_id="partial", pool=swarm_pool(cluster.manager)), timeout=30
    )
    async with open_bed("pools/partial", cluster) as bed:
        listed = (await images.ListImages(ims.ListImagesRequest(parent=bed.pool))).images
        assert {i.node for i in listed} == {bed.node(bed.manager_id)}
        await refused(
            images.PullImage(
                ims.PullImageRequest(
                    parent=bed.pool, image=cluster.registry_image, node=bed.node(bed.worker_ids[0])
                )
            ),
            Code.FAILED_PRECONDITION,
            "NODE_ENGINE_UNKNOWN",
        )


HEX = "0" * 64
NOT_FOUND = Code.NOT_FOUND
ImageStub = image_service_pb2_grpc.ImageServiceStub


def pull(**fields: Any) -> ims.PullImageRequest:
    return ims.PullImageRequest(parent="pools/multi", image=fields.pop("image", "hello"), **fields)


@pytest.mark.parametrize(
    "bad",
    [
        Bad(ims.GetImageRequest(name="pools/multi/images"), "INVALID_NAME", "name"),
        Bad(ims.GetImageRequest(name="pools/multi/images/nodot"), "INVALID_NAME", "name"),
        Bad(ims.GetImageRequest(name="pools/multi/images/n.short"), "INVALID_NAME", "name"),
        Bad(
            ims.GetImageRequest(name=f"pools/multi/images/nosuchnode.{HEX}"),
            "IMAGE_NOT_FOUND",
            code=NOT_FOUND,
        ),
        Bad(ims.GetImageRequest(name=f"pools/zzz/images/n.{HEX}"), "POOL_NOT_FOUND", code=NOT_FOUND),
        Bad(ims.DeleteImageRequest(name="pools/multi/volumes/x"), "INVALID_NAME", "name"),
        Bad(ims.PullImageRequest(parent="pools/multi"), "MISSING_FIELD", "image"),
        Bad(pull(image="Hello:1"), "INVALID_IMAGE_REFERENCE", "image"),
        Bad(ims.PullImageRequest(parent="pools/-", image="hello"), "WILDCARD_NOT_ALLOWED", "parent"),
        Bad(pull(node="pools/other/nodes/x"), "NODE_NOT_IN_POOL", "node"),
        Bad(pull(node="pools/multi/nodes/nosuchnode"), "NODE_NOT_FOUND", code=NOT_FOUND),
        Bad(
            pull(credentials=pb.Credentials(ca_pem="-----BEGIN x")), "UNSUPPORTED_CREDENTIALS", "credentials"
        ),
        Bad(ims.ListImagesRequest(parent="pools/multi", filter="driver = x"), "UNSUPPORTED_FILTER_FIELD"),
        Bad(
            ims.ListImagesRequest(parent="pools/multi", order_by="repo_tags"),
            "UNSUPPORTED_ORDER_BY",
            "order_by",
        ),
    ],
    ids=str,
)
async def test_bad_image_requests(cluster_pool: str, images: ImageStub, bad: Bad) -> None:
    await refused_by(images, bad)
