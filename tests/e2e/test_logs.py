"""LogService end to end: a real channel, real servers, the real store and real clusters.

The tests that hold for every kind of pool run twice, on the 3-node swarm (managed
containers whose tasks land on any node, their logs read through the manager) and on the
Kubernetes test bed, through ``tests.support.conformance.Subject``; the containers are
busybox loops that count (``c1-0``, ``c1-1``, ...) so that order, loss and repetition
show. Swarm-only behaviour (the kinds of Swarm container, an engine that dies mid-stream)
runs on the swarms; what no driver changes (bad requests, heartbeats, server shutdown)
runs on the single-node swarm. Everything a test makes is removed when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import aiodocker
import grpc
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2

from tests.e2e.test_containers import engine
from tests.e2e.test_swarm_cluster import _all_ready
from tests.support import conformance, testbed
from tests.support.conformance import Subject
from tests.support.engines import refused
from tests.support.servers import RunningServer, error_info, start_server, swarm_pool
from zanepool.v1 import log_service_pb2 as ls
from zanepool.v1 import log_service_pb2_grpc as ls_grpc
from zanepool.v1 import node_service_pb2_grpc
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb
from zanepool_server.domain import logs as domain_logs
from zanepool_server.drivers.kubernetes import KubernetesDriver
from zanepool_server.streams.mailbox import Mailbox

# ``subject`` (one pool of each kind, not registered yet: the 3-node swarm, then Kubernetes)
# and ``stack`` (what a test made, removed when it ends).
pytest_plugins = ("tests.support.conformance_fixtures",)

Code = grpc.StatusCode
Response = ls.StreamLogsResponse
JOINED, LEFT = ls.LogSourceChange.CHANGE_JOINED, ls.LogSourceChange.CHANGE_LEFT
IDLE = "while true; do sleep 1 & wait $!; done"
#: Seconds between two looks at a pool's containers while a test follows it (2 s by default).
ROSTER = 0.5


def counting(prefix: str, count: int | None, *, every: float = 0.05, then: str = IDLE) -> list[str]:
    """A command that prints ``prefix-0``, ``prefix-1``, ... (``count`` lines, or for ever), then ``then``."""
    until = f"[ $i -lt {count} ]" if count is not None else "true"
    loop = f"i=0; while {until}; do echo {prefix}-$i; i=$((i+1)); sleep {every}; done"
    return ["sh", "-c", f"trap 'exit 0' TERM; {loop}; {then}"]


def entries(responses: list[Response], container: str | None = None) -> list[ls.LogEntry]:
    """The log lines of the responses, whether they came one a response or in batches."""
    return [
        e
        for r in responses
        for e in ([r.entry] if r.HasField("entry") else r.batch.entries)
        if container is None or e.container == container
    ]


def lines(responses: list[Response], container: str | None = None) -> list[str]:
    return [e.line for e in entries(responses, container)]


def numbers(responses: list[Response], prefix: str) -> list[int]:
    """The counts of ``prefix-N`` lines, in the order they came."""
    return [int(line.rsplit("-", 1)[1]) for line in lines(responses) if line.startswith(f"{prefix}-")]


def changes(responses: list[Response]) -> list[tuple[int, str]]:
    return [
        (r.source_change.change, r.source_change.container) for r in responses if r.HasField("source_change")
    ]


def ns_of(ts: timestamp_pb2.Timestamp) -> int:
    return int(ts.seconds) * 1_000_000_000 + int(ts.nanos)


async def read_all(stub: ls_grpc.LogServiceStub, **request: Any) -> list[Response]:
    """A whole stream without follow."""
    return [r async for r in stub.StreamLogs(ls.StreamLogsRequest(**request), timeout=60)]


async def read_some(stub: ls_grpc.LogServiceStub, count: int, **request: Any) -> list[Response]:
    """The first ``count`` log entries of a stream (and what came with them); the call is cancelled."""
    call = stub.StreamLogs(ls.StreamLogsRequest(**request), timeout=60)
    got: list[Response] = []
    async for response in call:
        got.append(response)
        if len(entries(got)) >= count:
            break
    call.cancel()
    return got


class Reader:
    """A StreamLogs call read in the background: what it gave so far, and how it ended."""

    def __init__(self, stub: ls_grpc.LogServiceStub, **request: Any) -> None:
        self.call = stub.StreamLogs(ls.StreamLogsRequest(**request))
        self.responses: list[Response] = []
        self.error: grpc.aio.AioRpcError | None = None
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for response in self.call:
                self.responses.append(response)
        except grpc.aio.AioRpcError as err:
            self.error = err

    @property
    def over(self) -> bool:
        return self._task.done()

    async def until(self, done: Callable[[Reader], object], *, within: float = 30, what: str = "") -> None:
        """Wait until ``done(self)`` holds (a stream that ends first fails the test)."""
        end = time.monotonic() + within
        while not done(self):
            if self.over or time.monotonic() > end:
                pytest.fail(
                    f"not within {within}s: {what} (ended: {self.error!r}; got {len(self.responses)})"
                )
            await asyncio.sleep(0.05)

    async def ended(self, within: float = 30) -> None:
        await asyncio.wait_for(asyncio.shield(self._task), within)

    async def cancel(self) -> None:
        self.call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@pytest.fixture
def logs(subject: Subject) -> ls_grpc.LogServiceStub:
    return subject.stubs.logs


def quick_roster(server: RunningServer) -> None:
    """Followed pools notice containers that start within ``ROSTER`` seconds."""
    logs_domain = server.server.logs
    assert logs_domain is not None
    logs_domain.settings = dataclasses.replace(logs_domain.settings, roster_interval=ROSTER)


async def make(subject: Subject, key: str, command: list[str], **fields: Any) -> str:
    """A container of the subject's pool running ``command``; its resource name."""
    made = await subject.create(f"{key}-{subject.run}", command=command, **fields)
    return made.name


