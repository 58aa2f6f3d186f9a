"""Retries, paging, resumable streams, the token, deadlines and the client's lifecycle, against
a scripted server."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from tests.client.conftest import FAST
from tests.client.fakes import Fake, failing
from zanepool.v1 import log_service_pb2 as ls
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb
from zanepool_client import (
    ClientClosedError,
    NotFoundError,
    RetryPolicy,
    UnavailableError,
    ZanePoolClient,
    ZanePoolSyncClient,
)


async def answer_pool(request: Any, context: Any) -> ps.GetPoolResponse:
    return ps.GetPoolResponse(pool=pb.Pool(name=request.name))


def connect(fake: Fake, **settings: Any) -> Any:
    return ZanePoolClient.connect(fake.address, retry=FAST, reconnect=FAST, **settings)


async def test_idempotent_calls_are_retried_on_unavailable(fake: Fake) -> None:
    fake.scripts["GetPool"] = failing(grpc.StatusCode.UNAVAILABLE, 2, then=answer_pool)
    async with await connect(fake) as client:
        pool = await client.get_pool(name="pools/a")
    assert pool.name == "pools/a"
    assert len(fake.requests("GetPool")) == 3


async def test_retries_stop_after_max_attempts(fake: Fake) -> None:
    fake.scripts["ListPools"] = failing(grpc.StatusCode.UNAVAILABLE, 100)
    async with await connect(fake) as client:
        with pytest.raises(UnavailableError, match="scripted UNAVAILABLE"):
            await client.list_pools_page()
    assert len(fake.requests("ListPools")) == FAST.max_attempts


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("register_pool", {"pool_id": "a"}),
        ("delete_pool", {"name": "pools/a"}),
        ("update_pool", {"pool": pb.Pool(name="pools/a")}),
        ("create_container", {"parent": "pools/a"}),
        ("pull_image", {"parent": "pools/a"}),
    ],
)
async def test_mutations_are_never_retried(fake: Fake, method: str, kwargs: dict[str, Any]) -> None:
    rpc = "".join(part.title() for part in method.split("_"))
    fake.scripts[rpc] = failing(grpc.StatusCode.UNAVAILABLE, 100)
    async with await connect(fake) as client:
        with pytest.raises(UnavailableError):
            await getattr(client, method)(**kwargs)
    assert len(fake.requests(rpc)) == 1


async def test_other_codes_are_not_retried(fake: Fake) -> None:
    fake.scripts["GetPool"] = failing(grpc.StatusCode.NOT_FOUND, 100)
    async with await connect(fake) as client:
        with pytest.raises(NotFoundError):
            await client.get_pool(name="pools/a")
    assert len(fake.requests("GetPool")) == 1


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=5.0, multiplier=2.0, jitter=0.5)
    for failures, base in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)):
        delays = {policy.delay(failures) for _ in range(50)}
        assert all(base * 0.5 <= d <= base for d in delays), (failures, delays)
        assert len(delays) > 1, "jitter spreads the delays"


PAGES = {"": (["a", "b"], "t1"), "t1": (["c"], "t2"), "t2": (["d"], "")}


async def serve_pages(request: Any, context: Any) -> ps.ListPoolsResponse:
    names, token = PAGES[request.page_token]
    return ps.ListPoolsResponse(pools=[pb.Pool(name=f"pools/{n}") for n in names], next_page_token=token)


async def test_lists_follow_page_tokens(fake: Fake) -> None:
    fake.scripts["ListPools"] = serve_pages
    async with await connect(fake) as client:
        names = [p.name async for p in client.list_pools(filter="state = READY", page_size=2)]
        first = await client.list_pools_page(filter="state = READY", page_size=2)
    assert names == ["pools/a", "pools/b", "pools/c", "pools/d"]
    assert [(r.page_token, r.filter, r.page_size) for r in fake.requests("ListPools")[:3]] == [
        ("", "state = READY", 2),
        ("t1", "state = READY", 2),
        ("t2", "state = READY", 2),
    ]
    assert [p.name for p in first.pools] == ["pools/a", "pools/b"] and first.next_page_token == "t1"

    def sync() -> list[str]:
        with ZanePoolSyncClient.connect(fake.address) as client:
            return [p.name for p in client.list_pools(ps.ListPoolsRequest(page_size=2))]

    assert await asyncio.to_thread(sync) == names


def log_line(cursor: str) -> ls.StreamLogsResponse:
    return ls.StreamLogsResponse(entry=ls.LogEntry(line=f"line {cursor}"), cursor=cursor)


async def dropping_stream(request: Any, context: Any) -> Any:
    """First call: two lines, then the connection drops; later calls continue after the cursor."""
    if not request.resume_token:
        yield log_line("c1")
        yield log_line("c2")
        await context.abort(grpc.StatusCode.UNAVAILABLE, "connection dropped")
    assert request.resume_token == "c2"
    yield ls.StreamLogsResponse(heartbeat=pb.Heartbeat(), cursor="")
    yield log_line("c3")


async def test_streams_resume_after_the_last_cursor(fake: Fake) -> None:
    fake.scripts["StreamLogs"] = dropping_stream
    async with await connect(fake) as client:
        got = [m.cursor async for m in client.stream_logs(parent="pools/a", follow=True)]
    assert got == ["c1", "c2", "", "c3"]
    assert [(r.parent, r.follow, r.resume_token) for r in fake.requests("StreamLogs")] == [
        ("pools/a", True, ""),
        ("pools/a", True, "c2"),
    ]

    def sync() -> list[str]:
        with ZanePoolSyncClient.connect(fake.address, reconnect=FAST) as client:
            return [m.cursor for m in client.stream_logs(parent="pools/a")]

    assert await asyncio.to_thread(sync) == got


async def test_streams_without_reconnect_raise(fake: Fake) -> None:
    fake.scripts["StreamLogs"] = dropping_stream
    got: list[str] = []

    async def read(client: ZanePoolClient) -> None:
        async for message in client.stream_logs(parent="pools/a", reconnect=False):
            got.append(message.cursor)

    async with await connect(fake) as client:
        with pytest.raises(UnavailableError, match="connection dropped"):
            await read(client)
    assert got == ["c1", "c2"]


async def test_streams_give_up_after_failed_reconnects(fake: Fake) -> None:
    async def down(request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNAVAILABLE, "down")
        yield  # an async generator

    fake.scripts["WatchEvents"] = down
    async with await connect(fake) as client:
        with pytest.raises(UnavailableError):
            [m async for m in client.watch_events(parent="pools/-")]
    assert len(fake.requests("WatchEvents")) == FAST.max_attempts


async def test_token_metadata_and_deadlines(fake: Fake) -> None:
    fake.scripts["GetPool"] = answer_pool

    async def one_line(request: Any, context: Any) -> Any:
        yield log_line("c1")

    fake.scripts["StreamLogs"] = one_line
    async with await connect(fake, token="s3cret", timeout=7.0) as client:
        await client.get_pool(name="pools/a", metadata=[("x-trace", "t1")])
        await client.get_pool(name="pools/a", timeout=2.0)
        [m async for m in client.stream_logs(parent="pools/a")]
    default, own, stream = fake.calls
    assert default.metadata["authorization"] == "Bearer s3cret" and default.metadata["x-trace"] == "t1"
    assert own.metadata["authorization"] == "Bearer s3cret"
    assert stream.metadata["authorization"] == "Bearer s3cret"
    assert default.time_remaining is not None and 3 < default.time_remaining <= 7.5  # the client default
    assert own.time_remaining is not None and own.time_remaining <= 2.5  # its own, rounded up a little
    assert stream.time_remaining is None, "streams get no default deadline"


async def test_a_closed_client_refuses_calls(fake: Fake) -> None:
    fake.scripts["GetPool"] = answer_pool
    client = await connect(fake)
    async with client:
        await client.get_pool(name="pools/a")
    with pytest.raises(ClientClosedError):
        await client.get_pool(name="pools/a")
    with pytest.raises(ClientClosedError):
        client.list_pools()
    with pytest.raises(ClientClosedError):
        async with client:
            pass

    def sync() -> None:
        with ZanePoolSyncClient.connect(fake.address) as sync_client:
            sync_client.get_pool(name="pools/a")
        with pytest.raises(ClientClosedError):
            sync_client.get_pool(name="pools/a")

    await asyncio.to_thread(sync)


async def test_a_client_over_a_given_channel_leaves_it_open(fake: Fake) -> None:
    fake.scripts["GetPool"] = answer_pool
    async with grpc.aio.insecure_channel(fake.address) as channel:
        async with ZanePoolClient(channel, token="t") as client:
            await client.get_pool(name="pools/a")
        async with ZanePoolClient(channel) as again:
            assert (await again.get_pool(name="pools/b")).name == "pools/b"
    assert [c.metadata.get("authorization") for c in fake.calls] == ["Bearer t", None]
