"""The facade: one method per RPC on both clients, each sending exactly the request its
arguments describe, and every failure surfacing as the ZanePoolRpcError of its code."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor, field_mask_pb2, message_factory, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor

from tests.client.fakes import Fake
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb
from zanepool_client import (
    UnimplementedError,
    ZanePoolClient,
    ZanePoolRpcError,
    ZanePoolSyncClient,
    _codegen,
)
from zanepool_client._api import Api
from zanepool_client.methods import Kind, Method, build, snake

METHODS = {name: m for name, m in vars(Api).items() if isinstance(m, Method)}
RPCS = [(svc, m) for svc in _codegen.services() for m in svc.methods]


@pytest.mark.parametrize("rpc", [m for _, m in RPCS], ids=lambda m: m.full_name)
def test_every_rpc_has_a_method_on_both_clients(rpc: descriptor.MethodDescriptor) -> None:
    name = snake(rpc.name)
    for client in (ZanePoolClient, ZanePoolSyncClient):
        assert isinstance(getattr(client, name), Method), (client, name)
    method = METHODS[name]
    assert method.rpc.path == f"/{rpc.containing_service.full_name}/{rpc.name}"
    assert method.rpc.request_type.DESCRIPTOR.full_name == rpc.input_type.full_name
    assert method.rpc.response_type.DESCRIPTOR.full_name == rpc.output_type.full_name
    if rpc.name.startswith("List"):
        assert method.kind is Kind.PAGED and METHODS[f"{name}_page"].kind is Kind.UNARY
    assert (method.kind is Kind.STREAM) == rpc.server_streaming


def test_generated_facade_is_fresh() -> None:
    assert _codegen.main(["--check"]) == 0, "run python -m zanepool_client._codegen (make gen-protos)"


def test_idempotent_rpcs_are_exactly_get_list_refresh() -> None:
    retried = sorted(m.rpc.name for m in METHODS.values() if m.rpc.idempotent and m.kind is not Kind.STREAM)
    assert all(n.startswith(("Get", "List", "Refresh")) for n in retried)
    assert {"RegisterPool", "CreatePool", "DeletePool", "UpdatePool", "ImportNode", "RemoveNode"}.isdisjoint(
        retried
    )
    assert "RefreshPool" in retried and "GetPool" in retried and "ListContainers" in retried


def test_build_takes_a_message_or_keywords_never_both() -> None:
    request = ps.GetPoolRequest(name="pools/a")
    assert build(ps.GetPoolRequest, request, {"timeout": 3}) is request
    assert build(ps.GetPoolRequest, None, {"name": "pools/a", "view": None}) == request
    with pytest.raises(TypeError, match="not both"):
        build(ps.GetPoolRequest, request, {"name": "pools/b"})
    with pytest.raises(TypeError, match="expected a GetPoolRequest"):
        build(ps.GetPoolRequest, ps.DeletePoolRequest(), {})
    with pytest.raises(TypeError, match="no field nme"):
        build(ps.GetPoolRequest, None, {"nme": "x"})


def test_build_converts_masks_and_times() -> None:
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    update = build(ps.UpdatePoolRequest, None, {"pool": pb.Pool(name="pools/a"), "update_mask": ["labels"]})
    assert update.update_mask == field_mask_pb2.FieldMask(paths=["labels"])
    from zanepool.v1 import log_service_pb2

    logs = build(log_service_pb2.StreamLogsRequest, None, {"since_time": when})
    assert logs.since_time.ToDatetime(datetime.UTC) == when


def sample(field: FieldDescriptor) -> tuple[Any, Any]:
    """A value for a request field as a caller passes it, and as the request holds it."""
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        return {"k": "v"}, {"k": "v"}
    if field.message_type is not None:
        if field.message_type.full_name == "google.protobuf.FieldMask":
            return ["labels"], field_mask_pb2.FieldMask(paths=["labels"])
        if field.message_type.full_name == "google.protobuf.Timestamp":
            stamp = timestamp_pb2.Timestamp(seconds=1_767_225_600)
            return stamp.ToDatetime(datetime.UTC), stamp
        value = message_factory.GetMessageClass(field.message_type)()
        return ([value], [value]) if field.is_repeated else (value, value)
    scalar = {
        FieldDescriptor.TYPE_STRING: f"pools/p/{field.name}",
        FieldDescriptor.TYPE_BOOL: True,
        FieldDescriptor.TYPE_ENUM: 1,
        FieldDescriptor.TYPE_DOUBLE: 1.5,
    }.get(field.type, 7)
    return ([scalar], [scalar]) if field.is_repeated else (scalar, scalar)


def call_plan(name: str) -> tuple[Method[Any, Any, Any], dict[str, Any], Any]:
    method = METHODS[name]
    request_type = method.rpc.request_type
    pairs = {f.name: sample(f) for f in request_type.DESCRIPTOR.fields}
    expected = request_type(**{k: held for k, (_, held) in pairs.items()})
    return method, {k: given for k, (given, _) in pairs.items()}, expected


def check_refusal(fake: Fake, method: Method[Any, Any, Any], expected: Any, caught: ZanePoolRpcError) -> None:
    assert isinstance(caught, UnimplementedError)
    assert caught.code == grpc.StatusCode.UNIMPLEMENTED
    assert caught.reason == "NOT_IMPLEMENTED_YET" and caught.domain == "zanepool.v1"
    assert caught.metadata == {"rpc": method.rpc.path.lstrip("/")}
    assert str(caught).startswith("UNIMPLEMENTED (NOT_IMPLEMENTED_YET): ")
    assert [(c.method, c.request) for c in fake.calls] == [(method.rpc.name, expected)]


async def drain(result: Any) -> None:
    """Await a unary call, or read a list or a stream to its end."""
    if hasattr(result, "__aiter__"):
        [item async for item in result]
    else:
        await result


@pytest.mark.parametrize("name", sorted(METHODS))
async def test_async_method_sends_its_request_and_raises_rich_errors(fake: Fake, name: str) -> None:
    method, kwargs, expected = call_plan(name)
    async with await ZanePoolClient.connect(fake.address) as client:
        with pytest.raises(ZanePoolRpcError) as caught:
            await drain(getattr(client, name)(**kwargs))
    check_refusal(fake, method, expected, caught.value)


@pytest.mark.parametrize("name", sorted(METHODS))
async def test_sync_method_sends_its_request_and_raises_rich_errors(fake: Fake, name: str) -> None:
    method, kwargs, expected = call_plan(name)

    def run() -> None:
        with ZanePoolSyncClient.connect(fake.address) as client:
            bound = getattr(client, name)
            if method.kind is Kind.UNARY:
                bound(expected)  # the request message itself this time
            else:
                list(bound(**kwargs))

    with pytest.raises(ZanePoolRpcError) as caught:
        await asyncio.to_thread(run)
    check_refusal(fake, method, expected, caught.value)
