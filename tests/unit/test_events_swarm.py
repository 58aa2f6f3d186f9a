"""Swarm events: Engine API event documents -> ClusterEvent (resource names, ranks, failures)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from zanepool_server.drivers.swarm import events
from zanepool_server.drivers.swarm.engine import Engine
from zanepool_server.errors import ClusterUnavailable, NotFound
from zanepool_server.model import ClusterEvent, Credentials

NODE = "mbi9s1jpbnc6amldiealdgz56"
HEX = "8006bd6119fcd438157a61668011dc3125e571a4cd2122fc6e96bf229c8dc0c3"
MANAGED = {"ID": "svc1", "Spec": {"Name": "web", "Labels": {"io.zanepool.container": "true"}}}
OTHER = {"ID": "svc2", "Spec": {"Name": "db", "Labels": {}}}


class FakeManager:
    """Answers ``services/{id}`` for the services it knows; counts the lookups."""

    def __init__(self, services: dict[str, dict[str, Any]]) -> None:
        self.services = services
        self.asked: list[str] = []

    async def get(self, path: str) -> dict[str, Any]:
        self.asked.append(path)
        service_id = path.removeprefix("services/")
        if service_id not in self.services:
            raise NotFound("no such service")
        return self.services[service_id]


def doc(
    kind: str, action: str, actor_id: str, ts: int = 1_000_000_000_123, **attributes: str
) -> dict[str, Any]:
    return {
        "Type": kind,
        "Action": action,
        "Actor": {"ID": actor_id, "Attributes": attributes},
        "scope": "local",
        "time": ts // 10**9,
        "timeNano": ts,
    }


async def normalised(
    raw: dict[str, Any], manager: FakeManager | None = None, node: str = NODE
) -> ClusterEvent:
    fake = manager or FakeManager({})
    names = events._Services(fake, [MANAGED, OTHER])  # type: ignore[arg-type]
    return await events._event(raw, node, names)


@pytest.mark.parametrize(
    ("raw", "resource"),
    [
        (doc("container", "start", HEX), f"containers/{HEX}"),
        (doc("container", "start", HEX, **{"com.docker.swarm.service.id": "svc1"}), "containers/web"),
        (doc("container", "die", HEX, **{"com.docker.swarm.service.id": "svc2"}), f"containers/{HEX}"),
        (doc("container", "start", "not-an-engine-id"), "not-an-engine-id"),
        (doc("service", "update", "svc1", name="web"), "containers/web"),
        (doc("service", "create", "svc2", name="db"), "svc2"),
        (doc("node", "update", NODE, name="zpn1"), f"nodes/{NODE}"),
        (doc("network", "create", "netid", name="backend", type="overlay"), "networks/backend"),
        (doc("network", "connect", "netid", name="bridge", type="bridge"), f"networks/{NODE}.bridge"),
        (doc("network", "create", "netid", name="we ird", type="overlay"), "networks/netid"),
        (doc("network", "create", "netid", name="a.b", type="overlay"), "networks/netid"),
        (doc("image", "delete", f"sha256:{'a' * 64}"), f"images/{NODE}.{'a' * 64}"),
        (doc("image", "pull", "alpine:3"), "alpine:3"),
        (doc("image", "pull", "images/tool:1"), "docker.io/images/tool:1"),
        (doc("volume", "create", "data.1", driver="local"), f"volumes/{NODE}.data.1"),
        (doc("secret", "create", "secretid", name="pw"), "secretid"),
    ],
)
async def test_resources_are_our_names_else_the_engines_id(raw: dict[str, Any], resource: str) -> None:
    event = await normalised(raw)
    assert event.resource == resource
    assert (event.kind, event.action) == (raw["Type"], raw["Action"])
    assert event.attributes == raw["Actor"]["Attributes"]
    assert event.ts_ns == raw["timeNano"]


async def test_node_local_objects_of_an_engine_without_a_node_id_keep_the_engines_id() -> None:
    assert (await normalised(doc("volume", "create", "data"), node="")).resource == "data"
    assert (
        await normalised(doc("network", "create", "nid", name="br", type="bridge"), node="")
    ).resource == "nid"


async def test_an_unknown_service_is_looked_up_once() -> None:
    manager = FakeManager(
        {"svc3": {"ID": "svc3", "Spec": {"Name": "api", "Labels": {"io.zanepool.container": "true"}}}}
    )
    names = events._Services(manager, [])  # type: ignore[arg-type]
    raw = doc("container", "start", HEX, **{"com.docker.swarm.service.id": "svc3"})
    assert (await events._event(raw, NODE, names)).resource == "containers/api"
    assert (await events._event(raw, NODE, names)).resource == "containers/api"
    assert manager.asked == ["services/svc3"]
    gone = doc("container", "die", HEX, **{"com.docker.swarm.service.id": "svc9"})
    assert (await events._event(gone, NODE, names)).resource == f"containers/{HEX}"


async def test_a_time_without_nanoseconds_is_the_seconds() -> None:
    raw = doc("container", "start", HEX)
    del raw["timeNano"]
    assert (await normalised(raw)).ts_ns == raw["time"] * 10**9


def test_events_of_the_same_nanosecond_are_ranked() -> None:
    ranks = events._Ranks()
    one = ClusterEvent("container", "start", "x", 5)
    assert events._ranked(one, ranks).index == 0
    assert events._ranked(one, ranks).index == 1
    assert events._ranked(ClusterEvent("container", "start", "x", 6), ranks).index == 0
    for ts in range(10, 10 + events._Ranks.KEEP * 2):
        ranks.next(ts)
    assert len(ranks._seen) <= events._Ranks.KEEP


class FakeContent:
    def __init__(self, lines: list[bytes], failure: BaseException | None = None) -> None:
        self.lines, self.failure = lines, failure

    async def readline(self) -> bytes:
        if self.lines:
            return self.lines.pop(0)
        if self.failure is not None:
            raise self.failure
        return b""


class FakeResponse:
    def __init__(self, content: FakeContent) -> None:
        self.content = content


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (None, "EVENT_STREAM_ENDED"),
        (aiohttp.ClientPayloadError("Response payload is not completed"), "CLUSTER_UNREACHABLE"),
        (aiohttp.ServerDisconnectedError(), "CLUSTER_UNREACHABLE"),
    ],
)
async def test_an_engine_that_ends_or_breaks_its_stream_fails_the_watch(
    failure: BaseException | None, reason: str
) -> None:
    engine = Engine("unix:///nowhere.sock", Credentials())
    try:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        lines = [b'{"Type":"node","Action":"update","Actor":{"ID":"n"},"timeNano":1}\n', b"\n"]
        response = FakeResponse(FakeContent(lines, failure))
        await events._pump(engine, NODE, response, queue)  # type: ignore[arg-type]
        first, last = queue.get_nowait(), queue.get_nowait()
        assert first[0] == NODE and first[1]["Type"] == "node"
        assert isinstance(last, ClusterUnavailable) and last.reason == reason
        assert last.metadata["endpoint"] == "unix:///nowhere.sock"
        assert queue.empty()
    finally:
        await engine.aclose()
