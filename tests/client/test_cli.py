"""The ``zanepool`` command: golden tables, JSON and YAML from a real server, one-line errors
with their exit codes, streams and Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

import grpc
import pytest

from tests.client.cli_support import Normaliser, argv_id, check_golden, cli
from tests.client.fakes import Fake
from tests.support.servers import RunningServer
from zanepool.v1 import container_service_pb2 as cs
from zanepool.v1 import event_service_pb2 as es
from zanepool.v1 import log_service_pb2 as ls
from zanepool.v1 import node_service_pb2 as ns
from zanepool.v1 import resources_pb2 as pb
from zanepool_client import ZanePoolClient
from zanepool_client.cli.app import exit_code


@pytest.fixture
async def normaliser(server: RunningServer, bed_pool: str, swarm_unix: str) -> Normaliser:
    """Placeholders for what the test bed's engine says about itself."""
    async with ZanePoolClient(server.channel) as client:
        full = await client.get_pool(name=bed_pool, view=pb.POOL_VIEW_FULL)
    names = {swarm_unix: "<docker>", full.cluster_id: "<cluster-id>", full.info.server_version: "<version>"}
    for node in full.nodes:
        names |= {node.name.rsplit("/", 1)[1]: "<node-id>", node.hostname: "<hostname>"}
        names |= {node.address: "<address>", node.engine_version: "<version>"}
    return Normaliser(names)


GOLDEN_CALLS = [
    ("pools", "list"),
    ("pools", "list", "-o", "wide"),
    ("pools", "list", "-o", "json"),
    ("pools", "get", "bed", "-o", "yaml"),
    ("pools", "get", "pools/bed", "--full", "-o", "json"),
    ("nodes", "list", "bed"),
    ("nodes", "list", "-o", "json"),
]


@pytest.mark.parametrize("argv", GOLDEN_CALLS, ids=argv_id)
async def test_golden_output(server: RunningServer, normaliser: Normaliser, argv: tuple[str, ...]) -> None:
    result = await cli(server.address, *argv)
    assert (result.code, result.err) == (0, "")
    fmt = argv[argv.index("-o") + 1] if "-o" in argv else "table"
    normalise = {"json": normaliser.json, "yaml": normaliser.yaml}.get(fmt, normaliser.table)
    extension = fmt if fmt in ("json", "yaml") else "txt"
    check_golden(f"{argv_id(argv)}.{extension}", normalise(result.out))


async def test_tables_align_columns(server: RunningServer, bed_pool: str) -> None:
    result = await cli(server.address, "nodes", "list", "-o", "wide")
    header, row = result.out.splitlines()
    for column in ("HOSTNAME", "ROLE", "STATE", "ENGINE", "LABELS"):
        start = header.index(column)
        assert row[start - 2 : start] == "  " and row[start] != " ", (column, header, row)
    assert row.endswith("-"), "an empty cell shows as -"


async def test_update_and_delete(server: RunningServer, bed_pool: str) -> None:
    updated = await cli(
        server.address, "pools", "update", "bed", "--label", "team=core", "--remove-label", "env"
    )
    assert updated.code == 0 and "team=core" in updated.out and "env=test" not in updated.out, updated
    deleted = await cli(server.address, "-o", "json", "pools", "delete", "bed")
    assert json.loads(deleted.out) == {"deleted": True, "name": "pools/bed"}
    gone = await cli(server.address, "pools", "delete", "bed")
    assert (gone.code, gone.out) == (15, "")
    assert gone.err == "error: NOT_FOUND (POOL_NOT_FOUND): pools/bed does not exist\n"


async def test_errors_are_one_line_with_the_code_as_exit_status(server: RunningServer, bed_pool: str) -> None:
    missing = await cli(server.address, "pools", "get", "nope")
    assert (missing.code, missing.out) == (exit_code(grpc.StatusCode.NOT_FOUND), "")
    assert missing.err == "error: NOT_FOUND (POOL_NOT_FOUND): pools/nope does not exist\n"
    bad = await cli(server.address, "pools", "register", "Not_An_Id", "--endpoint", "unix:///x.sock")
    assert bad.code == 13 and bad.err.startswith("error: INVALID_ARGUMENT (INVALID_POOL_ID): pool_id: ")
    assert bad.err.count("\n") == 1
    down = await cli("127.0.0.1:1", "--timeout", "2", "pools", "list")
    assert down.code == 24 and down.err.startswith("error: UNAVAILABLE: "), down


