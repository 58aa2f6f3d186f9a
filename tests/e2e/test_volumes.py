"""VolumeService end to end on the 3-node swarm: a volume's life on a worker, one in use
refused, lists across pools, and bad input."""

from __future__ import annotations

from typing import Any

import aiodocker
import grpc
import pytest

from tests.support.engines import Bad, Bed, refused, refused_by
from tests.support.servers import RunningServer, swarm_pool
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb
from zanepool.v1 import volume_service_pb2 as vs
from zanepool.v1 import volume_service_pb2_grpc

pytestmark = pytest.mark.slow
# The `bed` fixture: the cluster pool and its engines.
pytest_plugins = ("tests.support.bed",)
Code = grpc.StatusCode
VolumeStub = volume_service_pb2_grpc.VolumeServiceStub


@pytest.fixture
def volumes(server: RunningServer) -> volume_service_pb2_grpc.VolumeServiceStub:
    return volume_service_pb2_grpc.VolumeServiceStub(server.channel)


async def test_volume_lifecycle_on_a_worker(
    bed: Bed, volumes: volume_service_pb2_grpc.VolumeServiceStub
) -> None:
    node_id, volume_id = bed.worker_ids[0], f"zp.data-{bed.suffix}"
    bed.remove_later(node_id, f"volumes/{volume_id}")
    wanted = pb.Volume(
        node=bed.node(node_id), labels={"app": "zp-test"}, options={"type": "tmpfs", "device": "tmpfs"}
    )
    request = vs.CreateVolumeRequest(parent=bed.pool, volume_id=volume_id, volume=wanted)

    check = vs.CreateVolumeRequest(validate_only=True)
    check.MergeFrom(request)
    preview = (await volumes.CreateVolume(check)).volume
    assert preview.name == f"{bed.pool}/volumes/{node_id}.{volume_id}" and preview.driver == "local"
    await refused(
        volumes.GetVolume(vs.GetVolumeRequest(name=preview.name)), Code.NOT_FOUND, "VOLUME_NOT_FOUND"
    )

    made = (await volumes.CreateVolume(request)).volume
    assert (made.name, made.node, made.driver, made.scope) == (
        preview.name,
        bed.node(node_id),
        "local",
        "local",
    )
    assert made.labels == {"app": "zp-test"} and made.options == wanted.options and made.mountpoint
    assert made.kind == "volume" and made.create_time.seconds > 0
    assert (await bed.engines[node_id]._query_json(f"volumes/{volume_id}"))["Labels"] == {"app": "zp-test"}
    assert (await volumes.GetVolume(vs.GetVolumeRequest(name=made.name))).volume == made
    await refused(volumes.CreateVolume(request), Code.ALREADY_EXISTS, "VOLUME_ALREADY_EXISTS")

    listed = await volumes.ListVolumes(
        vs.ListVolumesRequest(parent=bed.pool, filter=f'node = "{made.node}" AND labels.app = zp-test')
    )
    assert [v.name for v in listed.volumes] == [made.name]

    await volumes.DeleteVolume(vs.DeleteVolumeRequest(name=made.name))
    await refused(volumes.GetVolume(vs.GetVolumeRequest(name=made.name)), Code.NOT_FOUND, "VOLUME_NOT_FOUND")
    await refused(
        volumes.DeleteVolume(vs.DeleteVolumeRequest(name=made.name)), Code.NOT_FOUND, "VOLUME_NOT_FOUND"
    )