async def written(logs: ls_grpc.LogServiceStub, parent: str, count: int, **request: Any) -> list[Response]:
    """The whole log of ``parent`` once it holds ``count`` lines (the containers write for a while)."""
    end = time.monotonic() + 30
    while True:
        got = await read_all(logs, parent=parent, **request)
        if len(entries(got)) >= count or time.monotonic() > end:
            return got
        await asyncio.sleep(0.25)


# --- every kind of pool --------------------------------------------------------------------------


async def test_pool_logs_merged_filtered_tailed_and_since(
    subject: Subject, logs: ls_grpc.LogServiceStub
) -> None:
    await subject.register()
    names = list(
        await asyncio.gather(
            *(
                make(subject, f"lg{k}", counting(f"c{k}", 20), labels=subject.labels | {"role": f"r{k}"})
                for k in range(3)
            )
        )
    )
    everything = await written(logs, subject.name, 60, filter=subject.label_filter)
    assert {e.container for e in entries(everything)} == set(names)
    for k, name in enumerate(names):
        mine = entries(everything, name)
        assert [e.line for e in mine] == [f"c{k}-{i}" for i in range(20)], "in order, each once"
        times = [ns_of(e.time) for e in mine]
        assert times == sorted(times) and times[0] > 0
        assert all(e.stream == ls.LogEntry.STREAM_STDOUT for e in mine)
        assert all(e.node.startswith(f"{subject.name}/nodes/") for e in mine)
    assert all(r.cursor for r in everything)

    only_one = await read_all(
        logs, parent=subject.name, filter=f'{subject.label_filter} AND labels.role = "r1"'
    )
    assert lines(only_one) == [f"c1-{i}" for i in range(20)]

    tailed = await read_all(logs, parent=subject.name, filter=subject.label_filter, tail_lines=3)
    for k, name in enumerate(names):
        assert lines(tailed, name) == [f"c{k}-{i}" for i in range(17, 20)]

    # since_time: at or after the exact time of c1-10, in every container.
    since = entries(everything, names[1])[10].time
    after = await read_all(logs, parent=subject.name, filter=subject.label_filter, since_time=since)
    assert lines(after, names[1]) == [f"c1-{i}" for i in range(10, 20)]
    for name in (names[0], names[2]):
        expected = [e.line for e in entries(everything, name) if ns_of(e.time) >= ns_of(since)]
        assert lines(after, name) == expected

    # One container, with the engine's timestamps on the lines.
    one = await read_all(logs, parent=names[2], timestamps=True, tail_lines=1)
    [last] = entries(one)
    stamp = last.time.ToDatetime().strftime("%Y-%m-%dT%H:%M:%S")
    assert last.line == f"{stamp}.{last.time.nanos:09d}Z c2-19"


