"""Both clients end to end: a real server, the test bed's swarm and store."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.servers import RunningServer
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb
from zanepool_client import (
    AbortedError,
    AlreadyExistsError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    UnimplementedError,
    ZanePoolClient,
    ZanePoolSyncClient,
)


async def test_pools_and_nodes_async(server: RunningServer, swarm_unix: str) -> None:
    async with await ZanePoolClient.connect(server.address, timeout=30) as client:
        pool = await client.register_pool(
            pool_id="alpha",
            pool=pb.Pool(driver=pb.DRIVER_SWARM, endpoint=swarm_unix, labels={"env": "test"}),
        )
        assert pool.name == "pools/alpha" and pool.state == pb.Pool.STATE_READY, pool.state_message
        assert await client.get_pool(ps.GetPoolRequest(name="pools/alpha")) == pool
        assert [p.name async for p in client.list_pools(filter='labels.env = "test"')] == ["pools/alpha"]
        page = await client.list_pools_page(page_size=1)
        assert [p.name for p in page.pools] == ["pools/alpha"] and not page.next_page_token

        updated = await client.update_pool(
            pool=pb.Pool(name="pools/alpha", display_name="Alpha", etag=pool.etag),
            update_mask=["display_name"],
        )
        assert updated.display_name == "Alpha" and updated.etag != pool.etag
        with pytest.raises(AbortedError) as stale:
            await client.update_pool(
                pool=pb.Pool(name="pools/alpha", display_name="x", etag=pool.etag),
                update_mask=["display_name"],
            )
        assert stale.value.reason == "ETAG_MISMATCH"

        refreshed = await client.refresh_pool(name="pools/alpha")
        assert len(refreshed.nodes) == 1
        nodes = [n async for n in client.list_nodes(parent="pools/alpha")]
        assert [n.name for n in nodes] == [refreshed.nodes[0].name]
        node = await client.get_node(name=nodes[0].name)
        assert node.role == pb.Node.ROLE_MANAGER and node.hostname == nodes[0].hostname

        with pytest.raises(AlreadyExistsError) as again:
            await client.register_pool(
                pool_id="alpha", pool=pb.Pool(driver=pb.DRIVER_SWARM, endpoint=swarm_unix)
            )
        assert again.value.reason == "POOL_ALREADY_EXISTS"
        with pytest.raises(InvalidArgumentError) as bad:
            await client.register_pool(
                pool_id="Not_An_Id", pool=pb.Pool(driver=pb.DRIVER_SWARM, endpoint="x")
            )
        assert bad.value.reason == "INVALID_POOL_ID"
        assert [v.field for v in bad.value.field_violations] == ["pool_id"]
        assert all(isinstance(v, FieldViolation) and v.description for v in bad.value.field_violations)

        assert await client.delete_pool(name="pools/alpha", etag=updated.etag) is None
        with pytest.raises(NotFoundError) as gone:
            await client.get_pool(name="pools/alpha")
        assert (gone.value.reason, gone.value.domain) == ("POOL_NOT_FOUND", "zanepool.v1")
        assert gone.value.metadata == {"pool": "pools/alpha"}
        assert str(gone.value) == "NOT_FOUND (POOL_NOT_FOUND): pools/alpha does not exist"


async def test_pools_and_nodes_sync(server: RunningServer, bed_pool: str) -> None:
    def script() -> tuple[list[str], list[str], str]:
        with ZanePoolSyncClient.connect(server.address) as client:
            pools = [p.name for p in client.list_pools()]
            nodes = [n.name for n in client.list_nodes(parent="pools/-")]
            with pytest.raises(NotFoundError) as gone:
                client.get_pool(name="pools/nope")
            return pools, nodes, gone.value.reason

    pools, nodes, reason = await asyncio.to_thread(script)
    assert pools == [bed_pool] and len(nodes) == 1 and nodes[0].startswith(f"{bed_pool}/nodes/")
    assert reason == "POOL_NOT_FOUND"


@pytest.mark.parametrize("kind", ["containers", "images", "volumes", "networks"])
async def test_child_lists_answer_items_or_not_implemented_yet(
    server: RunningServer, bed_pool: str, kind: str
) -> None:
    """These services are being built: each list works, or refuses with NOT_IMPLEMENTED_YET."""
    async with ZanePoolClient(server.channel) as client:
        try:
            items = [item async for item in getattr(client, f"list_{kind}")(parent=bed_pool)]
        except UnimplementedError as exc:
            refused: UnimplementedError | None = exc
        else:
            refused = None
    if refused is not None:
        assert refused.reason == "NOT_IMPLEMENTED_YET", refused
    else:
        assert all(item.name.startswith(f"{bed_pool}/{kind}/") for item in items)