async def test_a_volume_in_use_is_not_deleted(
    bed: Bed, volumes: volume_service_pb2_grpc.VolumeServiceStub
) -> None:
    node_id, volume_id = bed.worker_ids[-1], f"zp-used-{bed.suffix}"
    bed.remove_later(node_id, f"volumes/{volume_id}")
    made = (
        await volumes.CreateVolume(
            vs.CreateVolumeRequest(
                parent=bed.pool, volume_id=volume_id, volume=pb.Volume(node=bed.node(node_id))
            )
        )
    ).volume
    container = await bed.container(node_id, "uses-volume", Binds=[f"{volume_id}:/data"])
    for force in (False, True):  # force never removes a volume in use
        await refused(
            volumes.DeleteVolume(vs.DeleteVolumeRequest(name=made.name, force=force)),
            Code.FAILED_PRECONDITION,
            "VOLUME_IN_USE",
        )
    await bed.engines[node_id].containers.container(container).delete(force=True)
    await volumes.DeleteVolume(vs.DeleteVolumeRequest(name=made.name))


async def test_default_node_and_every_pool(
    bed: Bed, server: RunningServer, swarm_unix: str, volumes: volume_service_pb2_grpc.VolumeServiceStub
) -> None:
    """Without a node a volume goes to the manager's; `pools/-` lists both pools' volumes."""
    volume_id = f"zp-default-{bed.suffix}"
    bed.remove_later(bed.manager_id, f"volumes/{volume_id}")
    await server.pools.RegisterPool(ps.RegisterPoolRequest(pool_id="one", pool=swarm_pool(swarm_unix)))
    single = aiodocker.Docker(url=swarm_unix)
    bed.later(single.close)
    await single.volumes.create({"Name": volume_id})
    bed.later(lambda: single._query_json(f"volumes/{volume_id}", "DELETE"))
    made = (await volumes.CreateVolume(vs.CreateVolumeRequest(parent=bed.pool, volume_id=volume_id))).volume
    assert made.node == bed.node(bed.manager_id)
    listed = await volumes.ListVolumes(vs.ListVolumesRequest(parent="pools/-", filter=f"name: {volume_id}"))
    assert {v.name.split("/")[1] for v in listed.volumes} == {"multi", "one"} and not listed.unreachable


def create(volume_id: str = "v", **volume: Any) -> vs.CreateVolumeRequest:
    return vs.CreateVolumeRequest(parent="pools/multi", volume_id=volume_id, volume=pb.Volume(**volume))


@pytest.mark.parametrize(
    "bad",
    [
        Bad(create(""), "MISSING_FIELD", "volume_id"),
        Bad(create("a/b"), "INVALID_ID", "volume_id"),
        Bad(create("_x"), "INVALID_ID", "volume_id"),
        Bad(create(labels={"Bad Key": "x"}), "INVALID_LABEL_KEY", "volume.labels[Bad Key]"),
        Bad(create(node="pools/one/nodes/x"), "NODE_NOT_IN_POOL", "volume.node"),
        Bad(create(node="pools/multi/nodes/nosuch"), "NODE_NOT_FOUND", code=Code.NOT_FOUND),
        Bad(create(capacity_bytes=1 << 30), "UNSUPPORTED_FIELD", "volume.capacity_bytes"),
        Bad(create(driver="no-such-driver"), "VOLUME_DRIVER_NOT_FOUND", code=Code.FAILED_PRECONDITION),
        Bad(create(driver="bad driver"), "INVALID_DRIVER", "volume.driver"),
        Bad(vs.GetVolumeRequest(name="pools/multi/volumes/nodot"), "INVALID_NAME", "name"),
        Bad(vs.GetVolumeRequest(name="pools/multi/volumes/x/y"), "INVALID_NAME", "name"),
        Bad(
            vs.DeleteVolumeRequest(name="pools/multi/volumes/nosuchnode.v"),
            "VOLUME_NOT_FOUND",
            code=Code.NOT_FOUND,
        ),
        Bad(vs.ListVolumesRequest(parent="pools/multi", filter="size > 1"), "UNSUPPORTED_FILTER_FIELD"),
        Bad(vs.ListVolumesRequest(parent="pools/multi", page_size=-1), "INVALID_PAGE_SIZE", "page_size"),
    ],
    ids=str,
)
async def test_bad_volume_requests(cluster_pool: str, volumes: VolumeStub, bad: Bad) -> None:
    await refused_by(volumes, bad)