async def test_follow_announces_containers_that_join_and_leave(
    subject: Subject, server: RunningServer, logs: ls_grpc.LogServiceStub
) -> None:
    quick_roster(server)
    await subject.register()
    await make(subject, "steady", counting("a", None, every=0.2))
    follow = Reader(logs, parent=subject.name, filter=subject.label_filter, follow=True, tail_lines=1)
    try:
        await follow.until(lambda r: "a" in {line[:1] for line in lines(r.responses)}, what="a line of a")
        # Writes five lines, lives long enough for the roster to see it, then ends for good.
        later = await make(
            subject, "later", counting("b", 5, every=0.1, then="sleep 4; exit 3"), restart_policy="no"
        )
        await follow.until(lambda r: (LEFT, later) in changes(r.responses), within=60, what="b leaves")
    finally:
        await follow.cancel()
    got = follow.responses
    assert changes(got) == [(JOINED, later), (LEFT, later)], "a was there from the start"
    joined = next(i for i, r in enumerate(got) if r.source_change.change == JOINED)
    left = next(i for i, r in enumerate(got) if r.source_change.change == LEFT)
    b_lines = [i for i, r in enumerate(got) if r.entry.container == later]
    assert lines(got, later) == [f"b-{i}" for i in range(5)]
    assert joined < b_lines[0] and b_lines[-1] < left
    a = numbers(got, "a")
    assert a == list(range(a[0], a[0] + len(a))) and len(a) > 10, "a went on, in order"
    assert got[joined].source_change.node.startswith(f"{subject.name}/nodes/")
    assert got[left].source_change.message == "the container exited with code 3"


async def test_resume_after_the_cursor_gives_every_line_once(
    subject: Subject, logs: ls_grpc.LogServiceStub
) -> None:
    await subject.register()
    done, going = await asyncio.gather(
        make(subject, "done", counting("x", 30, every=0.02)),
        make(subject, "going", counting("y", None, every=0.1)),
    )
    await written(logs, done, 30)

    # Without follow: the first 12 lines, then the rest from the last cursor.
    first = await read_some(logs, 12, parent=done)
    rest = await read_all(logs, parent=done, resume_token=first[-1].cursor)
    assert numbers(first, "x") + numbers(rest, "x") == list(range(30))

    # Following a container that goes on writing: cancel, wait, resume.
    live = await read_some(logs, 8, parent=going, follow=True)
    await asyncio.sleep(1)
    again = await read_some(logs, 20, parent=going, follow=True, resume_token=live[-1].cursor)
    seen = numbers(live, "y") + numbers(again, "y")
    assert seen == list(range(len(seen))), "nothing lost, nothing repeated"

    # A pool stream resumed: the lines of both containers after the cursor.
    pool = await read_some(logs, 25, parent=subject.name, filter=subject.label_filter)
    tail = await read_all(
        logs, parent=subject.name, filter=subject.label_filter, resume_token=pool[-1].cursor
    )
    for prefix in ("x", "y"):
        both = numbers(pool, prefix) + numbers(tail, prefix)
        assert both == list(range(len(both)))
    await refused(
        read_all(logs, parent=done, resume_token=pool[-1].cursor),
        Code.INVALID_ARGUMENT,
        "RESUME_TOKEN_MISMATCH",
        "resume_token",
    )


