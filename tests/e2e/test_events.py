"""EventService end to end: a real channel, real servers, the real store and real clusters.

Swarm events come from the single-node test engine (containers made on it directly, or
through ContainerService), Kubernetes events from a pod in a namespace of the test's own;
Zane Pool's own events from registrations, updates and the health monitor. Everything a
test makes is removed when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from aiodocker.exceptions import DockerError
from google.protobuf import field_mask_pb2, timestamp_pb2
from pymongo import AsyncMongoClient

from tests.e2e.test_containers import BUSYBOX, LOOP, engine
from tests.e2e.test_health_monitor import eventually
from tests.support import testbed
from tests.support.kubernetes import KubeBed
from tests.support.servers import RunningServer, error_info, start_server, swarm_pool
from zanepool.v1 import container_service_pb2 as cs
from zanepool.v1 import container_service_pb2_grpc as cs_grpc
from zanepool.v1 import event_service_pb2 as es
from zanepool.v1 import event_service_pb2_grpc as es_grpc
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb
from zanepool_server.domain.watch import Watches

CLUSTER, ZANEPOOL = es.Event.SOURCE_CLUSTER, es.Event.SOURCE_ZANEPOOL
Response = es.WatchEventsResponse


class Watch:
    """One WatchEvents call read in the background: its responses, and the error it ended with."""

    def __init__(self, channel: grpc.aio.Channel, **request: Any) -> None:
        self.call = es_grpc.EventServiceStub(channel).WatchEvents(es.WatchEventsRequest(**request))
        self.responses: list[Response] = []
        self.error: grpc.aio.AioRpcError | None = None
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for response in self.call:
                async with self._changed:
                    self.responses.append(response)
                    self._changed.notify_all()
        except grpc.aio.AioRpcError as err:
            self.error = err
        finally:
            async with self._changed:
                self._changed.notify_all()

    @property
    def events(self) -> list[es.Event]:
        return [r.event for r in self.responses if r.HasField("event")]

    @property
    def over(self) -> bool:
        return self._task.done()

    async def until(self, done: Callable[[Watch], object], within: float = 30, what: str = "") -> None:
        """Wait until ``done(self)`` holds; fail after ``within`` seconds (or if the stream ends first)."""

        def ready() -> bool:
            return bool(done(self)) or self.over

        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(ready), within)
        if not done(self):
            seen = [(e.kind, e.action, e.resource) for e in self.events][-20:]
            pytest.fail(f"not within {within}s: {what or done}; error {self.error!r}; last events {seen}")

    async def first(self, match: Callable[[es.Event], bool], within: float = 30) -> es.Event:
        await self.until(lambda w: any(match(e) for e in w.events), within, "a matching event")
        return next(e for e in self.events if match(e))

    async def ended(self, within: float = 30) -> grpc.aio.AioRpcError | None:
        await self.until(lambda w: w.over, within, "the stream ends")
        return self.error

    async def cancel(self) -> None:
        self.call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def watching(channel: grpc.aio.Channel, **request: Any) -> AsyncIterator[Watch]:
    watch = Watch(channel, **request)
    try:
        yield watch
    finally:
        await watch.cancel()


def watches(server: RunningServer) -> Watches:
    assert server.server.watches is not None
    return server.server.watches


async def drain(call: Any) -> tuple[list[int], str, grpc.aio.AioRpcError | None]:
    """Read a stream of numbered events to its end: the numbers, the last cursor, the error."""
    got: list[int] = []
    token = ""
    try:
        async for response in call:
            if response.HasField("event"):
                got.append(int(response.event.attributes["n"]))
            token = response.cursor
    except grpc.aio.AioRpcError as err:
        return got, token, err
    return got, token, None


async def settled(watch: Watch, server: RunningServer, feeds: int = 1, watchers: int = 1) -> None:
    """Wait until ``watchers`` streams watch the store, and ``feeds`` clusters are read."""
    w = watches(server)
    await eventually(
        lambda: watch.over or (w.watching >= watchers and w.clusters.open_count >= feeds),
        within=15,
        what="the stream is set up",
    )
    assert not watch.over, watch.error
    await asyncio.sleep(0.5)  # the feeds' own requests are in


async def register(server: RunningServer, pool_id: str, pool: pb.Pool) -> str:
    await server.pools.RegisterPool(ps.RegisterPoolRequest(pool_id=pool_id, pool=pool), timeout=30)
    return f"pools/{pool_id}"


async def relabel(server: RunningServer, name: str, value: str) -> None:
    await server.pools.UpdatePool(
        ps.UpdatePoolRequest(
            pool=pb.Pool(name=name, labels={"step": value}),
            update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
        )
    )


def timestamp(ns: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=ns // 10**9, nanos=ns % 10**9)


def key(event: es.Event) -> tuple[Any, ...]:
    return (event.source, event.pool, event.kind, event.action, event.resource, event.time.ToNanoseconds())


@pytest.fixture
async def local_pool(server: RunningServer, swarm_unix: str) -> str:
    return await register(server, "local", swarm_pool(swarm_unix))


# --- the cluster's events ----------------------------------------------------------------------


async def test_swarm_container_start_and_stop_show_up(
    server: RunningServer, local_pool: str, swarm_unix: str
) -> None:
    run = uuid.uuid4().hex[:8]
    async with (
        watching(server.channel, parent=local_pool) as everything,
        watching(
            server.channel, parent=local_pool, filter='kind = "container" AND action = "start"'
        ) as starts,
    ):
        await settled(everything, server, watchers=2)
        async with engine(swarm_unix) as docker:
            made = await docker.containers.create(
                {"Image": BUSYBOX, "Cmd": ["sleep", "600"], "Labels": {"zanepool.test": run}},
                name=f"zp-ev-{run}",
            )
            try:
                await made.start()
                await made.stop(t=1)
            finally:
                with contextlib.suppress(DockerError):
                    await made.delete(force=True)
        name = f"{local_pool}/containers/{made.id}"
        mine = [e for e in everything.events if e.resource == name]
        await everything.until(
            lambda w: (
                {"create", "start", "die", "destroy"} <= {e.action for e in w.events if e.resource == name}
            ),
            what="create, start, die and destroy of the container",
        )
        mine = [e for e in everything.events if e.resource == name]
        start = next(e for e in mine if e.action == "start")
        assert start.source == CLUSTER and start.pool == local_pool and start.kind == "container"
        assert start.attributes["name"] == f"zp-ev-{run}" and start.attributes["zanepool.test"] == run
        assert abs(start.time.ToNanoseconds() - time.time_ns()) < 120 * 10**9
        await starts.first(lambda e: e.resource == name)
        assert {(e.kind, e.action) for e in starts.events} == {("container", "start")}
        assert all(r.cursor for r in everything.responses)


async def test_a_worker_engines_events_are_merged_in(
    server: RunningServer, cluster_pool: str, cluster: testbed.Cluster
) -> None:
    worker = cluster.nodes[-1]  # the manager is first
    async with watching(server.channel, parent=cluster_pool, filter='kind = "container"') as watch:
        await settled(watch, server)
        async with engine(worker) as docker:
            made = await docker.containers.create({"Image": BUSYBOX, "Cmd": ["true"]})
            try:
                await made.start()
                await made.wait()
            finally:
                await made.delete(force=True)
        name = f"{cluster_pool}/containers/{made.id}"
        await watch.until(
            lambda w: {"start", "die", "destroy"} <= {e.action for e in w.events if e.resource == name},
            what="the worker's container events",
        )


async def test_swarm_managed_container_is_named_by_its_service(
    server: RunningServer, local_pool: str, swarm_unix: str
) -> None:
    run = uuid.uuid4().hex[:8]
    containers = cs_grpc.ContainerServiceStub(server.channel)
    cid = f"zp-evm-{run}"
    name = f"{local_pool}/containers/{cid}"
    async with watching(server.channel, parent=local_pool, filter=f'resource = "{name}"') as watch:
        await settled(watch, server)
        try:
            spec = pb.Container(
                image=BUSYBOX, command=["sh", "-c"], args=[LOOP], labels={"zanepool.test": run}
            )
            await containers.CreateContainer(
                cs.CreateContainerRequest(parent=local_pool, container_id=cid, container=spec), timeout=60
            )
            await watch.until(
                lambda w: (
                    {("service", "create"), ("container", "start")} <= {(e.kind, e.action) for e in w.events}
                ),
                what="the service's create and its container's start",
            )
            await containers.DeleteContainer(cs.DeleteContainerRequest(name=name, force=True), timeout=60)
            await watch.until(
                lambda w: (
                    {("service", "remove"), ("container", "destroy")}
                    <= {(e.kind, e.action) for e in w.events}
                ),
                what="the service's remove and its container's destroy",
            )
        finally:
            async with engine(swarm_unix) as docker:
                with contextlib.suppress(DockerError):
                    await docker.services.delete(cid)


async def test_kubernetes_pod_shows_up(
    server: RunningServer, k8s: KubeBed, k8s_pool: str, k8s_namespace: str
) -> None:
    containers = cs_grpc.ContainerServiceStub(server.channel)
    container = f"{k8s_pool}/containers/{k8s_namespace}_evpod_evpod"
    async with watching(
        server.channel, parent=k8s_pool, filter=f'attributes.namespace = "{k8s_namespace}"'
    ) as watch:
        await settled(watch, server)
        spec = pb.Container(
            namespace=k8s_namespace, image=BUSYBOX, command=["sleep", "3600"], image_pull_policy="Never"
        )
        await containers.CreateContainer(
            cs.CreateContainerRequest(parent=k8s_pool, container_id="evpod", container=spec), timeout=60
        )
        started = await watch.first(lambda e: e.action == "Started")
        assert started.source == CLUSTER and started.kind == "pod" and started.resource == container
        assert started.attributes["type"] == "Normal" and started.attributes["component"] == "kubelet"
        assert started.attributes["name"] == "evpod" and started.message
        scheduled = await watch.first(lambda e: e.action == "Scheduled")
        assert scheduled.resource != container, "an event of the pod, not of its container"
        await containers.DeleteContainer(cs.DeleteContainerRequest(name=container, force=True), timeout=60)
        killing = await watch.first(lambda e: e.action == "Killing")
        assert killing.resource == container


# --- Zane Pool's own events ------------------------------------------------------------------------


async def test_since_time_replays_stored_events_then_goes_live(
    server: RunningServer, swarm_unix: str
) -> None:
    before = time.time_ns()
    name = await register(server, "replay", swarm_pool(swarm_unix))
    await relabel(server, name, "1")
    async with watching(
        server.channel, parent=name, filter='source = "ZANEPOOL"', since_time=timestamp(before)
    ) as watch:
        await watch.until(lambda w: len(w.events) >= 2, what="the two stored events")
        registered, updated = watch.events[:2]
        assert (registered.source, registered.kind, registered.action) == (ZANEPOOL, "pool", "registered")
        assert registered.pool == name and registered.resource == name
        assert registered.attributes["driver"] == "SWARM" and registered.attributes["endpoint"] == swarm_unix
        assert updated.action == "updated" and updated.attributes["fields"] == "labels"
        assert before <= registered.time.ToNanoseconds() <= updated.time.ToNanoseconds()
        await relabel(server, name, "2")
        await watch.until(lambda w: len(w.events) >= 3, what="the live update")
        assert [e.action for e in watch.events] == ["registered", "updated", "updated"]
    # Without since_time, only what happens from now on.
    await eventually(lambda: watches(server).watching == 0, within=5, what="the first stream is gone")
    async with watching(server.channel, parent=name, filter='source = "ZANEPOOL"') as live:
        await settled(live, server, feeds=0)
        await relabel(server, name, "3")
        await live.until(lambda w: len(w.events) >= 1, what="the live update")
        await asyncio.sleep(0.5)
        assert [e.action for e in live.events] == ["updated"]


async def test_a_second_replica_sees_the_first_ones_registration(
    mongo_uri: str, database: str, swarm_unix: str
) -> None:
    settings = {"mongodb_uri": mongo_uri, "database": database}
    async with (
        start_server(**settings) as first,
        start_server(**settings) as second,
        watching(second.channel, parent="pools/-", filter='source = "ZANEPOOL"') as watch,
    ):
        await settled(watch, second, feeds=0)
        name = await register(first, "elsewhere", swarm_pool(swarm_unix))
        event = await watch.first(lambda e: e.action == "registered")
        assert event.pool == name and event.source == ZANEPOOL


async def test_pools_dash_sees_every_pool_and_pools_registered_later(
    server: RunningServer, swarm_unix: str, k8s: KubeBed
) -> None:
    first = await register(server, "first", swarm_pool(swarm_unix))
    async with watching(server.channel, parent="pools/-") as watch:
        await settled(watch, server, feeds=1)
        later = await register(server, "later", k8s.pool())
        await watch.first(lambda e: e.action == "registered" and e.pool == later)
        w = watches(server)
        await eventually(
            lambda: w.clusters.open_count == 2, within=10, what="the pool registered later joins"
        )
        await server.pools.DeletePool(ps.DeletePoolRequest(name=first))
        await watch.first(lambda e: e.action == "deleted" and e.pool == first)
        await eventually(lambda: w.clusters.open_count == 1, within=10, what="the deleted pool leaves")
        assert watch.error is None


async def test_a_deleted_pool_ends_its_stream(server: RunningServer, swarm_unix: str) -> None:
    name = await register(server, "short", swarm_pool(swarm_unix))
    async with watching(server.channel, parent=name) as watch:
        await settled(watch, server)
        await server.pools.DeletePool(ps.DeletePoolRequest(name=name))
        assert await watch.ended(within=15) is None, "a normal end"
        assert watch.events[-1].action == "deleted"


# --- resume, cancel, shutdown, slow watchers -----------------------------------------------------


async def test_resume_after_cancel_loses_and_repeats_nothing(server: RunningServer, swarm_unix: str) -> None:
    run = uuid.uuid4().hex[:8]
    name = await register(server, "resume", swarm_pool(swarm_unix))
    # This test's own events only (the engine is shared); what the filter drops moves the cursor too.
    mine = f'source = ZANEPOOL OR attributes.zanepool.test = "{run}"'
    whole = Watch(server.channel, parent=name, filter=mine)
    part = Watch(server.channel, parent=name, filter=mine)
    try:
        await settled(part, server, watchers=2)
        async with engine(swarm_unix) as docker:

            async def churn(step: str) -> None:
                await relabel(server, name, step)
                box = await docker.containers.create(
                    {"Image": BUSYBOX, "Cmd": ["true"], "Labels": {"zanepool.test": run}}
                )
                await box.start()
                await box.wait()
                await box.delete(force=True)

            await churn("a")
            await part.until(lambda w: len(w.events) >= 4, what="the first events")
            await part.cancel()
            token = part.responses[-1].cursor
            first = part.events
            await churn("b")  # while no one resumes
            resumed = Watch(server.channel, parent=name, filter=mine, resume_token=token)
            try:
                await settled(resumed, server, watchers=2)
                await churn("c")
                await whole.until(
                    lambda w: sum(e.action == "updated" for e in w.events) == 3, what="3 updates"
                )
                await whole.until(
                    lambda w: sum(e.action == "destroy" for e in w.events) == 3, what="3 destroys"
                )
                await resumed.until(
                    lambda w: (
                        sum(e.action == "destroy" for e in w.events)
                        + sum(e.action == "destroy" for e in first)
                        >= 3
                    ),
                    what="the resumed stream catches up",
                )
                await asyncio.sleep(1)
                expected = sorted(key(e) for e in whole.events)
                got = sorted(key(e) for e in first + resumed.events)
                assert got == expected
            finally:
                await resumed.cancel()
    finally:
        await whole.cancel()
        await part.cancel()


async def test_cancel_closes_the_shared_upstream(server: RunningServer, local_pool: str) -> None:
    w = watches(server)
    assert (w.clusters.open_count, w.stored.open_count) == (0, 0)
    one, two = Watch(server.channel, parent=local_pool), Watch(server.channel, parent="pools/-")
    await settled(two, server, watchers=2)
    assert (w.clusters.open_count, w.stored.open_count) == (1, 1), (
        "one upstream per cluster, one store stream"
    )
    await one.cancel()
    await asyncio.sleep(0.5)
    assert (w.clusters.open_count, w.stored.open_count) == (1, 1), "the other watcher still reads"
    await two.cancel()
    await eventually(
        lambda: (w.clusters.open_count, w.stored.open_count) == (0, 0),
        within=5,
        what="the last one out stops them",
    )


async def test_shutdown_ends_streams_with_a_resume_token(
    mongo_uri: str, database: str, swarm_unix: str
) -> None:
    async with start_server(mongodb_uri=mongo_uri, database=database) as running:
        name = await register(running, "bye", swarm_pool(swarm_unix))
        watch = Watch(running.channel, parent=name)
        await settled(watch, running)
        await running.server.stop()
        error = await watch.ended()
        assert error is not None and error.code() == grpc.StatusCode.UNAVAILABLE
        info = error_info(error)
        assert info.reason == "SERVER_SHUTTING_DOWN" and info.metadata["resume_token"]


async def test_a_slow_watcher_ends_with_resource_exhausted_and_resumes_losing_nothing(
    mongo_uri: str, database: str
) -> None:
    count = 600
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    async with (
        start_server(mongodb_uri=mongo_uri, database=database, stream_buffer=16) as running,
        contextlib.AsyncExitStack() as cleanup,
    ):
        cleanup.push_async_callback(client.close)
        cleanup.push_async_callback(client.drop_database, database)  # 2.4 MB of events
        stub = es_grpc.EventServiceStub(running.channel)
        call = stub.WatchEvents(es.WatchEventsRequest(parent="pools/-"))
        w = watches(running)
        await eventually(lambda: w.watching == 1, within=10, what="the stream is set up")
        # Far more than gRPC's flow-control window holds while no one reads, stored at once
        # (by someone else: a watcher sees every writer's events).
        now = datetime.now(UTC)
        await client[database]["events"].insert_many(
            [
                {
                    "source": "ZANEPOOL",
                    "pool": "pools/bulk",
                    "kind": "pool",
                    "action": "updated",
                    "resource": "pools/bulk",
                    "attributes": {"n": str(n), "pad": "x" * 4000},
                    "time": now,
                    "message": "",
                }
                for n in range(count)
            ]
        )
        got, token, error = await drain(call)
        assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        info = error_info(error)
        assert info.reason == "WATCHER_TOO_SLOW" and info.metadata["resume_token"] == token
        assert got == list(range(len(got))) and len(got) < count
        async with watching(running.channel, parent="pools/-", resume_token=token) as resumed:
            await resumed.until(lambda r: len(r.events) >= count - len(got), what="the rest")
            got += [int(e.attributes["n"]) for e in resumed.events]
        assert got == list(range(count))


# --- a cluster that fails: the health monitor's state changes ---------------------------------------


@contextlib.contextmanager
def engine_stopped() -> Iterator[None]:
    """The single-node engine stopped (its data kept) for the block, started again after it."""
    testbed.script("docker-down.sh", "--keep-data")
    try:
        yield
    finally:
        testbed.script("docker-up.sh")


@pytest.mark.slow
async def test_engine_stop_gives_state_changes_and_each_parent_its_policy(
    mongo_uri: str, database: str, swarm_unix: str
) -> None:
    quick_monitor = {"monitor_interval": 0.5, "monitor_timeout": 2.0}
    async with start_server(mongodb_uri=mongo_uri, database=database, **quick_monitor) as running:
        name = await register(running, "engine", swarm_pool(swarm_unix))
        every = Watch(running.channel, parent="pools/-")
        one = Watch(running.channel, parent=name)
        own = Watch(running.channel, parent=name, filter='source = "ZANEPOOL"')
        try:
            await settled(own, running, watchers=3)
            with engine_stopped():
                error = await one.ended(within=20)
                assert error is not None and error.code() == grpc.StatusCode.UNAVAILABLE
                assert error_info(error).metadata["resume_token"]
                await every.first(lambda e: e.action == "events_interrupted" and e.pool == name, within=20)
                await own.first(lambda e: e.attributes.get("new_state") == "UNREACHABLE", within=20)
            await own.first(lambda e: e.attributes.get("new_state") == "READY", within=40)
            await every.first(lambda e: e.action == "events_resumed", within=40)
            actions = [
                (e.action, e.attributes.get("new_state", "")) for e in every.events if e.source == ZANEPOOL
            ]
            # The stream's own notices and the monitor's state changes race each other: each
            # pair comes in order, each event once.
            assert sorted(actions) == sorted(
                [
                    ("events_interrupted", ""),
                    ("events_resumed", ""),
                    ("state_changed", "UNREACHABLE"),
                    ("state_changed", "READY"),
                ]
            )
            assert actions.index(("events_interrupted", "")) < actions.index(("events_resumed", ""))
            assert actions.index(("state_changed", "UNREACHABLE")) < actions.index(("state_changed", "READY"))
            assert [e.action for e in own.events] == ["state_changed", "state_changed"]
            assert own.error is None and every.error is None
        finally:
            for watch in (every, one, own):
                await watch.cancel()


# --- bad inputs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_fields", "code", "reason"),
    [
        ({"parent": ""}, grpc.StatusCode.INVALID_ARGUMENT, "MISSING_FIELD"),
        ({"parent": "pool/x"}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_NAME"),
        ({"parent": "pools/x/containers/y"}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_NAME"),
        ({"parent": "pools/nope"}, grpc.StatusCode.NOT_FOUND, "POOL_NOT_FOUND"),
        (
            {"parent": "pools/-", "filter": "node = x"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "UNSUPPORTED_FILTER_FIELD",
        ),
        (
            {"parent": "pools/-", "filter": "source = SHIP"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_FILTER_VALUE",
        ),
        (
            {"parent": "pools/-", "filter": "kind < x"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "UNSUPPORTED_FILTER_OPERATOR",
        ),
        ({"parent": "pools/-", "filter": "kind = ("}, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FILTER"),
        (
            {"parent": "pools/-", "resume_token": "garbage!"},
            grpc.StatusCode.INVALID_ARGUMENT,
            "INVALID_RESUME_TOKEN",
        ),
    ],
)
async def test_bad_inputs_are_refused(
    server: RunningServer, request_fields: dict[str, Any], code: grpc.StatusCode, reason: str
) -> None:
    async with watching(server.channel, **request_fields) as watch:
        error = await watch.ended(within=10)
    assert error is not None and error.code() == code, error
    assert error_info(error).reason == reason


async def test_a_token_of_another_stream_is_refused(server: RunningServer, swarm_unix: str) -> None:
    async with watching(server.channel, parent="pools/-", filter='source = "ZANEPOOL"') as watch:
        await settled(watch, server, feeds=0)
        await register(server, "token", swarm_pool(swarm_unix))
        await watch.until(lambda w: bool(w.events), what="the registration")
    token = watch.responses[-1].cursor
    async with watching(server.channel, parent="pools/-", resume_token=token) as other:
        error = await other.ended(within=10)
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error).reason == "RESUME_TOKEN_MISMATCH"
