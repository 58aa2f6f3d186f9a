"""The descriptor set shipped in the package: fresh, and enough for grpcurl without reflection."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from google.protobuf import descriptor_pb2

from tests.client.test_facade import RPCS
from tests.support.servers import RunningServer
from zanepool_client import _codegen, descriptor_set_path

GRPCURL = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "grpcurl"


def test_descriptor_set_matches_the_generated_code() -> None:
    path = descriptor_set_path()
    files = {f.name: f for f in descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()).file}
    assert {"google/protobuf/timestamp.proto", "google/protobuf/field_mask.proto"} <= set(files)
    comments = [loc.leading_comments for f in files.values() for loc in f.source_code_info.location]
    assert any("PoolService manages pools" in c for c in comments), "comments are kept for grpcurl describe"
    for module in _codegen.MODULES:
        generated = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        shipped = files[generated.name]
        shipped.ClearField("source_code_info")
        shipped.DiscardUnknownFields()  # buf's image extension of each file
        assert shipped == generated, f"{generated.name}: run make gen-protos"


async def grpcurl(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        str(GRPCURL), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_grpcurl_with_the_protoset(server: RunningServer, bed_pool: str) -> None:
    protoset = str(descriptor_set_path())
    services = (await grpcurl("-protoset", protoset, "list")).split()
    assert services == sorted({svc.full_name for svc, _ in RPCS})
    described = await grpcurl("-protoset", protoset, "describe", "zanepool.v1.PoolService")
    assert "rpc ListPools ( .zanepool.v1.ListPoolsRequest )" in described
    listed = await grpcurl(
        "-plaintext", "-protoset", protoset, "-d", '{"page_size": 10}', server.address,
        "zanepool.v1.PoolService/ListPools",
    )  # fmt: skip
    assert [p["name"] for p in json.loads(listed)["pools"]] == [bed_pool]