async def test_batches_carry_the_same_lines_in_order(subject: Subject, logs: ls_grpc.LogServiceStub) -> None:
    await subject.register()
    name = await make(subject, "batched", counting("b", 400, every=0))
    one_by_one = await written(logs, name, 400)
    batched = await read_all(logs, parent=name, max_batch_lines=64)
    assert entries(batched) == entries(one_by_one), "the same lines, times and streams, in order"
    assert all(r.HasField("batch") for r in batched if not r.HasField("heartbeat"))
    sizes = [len(r.batch.entries) for r in batched]
    assert max(sizes) <= 64 and len(sizes) < 400, f"batches form when lines queue up: {sizes}"
    # A batch's cursor resumes after its last line.
    middle = batched[len(batched) // 2]
    upto = len(entries(batched[: len(batched) // 2 + 1]))
    rest = await read_all(logs, parent=name, max_batch_lines=64, resume_token=middle.cursor)
    assert entries(rest) == entries(batched)[upto:]
    # Followed: lines that come one at a time come in batches of one, at once.
    follower = Reader(logs, parent=name, follow=True, tail_lines=1, max_batch_lines=64)
    await follower.until(lambda r: entries(r.responses), what="the last line")
    await follower.cancel()
    assert numbers(follower.responses, "b") == [399]


class Recorded(Mailbox[Any]):
    """A mailbox that remembers the most it ever held."""

    made: ClassVar[list[Recorded]] = []

    def __init__(self, capacity: int) -> None:
        super().__init__(capacity)
        self.most = 0
        Recorded.made.append(self)

    def offer(self, item: Any, *, force: bool = False) -> None:
        super().offer(item, force=force)
        self.most = max(self.most, len(self))


async def test_a_slow_subscriber_is_told_what_it_lost(
    subject: Subject,
    mongo_uri: str,
    database: str,
    stack: contextlib.AsyncExitStack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer, burst = 16, 5000
    monkeypatch.setattr(domain_logs, "Mailbox", Recorded)
    Recorded.made.clear()
    own = await stack.enter_async_context(
        start_server(mongodb_uri=mongo_uri, database=database, stream_buffer=buffer)
    )
    small = dataclasses.replace(subject, pool_id="slow", server=own)
    await small.register()
    burster = [
        "sh",
        "-c",
        f"trap 'exit 0' TERM; sleep 2; awk 'BEGIN{{for(i=0;i<{burst};i++) print \"z-\" i}}'; {IDLE}",
    ]
    name = await make(small, "burst", burster)
    # A reader that takes nothing for a while: no flow-control window growth to hide it.
    channel = await stack.enter_async_context(
        grpc.aio.insecure_channel(own.address, options=[("grpc.http2.bdp_probe", 0)])
    )
    call = ls_grpc.LogServiceStub(channel).StreamLogs(ls.StreamLogsRequest(parent=name, follow=True))
    stack.callback(call.cancel)
    await asyncio.sleep(5)  # the burst comes after 2 s
    got: list[Response] = []

    def counted() -> int:
        return len(entries(got)) + sum(r.gap.dropped_lines for r in got if r.HasField("gap"))

    async def read() -> None:
        async for response in call:
            got.append(response)
            if counted() >= burst:
                return

    await asyncio.wait_for(read(), 30)
    gaps = [r.gap for r in got if r.HasField("gap")]
    assert gaps and all(g.dropped_lines > 0 and list(g.containers) == [name] for g in gaps)
    assert counted() == burst, "every line is delivered or counted in a gap"
    delivered = numbers(got, "z")
    assert delivered == sorted(delivered) and delivered[0] == 0, "in order; the newest were dropped"
    assert Recorded.made and max(box.most for box in Recorded.made) <= buffer, "memory stays bounded"


async def test_subscribers_share_one_upstream_per_container(
    subject: Subject, server: RunningServer, logs: ls_grpc.LogServiceStub
) -> None:
    await subject.register()
    names = await asyncio.gather(
        *(make(subject, f"fan{k}", counting(f"f{k}", None, every=0.2)) for k in range(3))
    )
    feeds = server.server.logs.live  # type: ignore[union-attr]
    readers = [
        Reader(logs, parent=subject.name, filter=subject.label_filter, follow=True, tail_lines=1)
        for _ in range(5)
    ]
    try:
        for reader in readers:
            await reader.until(
                lambda r: {e.container for e in entries(r.responses)} == set(names), what="every container"
            )
        assert feeds.open_count == len(names)
        assert feeds.opened_total == len(names), "one upstream read per container, not per subscriber"
    finally:
        for reader in readers:
            await reader.cancel()
    for _ in range(50):  # within 1 s
        if not feeds.open_count:
            break
        await asyncio.sleep(0.02)
    assert feeds.open_count == 0, "the upstream reads stop with their last subscriber"


async def test_tty_container_logs(subject: Subject, logs: ls_grpc.LogServiceStub) -> None:
    await subject.register()
    name = await make(subject, "tty", counting("t", 5), tty=True)
    got = await written(logs, name, 5)
    assert lines(got) == [f"t-{i}" for i in range(5)], "no carriage returns"
    assert {e.stream for e in entries(got)} == {ls.LogEntry.STREAM_TTY}


# --- Swarm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("subject", ["swarm"], indirect=True)
async def test_every_kind_of_swarm_container(
    subject: Subject, logs: ls_grpc.LogServiceStub, cluster: testbed.Cluster, stack: contextlib.AsyncExitStack
) -> None:
    """A managed container (its service's log), a task of another service (its task's log) and
    a standalone container of a worker's engine (that engine's log)."""
    await subject.register()
    managed = await make(subject, "managed", counting("m", 5), target_node=subject.node)
    worker = cluster.nodes[1]
    async with engine(cluster.manager) as docker:
        service = f"zp-foreign-{subject.run}"
        await docker.services.create(
            {
                "ContainerSpec": {
                    "Image": conformance.BUSYBOX,
                    "Command": counting("s", 5),
                    "Labels": subject.labels,
                }
            },
            name=service,
        )
        stack.push_async_callback(_quietly, cluster.manager, lambda d: d.services.delete(service))
    async with engine(worker) as docker:
        config = {"Image": conformance.BUSYBOX, "Cmd": counting("e", 5), "Labels": subject.labels}
        standalone = await docker.containers.run(config, name=f"zp-standalone-{subject.run}")
        stack.push_async_callback(
            _quietly, worker, lambda d: d.containers.container(standalone.id).delete(force=True)
        )
    everything = await written(logs, subject.name, 15, filter=subject.label_filter)
    by_prefix = {e.line[0]: e.container for e in entries(everything)}
    assert by_prefix["m"] == managed and by_prefix["e"] == f"{subject.name}/containers/{standalone.id}"
    task = by_prefix["s"].rsplit("/", 1)[1]
    assert len(task) == 64, "a task of another service is known by its engine id"
    for prefix, container in by_prefix.items():
        got = await read_all(logs, parent=container)
        assert lines(got) == [f"{prefix}-{i}" for i in range(5)]
        assert entries(got)[0].node.startswith(f"{subject.name}/nodes/")


async def _quietly(endpoint: str, call: Callable[[aiodocker.Docker], Any]) -> None:
    async with engine(endpoint) as docker:
        with contextlib.suppress(aiodocker.DockerError):
            await call(docker)


@pytest.mark.slow
@pytest.mark.parametrize("subject", ["swarm"], indirect=True)
async def test_the_manager_dies_mid_stream_and_the_token_resumes(
    subject: Subject, logs: ls_grpc.LogServiceStub, server: RunningServer
) -> None:
    """The manager's engine stops while a worker's container writes on: the stream ends with
    UNAVAILABLE and a resume token; once the manager is back, the token gives the rest (what
    the worker wrote meanwhile too): nothing lost, nothing repeated."""
    await subject.register()
    name = await make(subject, "steady", counting("d", None, every=0.1), target_node=subject.node)
    follow = Reader(logs, parent=name, follow=True)
    await follow.until(lambda r: len(entries(r.responses)) >= 10, what="ten lines")
    testbed.script("swarm/engine.sh", "stop", "zpn1")  # the pool's only manager
    try:
        await asyncio.wait_for(follow.ended(), 30)
        assert follow.error is not None and follow.error.code() == Code.UNAVAILABLE, follow.error
        token = error_info(follow.error).metadata["resume_token"]
        assert token
    finally:
        testbed.script("swarm/engine.sh", "start", "zpn1")
    await _all_ready(node_service_pb2_grpc.NodeServiceStub(server.channel), subject.name)
    before = numbers(follow.responses, "d")
    assert before == list(range(len(before)))
    # The worker rejoins the restarted manager's log broker a moment later: until then a
    # read may come back short; it must then give what the worker wrote meanwhile.
    end, rest = time.monotonic() + 60, []
    while time.monotonic() < end:
        with contextlib.suppress(grpc.aio.AioRpcError):
            rest = numbers(await read_all(logs, parent=name, resume_token=token), "d")
            if len(rest) > 20:
                break
        await asyncio.sleep(1)
    assert before + rest == list(range(len(before) + len(rest))), "nothing lost, nothing repeated"


@pytest.mark.slow
@pytest.mark.parametrize("subject", ["kubernetes"], indirect=True)
async def test_the_apiserver_dies_mid_stream_and_the_token_resumes(
    subject: Subject, logs: ls_grpc.LogServiceStub
) -> None:
    """The API server stops while a container writes on: the stream ends with UNAVAILABLE
    and a resume token; once the API server is back, the token gives the rest (what the
    container wrote meanwhile too): nothing lost, nothing repeated."""
    await subject.register()
    name = await make(subject, "steady", counting("k", None, every=0.1))
    follow = Reader(logs, parent=name, follow=True, max_batch_lines=100)
    await follow.until(lambda r: len(entries(r.responses)) >= 10, what="ten lines")
    testbed.script("k8s/apiserver.sh", "stop")
    try:
        await asyncio.wait_for(follow.ended(), 30)
        assert follow.error is not None and follow.error.code() == Code.UNAVAILABLE, follow.error
        token = error_info(follow.error).metadata["resume_token"]
        assert token
        await asyncio.sleep(2)  # the container writes on meanwhile
    finally:
        testbed.script("k8s/apiserver.sh", "start")
    before = numbers(follow.responses, "k")
    assert before == list(range(len(before)))
    end, rest = time.monotonic() + 60, []
    while time.monotonic() < end:  # the API server takes a moment to serve pods again
        with contextlib.suppress(grpc.aio.AioRpcError):
            rest = numbers(await read_all(logs, parent=name, resume_token=token), "k")
            if len(rest) > 20:
                break
        await asyncio.sleep(1)
    assert len(rest) > 20, "what was written while the API server was away"
    assert before + rest == list(range(len(before) + len(rest))), "nothing lost, nothing repeated"


# --- what no driver changes (the single-node swarm, standalone containers) ------------------------


@pytest.fixture
async def single(swarm_unix: str, stack: contextlib.AsyncExitStack) -> Callable[..., Any]:
    """Runs a standalone container on the single-node swarm's engine (removed at the end);
    returns its engine id."""

    async def run(command: list[str], **config: Any) -> str:
        async with engine(swarm_unix) as docker:
            made = await docker.containers.run(
                {"Image": conformance.BUSYBOX, "Cmd": command, **config},
                name=f"zp-logs-{uuid.uuid4().hex[:8]}",
            )
        stack.push_async_callback(
            _quietly, swarm_unix, lambda d: d.containers.container(made.id).delete(force=True)
        )
        return str(made.id)

    return run


async def register_single(server: RunningServer, swarm_unix: str) -> str:
    await server.pools.RegisterPool(
        ps.RegisterPoolRequest(pool_id="one", pool=swarm_pool(swarm_unix)), timeout=30
    )
    return "pools/one"


async def test_logs_over_tcp_and_tls_endpoints(
    server: RunningServer, tb: testbed.Testbed, single: Callable[..., Any]
) -> None:
    """Logs are read over HTTP/1.0 (no chunked framing): over TCP and TLS as over a socket."""
    cid = await single(["sh", "-c", f"for i in 1 2 3; do echo net-$i; done; {IDLE}"])
    pki = Path(tb.require("ZANEPOOL_TB_DOCKER_PKI"))
    tls = pb.Credentials(
        ca_pem=(pki / "ca.pem").read_text(),
        cert_pem=(pki / "cert.pem").read_text(),
        key_pem=(pki / "key.pem").read_text(),
    )
    stub = ls_grpc.LogServiceStub(server.channel)
    parent = f"pools/net/containers/{cid}"
    pool = pb.Pool(driver=pb.DRIVER_SWARM, endpoint=tb.require("ZANEPOOL_TB_DOCKER_TCP"))
    await server.pools.RegisterPool(ps.RegisterPoolRequest(pool_id="net", pool=pool), timeout=30)
    assert lines(await written(stub, parent, 3, max_batch_lines=10)) == ["net-1", "net-2", "net-3"]
    # One engine is one pool: the same pool, moved to the engine's TLS endpoint.
    moved = pb.Pool(name="pools/net", endpoint=tb.require("ZANEPOOL_TB_DOCKER_TLS"), credentials=tls)
    paths = field_mask_pb2.FieldMask(paths=["endpoint", "credentials"])
    update = ps.UpdatePoolRequest(pool=moved, update_mask=paths)
    await server.pools.UpdatePool(update, timeout=30)
    assert lines(await written(stub, parent, 3, max_batch_lines=10)) == ["net-1", "net-2", "net-3"]


async def test_server_shutdown_ends_streams_with_a_resume_token(
    mongo_uri: str, database: str, swarm_unix: str, single: Callable[..., Any]
) -> None:
    async with start_server(mongodb_uri=mongo_uri, database=database) as own:
        pool = await register_single(own, swarm_unix)
        cid = await single(counting("s", None, every=0.1))
        follow = Reader(ls_grpc.LogServiceStub(own.channel), parent=f"{pool}/containers/{cid}", follow=True)
        await follow.until(lambda r: len(entries(r.responses)) >= 3, what="three lines")
        await own.server.stop()
        await follow.ended(10)
    assert follow.error is not None and follow.error.code() == Code.UNAVAILABLE, follow.error
    info = error_info(follow.error)
    assert info.reason == "SERVER_SHUTTING_DOWN" and info.metadata["resume_token"]


async def test_an_idle_stream_gets_heartbeats(
    mongo_uri: str, database: str, swarm_unix: str, single: Callable[..., Any]
) -> None:
    async with start_server(mongodb_uri=mongo_uri, database=database, stream_heartbeat=0.3) as own:
        pool = await register_single(own, swarm_unix)
        cid = await single(counting("h", 1))
        follow = Reader(ls_grpc.LogServiceStub(own.channel), parent=f"{pool}/containers/{cid}", follow=True)
        try:
            await follow.until(lambda r: sum(x.HasField("heartbeat") for x in r.responses) >= 3, within=5)
        finally:
            await follow.cancel()
    got = follow.responses
    assert lines(got) == ["h-0"] and got[0].HasField("entry")
    beats = [r for r in got if r.HasField("heartbeat")]
    assert all(b.cursor == got[0].cursor for b in beats), "nothing new: the same position"
    assert all(b.heartbeat.time.seconds > 0 for b in beats)


BAD = [
    ({"parent": "pools/one", "tail_lines": -1}, Code.INVALID_ARGUMENT, "INVALID_TAIL_LINES", "tail_lines"),
    (
        {"parent": "pools/one", "max_batch_lines": -1},
        Code.INVALID_ARGUMENT,
        "INVALID_MAX_BATCH_LINES",
        "max_batch_lines",
    ),
    (
        {"parent": "pools/one", "max_batch_lines": 10_001},
        Code.INVALID_ARGUMENT,
        "INVALID_MAX_BATCH_LINES",
        "max_batch_lines",
    ),
    ({"parent": "one"}, Code.INVALID_ARGUMENT, "INVALID_NAME", "parent"),
    ({"parent": "pools/one/nodes/x"}, Code.INVALID_ARGUMENT, "INVALID_NAME", "parent"),
    ({"parent": "pools/-"}, Code.INVALID_ARGUMENT, "WILDCARD_NOT_ALLOWED", "parent"),
    ({"parent": "pools/zzz"}, Code.NOT_FOUND, "POOL_NOT_FOUND", ""),
    ({"parent": "pools/one/containers/zp-nosuch"}, Code.NOT_FOUND, "CONTAINER_NOT_FOUND", ""),
    ({"parent": "pools/one/containers/" + "0" * 64}, Code.NOT_FOUND, "CONTAINER_NOT_FOUND", ""),
    (
        {"parent": "pools/one", "resume_token": "garbage!"},
        Code.INVALID_ARGUMENT,
        "INVALID_RESUME_TOKEN",
        "resume_token",
    ),
    (
        {"parent": "pools/one", "resume_token": "e30"},
        Code.INVALID_ARGUMENT,
        "INVALID_RESUME_TOKEN",
        "resume_token",
    ),
    (
        {"parent": "pools/one", "filter": "colour = red"},
        Code.INVALID_ARGUMENT,
        "UNSUPPORTED_FILTER_FIELD",
        "",
    ),
]


@pytest.mark.parametrize(("request_", "code", "reason", "field"), BAD)
async def test_bad_requests_are_refused(
    server: RunningServer,
    swarm_unix: str,
    request_: dict[str, Any],
    code: grpc.StatusCode,
    reason: str,
    field: str,
) -> None:
    await register_single(server, swarm_unix)
    await refused(read_all(ls_grpc.LogServiceStub(server.channel), **request_), code, reason, field)


async def test_a_kubernetes_container_not_started_yet_has_an_empty_log(
    server: RunningServer, k8s_pool: str, k8s_namespace: str, k8s_admin: KubernetesDriver
) -> None:
    """A pod that cannot be scheduled: its container is listed, its log is empty (not an error)."""
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nowhere"},
        "spec": {
            "nodeSelector": {"zanepool.io/nowhere": "1"},
            "containers": [{"name": "c", "image": conformance.BUSYBOX, "imagePullPolicy": "Never"}],
        },
    }
    await k8s_admin.kube.request("POST", f"/api/v1/namespaces/{k8s_namespace}/pods", body=body)
    logs = ls_grpc.LogServiceStub(server.channel)
    assert await read_all(logs, parent=f"{k8s_pool}/containers/{k8s_namespace}_nowhere_c") == []
    assert await read_all(logs, parent=k8s_pool, filter=f'namespace = "{k8s_namespace}"') == []