async def test_usage_errors_exit_2(server: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        await cli(server.address, "nodes", "get", "not-a-node-name")
    assert usage.value.code == 2
    nothing = await cli(server.address, "pools", "update", "bed")
    assert nothing.code == 2 and "nothing to update" in nothing.err


async def test_help_documents_exit_codes() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "zanepool_client.cli", "--help", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    text = out.decode()
    assert proc.returncode == 0
    for line in ("15    NOT_FOUND", "22    UNIMPLEMENTED", "24    UNAVAILABLE", "130   interrupted (Ctrl-C)"):
        assert line in text


async def test_unimplemented_streams_exit_22(fake: Fake) -> None:
    result = await cli(fake.address, "events", "-f", "pools/-")
    assert result.code == 22
    assert (
        result.err
        == "error: UNIMPLEMENTED (NOT_IMPLEMENTED_YET): EventService.WatchEvents is not implemented yet\n"
    )


def entry(container: str, line: str, cursor: str) -> ls.StreamLogsResponse:
    return ls.StreamLogsResponse(
        entry=ls.LogEntry(container=f"pools/p/containers/{container}", line=line), cursor=cursor
    )


async def test_logs_and_events_print_lines(fake: Fake) -> None:
    async def logs(request: Any, context: Any) -> Any:
        yield entry("web", "hello", "1")
        yield ls.StreamLogsResponse(heartbeat=pb.Heartbeat(), cursor="2")
        yield ls.StreamLogsResponse(
            source_change=ls.LogSourceChange(
                container="pools/p/containers/web", change=ls.LogSourceChange.CHANGE_LEFT, message="exit 0"
            ),
            cursor="3",
        )
        yield ls.StreamLogsResponse(gap=ls.LogGap(dropped_lines=4), cursor="4")

    async def events(request: Any, context: Any) -> Any:
        event = es.Event(pool="pools/p", kind="pool", action="registered", resource="pools/p")
        event.time.FromSeconds(1_767_225_600)
        yield es.WatchEventsResponse(event=event, cursor="1")
        yield es.WatchEventsResponse(heartbeat=pb.Heartbeat(), cursor="2")
        raise AssertionError("without -f the command stops at the first heartbeat")

    fake.scripts |= {"StreamLogs": logs, "WatchEvents": events}
    text = await cli(fake.address, "logs", "p", "--tail", "5")
    assert text.out == (
        "web | hello\n--- pools/p/containers/web left: exit 0\n--- 4 lines dropped (too slow)\n"
    ), text
    request = fake.requests("StreamLogs")[0]
    assert (request.parent, request.tail_lines, request.follow) == ("pools/p", 5, False)
    one = await cli(fake.address, "logs", "p/web", "-o", "json")
    assert [json.loads(line)["cursor"] for line in one.out.splitlines()] == ["1", "2", "3", "4"]
    assert fake.requests("StreamLogs")[1].parent == "pools/p/containers/web"
    shown = await cli(fake.address, "events", "p")
    assert (shown.code, shown.out) == (0, "2026-01-01T00:00:00Z pools/p pool registered pools/p\n")


async def test_ctrl_c_ends_a_follow_cleanly(fake: Fake) -> None:
    async def forever(request: Any, context: Any) -> Any:
        yield entry("web", "first", "1")
        while True:
            await asyncio.sleep(0.05)
            yield ls.StreamLogsResponse(heartbeat=pb.Heartbeat(), cursor="")

    fake.scripts["StreamLogs"] = forever
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zanepool_client.cli",
        "--server",
        fake.address,
        "logs",
        "-f",
        "p",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"web | first\n"
    proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 130
    assert b"Traceback" not in err and err.strip() == b"", err


async def test_requests_built_from_flags(fake: Fake) -> None:
    async def made(request: Any, context: Any) -> cs.CreateContainerResponse:
        name = f"{request.parent}/containers/{request.container_id}"
        return cs.CreateContainerResponse(container=pb.Container(name=name, image=request.container.image))

    async def updated(request: Any, context: Any) -> ns.UpdateNodeResponse:
        return ns.UpdateNodeResponse(node=request.node)

    fake.scripts |= {"CreateContainer": made, "UpdateNode": updated}
    argv = [
        "containers",
        "create",
        "p",
        "--image",
        "busybox",
        "--name",
        "c1",
        "--env",
        "A=1",
        "-p",
        "8080:80/tcp",
    ]
    result = await cli(fake.address, *argv, "--", "sh", "-c", "echo hi")
    assert result.code == 0 and result.out.splitlines()[1].startswith("pools/p/containers/c1  busybox"), (
        result
    )
    (create,) = fake.requests("CreateContainer")
    assert (create.parent, create.container_id, dict(create.container.env)) == ("pools/p", "c1", {"A": "1"})
    assert list(create.container.command) == ["sh", "-c", "echo hi"]
    assert list(create.container.ports) == [pb.PortMapping(container_port=80, host_port=8080, protocol="tcp")]

    node = await cli(fake.address, "nodes", "update", "p/n1", "--availability", "drain", "--label", "zone=a")
    assert node.code == 0, node
    (update,) = fake.requests("UpdateNode")
    assert update.node.name == "pools/p/nodes/n1" and update.node.availability == pb.Node.AVAILABILITY_DRAIN
    assert list(update.update_mask.paths) == ["labels.zone", "availability"]
