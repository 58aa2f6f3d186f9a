"""Every bad input gets a precise status: one table, one test body.

Each row is one call to a real in-process server (its own database, the real Swarm and the
real store of the testbed) with one thing wrong. For every row the test checks the code, the
ErrorInfo reason (exactly one ErrorInfo, domain ``zanepool.v1``), the BadRequest field of an
INVALID_ARGUMENT, that the code is never INTERNAL or UNKNOWN, and that the answer comes in
under 5 s. A row marked ``bug`` is a known server bug: strictly xfailed, so fixing the server
turns it into a failure that asks for the mark to go.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import inspect
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.support import testbed
from tests.support.servers import RunningServer, details, error_info, swarm_pool
from zanepool.v1 import (
    container_service_pb2,
    container_service_pb2_grpc,
    event_service_pb2,
    event_service_pb2_grpc,
    image_service_pb2,
    image_service_pb2_grpc,
    log_service_pb2,
    log_service_pb2_grpc,
    network_service_pb2,
    network_service_pb2_grpc,
    node_service_pb2_grpc,
    pool_service_pb2_grpc,
    volume_service_pb2,
    volume_service_pb2_grpc,
)
from zanepool.v1 import node_service_pb2 as ns
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import resources_pb2 as pb
from zanepool_server import app
from zanepool_server.api.status import CallSettings

Code = grpc.StatusCode
DOMAIN = "zanepool.v1"
#: The longest any answer may take (but the deliberate deadline rows).
LIMIT = 5.0
#: A valid endpoint nothing listens on: rows that must fail before any cluster is contacted.
NOWHERE = "unix:///nonexistent/zanepool/docker.sock"
#: The pool the ``pool=True`` rows find registered (from the testbed's unix endpoint).
REG = "reg"

STUBS: dict[str, Callable[[grpc.aio.Channel], Any]] = {
    "PoolService": pool_service_pb2_grpc.PoolServiceStub,
    "NodeService": node_service_pb2_grpc.NodeServiceStub,
    "ContainerService": container_service_pb2_grpc.ContainerServiceStub,
    "ImageService": image_service_pb2_grpc.ImageServiceStub,
    "VolumeService": volume_service_pb2_grpc.VolumeServiceStub,
    "NetworkService": network_service_pb2_grpc.NetworkServiceStub,
    "LogService": log_service_pb2_grpc.LogServiceStub,
    "EventService": event_service_pb2_grpc.EventServiceStub,
}

Request = Message | Callable[["Bed"], Message | Awaitable[Message]]


@dataclass(frozen=True)
class Row:
    id: str
    rpc: str  # "Service/Method" of zanepool.v1
    request: Request
    code: grpc.StatusCode
    reason: str | None  # None only where the client's own deadline answers (no server status)
    field: str | None = None  # the BadRequest field an INVALID_ARGUMENT must name
    pool: bool = False  # register pools/reg first
    deadline: float = 10.0  # the client's deadline
    limit: float = LIMIT  # the answer must come sooner than this
    server_budget: float | None = None  # the server's --default-timeout for this row
    latency: float = 0.0  # delay of each client-to-server packet (a network between them)
    bug: str | None = None  # a known server bug: strict xfail with this reason


# --- the helpers rows build their requests with -----------------------------------------------


@dataclass
class Bed:
    """What a row may need: the server, the testbed, a registered pool, odd listeners."""

    server: RunningServer
    tb: testbed.Testbed
    certs: Path
    _pool: pb.Pool | None = None
    _listeners: list[asyncio.Server] = field(default_factory=list)
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def unix(self) -> str:
        return self.tb.require("ZANEPOOL_TB_DOCKER_UNIX")

    @property
    def tls(self) -> str:
        return self.tb.require("ZANEPOOL_TB_DOCKER_TLS")

    def pki(self, name: str) -> str:
        return Path(self.tb.require("ZANEPOOL_TB_DOCKER_PKI"), name).read_text()

    def own(self, name: str) -> str:
        """A PEM file of the self-signed pair made for these tests (not trusted by the engine)."""
        return (self.certs / name).read_text()

    async def pool(self) -> pb.Pool:
        if self._pool is None:
            resp = await self.server.pools.RegisterPool(
                ps.RegisterPoolRequest(pool_id=REG, pool=swarm_pool(self.unix)), timeout=30
            )
            assert resp.pool.state == pb.Pool.STATE_READY, resp.pool.state_message
            self._pool = resp.pool
        return self._pool

    async def page_token(self, filter_text: str) -> str:
        """A real next_page_token of ListPools with ``filter_text`` (two pools, pages of one)."""
        await self.pool()
        pools, store = self.server.server.pools, self.server.server.store
        assert pools is not None and store is not None
        # One swarm registers once: the second pool is written straight to the store.
        real = await pools.get(REG)
        await store.insert_pool(real.with_changes(pool_id="twin", uid="twin-uid", cluster_id="twin-cluster"))
        # The server learns of it through the store's change stream: wait until it lists it.
        end = time.monotonic() + 5
        while True:
            page = await self.server.pools.ListPools(
                ps.ListPoolsRequest(filter=filter_text, page_size=1), timeout=10
            )
            if page.next_page_token or time.monotonic() > end:
                break
            await asyncio.sleep(0.05)
        assert page.next_page_token, "two pools in pages of one leave a next page"
        return page.next_page_token

    def grpc_port(self) -> str:
        return f"tcp://{self.server.address}"

    def mongo_port(self) -> str:
        uri = self.tb.require("ZANEPOOL_TB_MONGODB_URI")
        hostport = uri.removeprefix("mongodb://").split("/", 1)[0].split("?", 1)[0]
        return f"tcp://{hostport}"

    @staticmethod
    def closed_port() -> str:
        """A 127.0.0.1 port that was free a moment ago and that nothing listens on."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"tcp://127.0.0.1:{port}"

    async def _listen(
        self, serve: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    ) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._writers.append(writer)
            with contextlib.suppress(ConnectionError):
                await serve(reader, writer)
            writer.close()

        listener = await asyncio.start_server(handle, "127.0.0.1", 0)
        self._listeners.append(listener)
        return f"tcp://127.0.0.1:{listener.sockets[0].getsockname()[1]}"

    async def silent(self) -> str:
        """A listener that accepts connections and never answers."""

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the client hangs up; never a byte back

        return await self._listen(serve)

    async def http(self, body: str, content_type: str = "application/json") -> str:
        """An HTTP server that answers every request with 200 and ``body`` (not a Docker Engine)."""

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            raw = body.encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\n"
                + f"Content-Type: {content_type}\r\nContent-Length: {len(raw)}\r\n".encode()
                + b"Connection: close\r\n\r\n"
                + raw
            )
            await writer.drain()

        return await self._listen(serve)

    async def channel(self, latency: float) -> grpc.aio.Channel:
        """A channel to the server through a link that delays what the client sends."""
        if not latency:
            return self.server.channel
        host, port = self.server.address.rsplit(":", 1)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            self._writers.append(up_writer)

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, pause: float) -> None:
                with contextlib.suppress(ConnectionError):
                    while data := await src.read(65536):
                        await asyncio.sleep(pause)
                        dst.write(data)
                        await dst.drain()
                dst.close()

            await asyncio.gather(pipe(reader, up_writer, latency), pipe(up_reader, writer, 0.0))

        link = await self._listen(serve)
        channel = grpc.aio.insecure_channel(link.removeprefix("tcp://"))
        self._channels.append(channel)
        return channel

    async def aclose(self) -> None:
        for channel in self._channels:
            await channel.close()
        for listener in self._listeners:
            listener.close()
        for writer in self._writers:
            writer.close()
        for listener in self._listeners:
            await listener.wait_closed()


def register(pool_id: str = "p", endpoint: str = NOWHERE, **fields: Any) -> ps.RegisterPoolRequest:
    return ps.RegisterPoolRequest(pool_id=pool_id, pool=swarm_pool(endpoint, **fields))


def register_at(where: Callable[[Bed], str | Awaitable[str]], **fields: Any) -> Request:
    """A registration of an endpoint only known once the test runs."""

    async def build(bed: Bed) -> Message:
        endpoint = where(bed)
        if inspect.isawaitable(endpoint):
            endpoint = await endpoint
        rest = {k: v for k, v in fields.items() if k != "credentials"}
        creds = {k: v(bed) if callable(v) else v for k, v in fields.get("credentials", {}).items()}
        return register(endpoint=endpoint, credentials=pb.Credentials(**creds), **rest)

    return build


def create(*engines: pb.Engine) -> ps.CreatePoolRequest:
    return ps.CreatePoolRequest(pool_id="c", pool=pb.Pool(driver=pb.DRIVER_SWARM), engines=list(engines))


def create_at(where: Callable[[Bed], str | Awaitable[str]]) -> Request:
    """A CreatePool of one engine whose endpoint is only known once the test runs."""

    async def build(bed: Bed) -> Message:
        endpoint = where(bed)
        if inspect.isawaitable(endpoint):
            endpoint = await endpoint
        return create(pb.Engine(endpoint=endpoint))

    return build


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def update(name: str = f"pools/{REG}", paths: tuple[str, ...] = ("display_name",), **fields: Any) -> Message:
    return ps.UpdatePoolRequest(pool=pb.Pool(name=name, **fields), update_mask=mask(*paths))


def token(doc: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def forged_token() -> str:
    """A token in the server's own format, for the first page's query, holding a 71-bit int.

    The fingerprint is an unkeyed hash of the query (see domain/paging.py), so any caller can
    make one; the server must refuse it as INVALID_ARGUMENT.
    """
    q = hashlib.sha256("\x00".join(("pools", "", "name")).encode()).hexdigest()[:16]
    return token({"q": q, "a": [2**70]})


PEM_GARBAGE_CERT = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
PEM_GARBAGE_KEY = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"

# --- the table --------------------------------------------------------------------------------

BAD_NAMES = {
    "missing": ("", "MISSING_FIELD"),
    "singular-collection": ("pool/x", "INVALID_NAME"),
    "no-id": ("pools/", "INVALID_NAME"),
    "nested": ("pools/a/b", "INVALID_NAME"),
    "wildcard": ("pools/-", "WILDCARD_NOT_ALLOWED"),
    "uppercase": ("pools/UPPER", "INVALID_NAME"),
}


def _name_rows() -> list[Row]:
    rows = []
    for label, (name, reason) in BAD_NAMES.items():
        rows += [
            Row(
                f"get-name-{label}", "PoolService/GetPool", ps.GetPoolRequest(name=name), *_ia(reason, "name")
            ),
            Row(
                f"delete-name-{label}",
                "PoolService/DeletePool",
                ps.DeletePoolRequest(name=name),
                *_ia(reason, "name"),
            ),
            Row(
                f"refresh-name-{label}",
                "PoolService/RefreshPool",
                ps.RefreshPoolRequest(name=name),
                *_ia(reason, "name"),
            ),
            Row(f"update-name-{label}", "PoolService/UpdatePool", update(name), *_ia(reason, "pool.name")),
        ]
    return rows


def _ia(reason: str, field_name: str) -> tuple[grpc.StatusCode, str, str]:
    return Code.INVALID_ARGUMENT, reason, field_name


#: The services the server has built beside PoolService (its own registry, app.servicers); the
#: rest answer every call with UNIMPLEMENTED NOT_IMPLEMENTED_YET. Several are being built, so
#: the rows below expect what each service does today: a built one refuses a malformed
#: parent like every list does, an unbuilt one says it is not built yet.
BUILT = frozenset(
    name for name, _ in app.servicers(*[cast(Any, None)] * len(inspect.signature(app.servicers).parameters))
)


def _later_rows() -> list[Row]:
    parent = "pool/x"  # malformed: built services refuse it, unbuilt ones refuse the call
    calls: list[tuple[str, Message]] = [
        ("ContainerService/ListContainers", container_service_pb2.ListContainersRequest(parent=parent)),
        ("ImageService/ListImages", image_service_pb2.ListImagesRequest(parent=parent)),
        ("VolumeService/ListVolumes", volume_service_pb2.ListVolumesRequest(parent=parent)),
        ("NetworkService/ListNetworks", network_service_pb2.ListNetworksRequest(parent=parent)),
        ("LogService/StreamLogs", log_service_pb2.StreamLogsRequest(parent=parent)),  # a stream
        ("EventService/WatchEvents", event_service_pb2.WatchEventsRequest(parent=parent)),  # a stream
    ]
    rows = []
    for rpc, req in calls:
        service = f"zanepool.v1.{rpc.split('/')[0]}"
        row_id = f"later-{rpc.replace('/', '-')}"
        if service in BUILT:
            rows.append(Row(row_id, rpc, req, *_ia("INVALID_NAME", "parent")))
        else:
            rows.append(Row(row_id, rpc, req, Code.UNIMPLEMENTED, "NOT_IMPLEMENTED_YET"))
    return rows


REG_RPC = "PoolService/RegisterPool"
CREATE_RPC = "PoolService/CreatePool"
LIST_RPC = "PoolService/ListPools"
NODES_RPC = "NodeService/ListNodes"

ROWS: list[Row] = [
    # --- pool ids -----------------------------------------------------------------------
    Row("id-empty", REG_RPC, register(""), *_ia("MISSING_FIELD", "pool_id")),
    Row("id-uppercase", REG_RPC, register("Prod"), *_ia("INVALID_POOL_ID", "pool_id")),
    Row("id-leading-digit", REG_RPC, register("1pool"), *_ia("INVALID_POOL_ID", "pool_id")),
    Row("id-trailing-hyphen", REG_RPC, register("pool-"), *_ia("INVALID_POOL_ID", "pool_id")),
    Row("id-64-chars", REG_RPC, register("p" * 64), *_ia("INVALID_POOL_ID", "pool_id")),
    Row("id-underscore", REG_RPC, register("my_pool"), *_ia("INVALID_POOL_ID", "pool_id")),
    Row("id-unicode", REG_RPC, register("pööl"), *_ia("INVALID_POOL_ID", "pool_id")),
    Row(
        "create-id-bad",
        "PoolService/CreatePool",
        ps.CreatePoolRequest(pool_id="Bad_Id"),
        *_ia("INVALID_POOL_ID", "pool_id"),
    ),
    # --- names ---------------------------------------------------------------------------
    *_name_rows(),
    # --- the pool message and its driver -----------------------------------------------------
    Row("register-no-pool", REG_RPC, ps.RegisterPoolRequest(pool_id="p"), *_ia("MISSING_FIELD", "pool")),
    Row("update-no-pool", "PoolService/UpdatePool", ps.UpdatePoolRequest(), *_ia("MISSING_FIELD", "pool")),
    Row(
        "driver-missing",
        REG_RPC,
        ps.RegisterPoolRequest(pool_id="p", pool=pb.Pool(endpoint=NOWHERE)),
        *_ia("MISSING_FIELD", "pool.driver"),
    ),
    Row(
        "driver-unknown-7",
        REG_RPC,
        ps.RegisterPoolRequest(pool_id="p", pool=pb.Pool(driver=7, endpoint=NOWHERE)),  # type: ignore[arg-type]
        *_ia("INVALID_ENUM_VALUE", "pool.driver"),
    ),
    Row(
        "kubernetes-unreachable",
        REG_RPC,
        ps.RegisterPoolRequest(
            pool_id="k8s", pool=pb.Pool(driver=pb.DRIVER_KUBERNETES, endpoint="https://127.0.0.1:1")
        ),
        Code.UNAVAILABLE,
        "CLUSTER_UNREACHABLE",
    ),
    Row(
        "driver-kubernetes-tcp-endpoint",
        REG_RPC,
        ps.RegisterPoolRequest(
            pool_id="k8s", pool=pb.Pool(driver=pb.DRIVER_KUBERNETES, endpoint="tcp://127.0.0.1:6443")
        ),
        *_ia("UNSUPPORTED_ENDPOINT_SCHEME", "pool.endpoint"),
    ),
    # --- endpoints -------------------------------------------------------------------------
    Row(
        "endpoint-http",
        REG_RPC,
        register(endpoint="http://127.0.0.1:2375"),
        *_ia("UNSUPPORTED_ENDPOINT_SCHEME", "pool.endpoint"),
    ),
    Row(
        "endpoint-unix-relative",
        REG_RPC,
        register(endpoint="unix:run/docker.sock"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    Row(
        "endpoint-unix-with-host",
        REG_RPC,
        register(endpoint="unix://run/docker.sock"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    Row(
        "endpoint-tcp-no-port",
        REG_RPC,
        register(endpoint="tcp://127.0.0.1"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    Row(
        "endpoint-port-99999",
        REG_RPC,
        register(endpoint="tcp://127.0.0.1:99999"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    Row(
        "endpoint-query",
        REG_RPC,
        register(endpoint="tcp://127.0.0.1:2375?tls=1"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    Row(
        "endpoint-spaces",
        REG_RPC,
        register(endpoint="tcp://docker host:2375"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    Row(
        "endpoint-userinfo",
        REG_RPC,
        register(endpoint="tcp://admin:secret@127.0.0.1:2375"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    Row("endpoint-empty", REG_RPC, register(endpoint=""), *_ia("MISSING_FIELD", "pool.endpoint")),
    Row(
        "endpoint-no-host",
        REG_RPC,
        register(endpoint="tcp://:2375"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    Row(
        "endpoint-tcp-path",
        REG_RPC,
        register(endpoint="tcp://127.0.0.1:2375/v1.41"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    Row(
        "endpoint-too-long",
        REG_RPC,
        register(endpoint="unix:///" + "d/" * 1030 + "docker.sock"),
        *_ia("INVALID_ENDPOINT", "pool.endpoint"),
    ),
    # --- credentials -------------------------------------------------------------------------
    Row(
        "creds-on-unix",
        REG_RPC,
        register(endpoint=NOWHERE, credentials=pb.Credentials(ca_pem=PEM_GARBAGE_CERT)),
        *_ia("UNSUPPORTED_CREDENTIALS", "pool.credentials"),
    ),
    Row(
        "creds-bearer-on-swarm",
        REG_RPC,
        register(endpoint="tcp://127.0.0.1:2376", credentials=pb.Credentials(bearer_token="t0ken")),
        *_ia("UNSUPPORTED_CREDENTIALS", "pool.credentials"),
    ),
    Row(
        "creds-kubeconfig-on-swarm",
        REG_RPC,
        register(endpoint="tcp://127.0.0.1:2376", credentials=pb.Credentials(kubeconfig="apiVersion: v1")),
        *_ia("UNSUPPORTED_CREDENTIALS", "pool.credentials"),
    ),
    Row(
        "creds-cert-without-key",
        REG_RPC,
        register(endpoint="tcp://127.0.0.1:2376", credentials=pb.Credentials(cert_pem=PEM_GARBAGE_CERT)),
        *_ia("INVALID_CREDENTIALS", "pool.credentials"),
    ),
    Row(
        "creds-ca-not-pem",
        REG_RPC,
        register(endpoint="tcp://127.0.0.1:2376", credentials=pb.Credentials(ca_pem="just some text")),
        *_ia("INVALID_CREDENTIALS", "pool.credentials.ca_pem"),
    ),
    Row(
        "creds-ca-pem-shaped-garbage",
        REG_RPC,
        register(endpoint="tcp://127.0.0.1:2376", credentials=pb.Credentials(ca_pem=PEM_GARBAGE_CERT)),
        *_ia("INVALID_CREDENTIALS", "pool.credentials.ca_pem"),
    ),
    Row(
        "creds-cert-pem-shaped-garbage",
        REG_RPC,
        register(
            endpoint="tcp://127.0.0.1:2376",
            credentials=pb.Credentials(cert_pem=PEM_GARBAGE_CERT, key_pem=PEM_GARBAGE_KEY),
        ),
        *_ia("INVALID_CREDENTIALS", "pool.credentials.cert_pem"),
    ),
    Row(
        "creds-cert-and-key-mismatch",
        REG_RPC,
        register_at(
            lambda bed: "tcp://127.0.0.1:2376",
            credentials={
                "cert_pem": lambda bed: bed.own("cert.pem"),
                "key_pem": lambda bed: bed.own("other-key.pem"),
            },
        ),
        *_ia("INVALID_CREDENTIALS", "pool.credentials.cert_pem"),
    ),
    # --- labels and display name ---------------------------------------------------------------
    Row(
        "labels-65",
        REG_RPC,
        register(labels={f"k{i}": "v" for i in range(65)}),
        *_ia("TOO_MANY_LABELS", "pool.labels"),
    ),
    Row(
        "label-key-64-chars",
        REG_RPC,
        register(labels={"k" * 64: "v"}),
        *_ia("INVALID_LABEL_KEY", f"pool.labels[{'k' * 63}]"),
    ),
    Row(
        "label-value-257-chars",
        REG_RPC,
        register(labels={"env": "v" * 257}),
        *_ia("LABEL_VALUE_TOO_LONG", "pool.labels[env]"),
    ),
    Row(
        "label-key-bad-chars",
        REG_RPC,
        register(labels={"Team Name!": "core"}),
        *_ia("INVALID_LABEL_KEY", "pool.labels[Team Name!]"),
    ),
    Row(
        "label-key-bad-prefix",
        REG_RPC,
        register(labels={"-bad-.example.com/team": "core"}),
        *_ia("INVALID_LABEL_KEY", "pool.labels[-bad-.example.com/team]"),
    ),
    Row(
        "display-name-257",
        REG_RPC,
        register(display_name="d" * 257),
        *_ia("DISPLAY_NAME_TOO_LONG", "pool.display_name"),
    ),
    Row(
        "display-name-control-char",
        REG_RPC,
        register(display_name="line\nbreak"),
        *_ia("INVALID_DISPLAY_NAME", "pool.display_name"),
    ),
    # --- GetPool view ------------------------------------------------------------------------
    Row(
        "view-unknown-9",
        "PoolService/GetPool",
        ps.GetPoolRequest(name="pools/x", view=9),  # type: ignore[arg-type]
        *_ia("INVALID_ENUM_VALUE", "view"),
    ),
    # --- ListPools: paging, filter, order ------------------------------------------------------
    Row(
        "page-size-negative",
        LIST_RPC,
        ps.ListPoolsRequest(page_size=-1),
        *_ia("INVALID_PAGE_SIZE", "page_size"),
    ),
    Row(
        "page-token-garbage",
        LIST_RPC,
        ps.ListPoolsRequest(page_token="!!not-a-token!!"),
        *_ia("INVALID_PAGE_TOKEN", "page_token"),
    ),
    Row(
        "page-token-json-list",
        LIST_RPC,
        ps.ListPoolsRequest(page_token=token([1, 2])),
        *_ia("INVALID_PAGE_TOKEN", "page_token"),
    ),
    Row(
        "page-token-no-position",
        LIST_RPC,
        ps.ListPoolsRequest(page_token=token({"q": "0123456789abcdef"})),
        *_ia("INVALID_PAGE_TOKEN", "page_token"),
    ),
    Row(
        "page-token-other-filter",
        LIST_RPC,
        lambda bed: _other_filter(bed),
        *_ia("PAGE_TOKEN_MISMATCH", "page_token"),
    ),
    Row(
        "page-token-forged-huge-int",
        LIST_RPC,
        ps.ListPoolsRequest(page_token=forged_token()),
        *_ia("INVALID_PAGE_TOKEN", "page_token"),
    ),
    Row(
        "filter-unsupported-field",
        LIST_RPC,
        ps.ListPoolsRequest(filter='colour = "red"'),
        *_ia("UNSUPPORTED_FILTER_FIELD", "filter"),
    ),
    Row(
        "filter-syntax-unclosed",
        LIST_RPC,
        ps.ListPoolsRequest(filter='(name = "a"'),
        *_ia("INVALID_FILTER", "filter"),
    ),
    Row(
        "filter-syntax-no-value",
        LIST_RPC,
        ps.ListPoolsRequest(filter="name ="),
        *_ia("INVALID_FILTER", "filter"),
    ),
    Row(
        "filter-enum-value",
        LIST_RPC,
        ps.ListPoolsRequest(filter="state = SLEEPY"),
        *_ia("INVALID_FILTER_VALUE", "filter"),
    ),
    Row(
        "filter-operator",
        LIST_RPC,
        ps.ListPoolsRequest(filter='labels.env < "b"'),
        *_ia("UNSUPPORTED_FILTER_OPERATOR", "filter"),
    ),
    Row(
        "filter-timestamp",
        LIST_RPC,
        ps.ListPoolsRequest(filter="create_time > yesterday"),
        *_ia("INVALID_FILTER_VALUE", "filter"),
    ),
    Row(
        "filter-too-long",
        LIST_RPC,
        ps.ListPoolsRequest(filter=" OR ".join(['name = "x"'] * 250)),
        *_ia("FILTER_TOO_LONG", "filter"),
    ),
    Row(
        "order-by-unsupported",
        LIST_RPC,
        ps.ListPoolsRequest(order_by="uid"),
        *_ia("UNSUPPORTED_ORDER_BY", "order_by"),
    ),
    Row(
        "order-by-direction",
        LIST_RPC,
        ps.ListPoolsRequest(order_by="name sideways"),
        *_ia("INVALID_ORDER_BY", "order_by"),
    ),
    Row(
        "order-by-twice",
        LIST_RPC,
        ps.ListPoolsRequest(order_by="name, name desc"),
        *_ia("INVALID_ORDER_BY", "order_by"),
    ),
    # --- UpdatePool -----------------------------------------------------------------------------
    Row(
        "update-mask-empty",
        "PoolService/UpdatePool",
        update(paths=()),
        *_ia("MISSING_UPDATE_MASK", "update_mask"),
        pool=True,
    ),
    Row(
        "update-mask-driver",
        "PoolService/UpdatePool",
        update(paths=("driver",)),
        *_ia("FIELD_NOT_MUTABLE", "update_mask"),
        pool=True,
    ),
    Row(
        "update-mask-state",
        "PoolService/UpdatePool",
        update(paths=("state",)),
        *_ia("FIELD_NOT_MUTABLE", "update_mask"),
        pool=True,
    ),
    Row(
        "update-mask-unknown",
        "PoolService/UpdatePool",
        update(paths=("colour",)),
        *_ia("UNKNOWN_FIELD", "update_mask"),
        pool=True,
    ),
    Row(
        "update-mask-bad-label-key",
        "PoolService/UpdatePool",
        update(paths=("labels.Bad Key",)),
        *_ia("INVALID_LABEL_KEY", "update_mask[Bad Key]"),
        pool=True,
    ),
    Row(
        "update-driver-changed",
        "PoolService/UpdatePool",
        update(driver=pb.DRIVER_KUBERNETES),
        *_ia("FIELD_NOT_MUTABLE", "pool.driver"),
        pool=True,
    ),
    Row(
        "update-labels-65",
        "PoolService/UpdatePool",
        update(paths=("labels",), labels={f"k{i}": "v" for i in range(65)}),
        *_ia("TOO_MANY_LABELS", "pool.labels"),
        pool=True,
    ),
    Row(
        "update-display-name-257",
        "PoolService/UpdatePool",
        update(display_name="d" * 257),
        *_ia("DISPLAY_NAME_TOO_LONG", "pool.display_name"),
        pool=True,
    ),
    Row(
        "update-creds-on-unix",
        "PoolService/UpdatePool",
        update(paths=("credentials",), credentials=pb.Credentials(ca_pem=PEM_GARBAGE_CERT)),
        *_ia("UNSUPPORTED_CREDENTIALS", "pool.credentials"),
        pool=True,
    ),
    # --- etags, existence ----------------------------------------------------------------------------
    Row(
        "update-wrong-etag",
        "PoolService/UpdatePool",
        update(display_name="x", etag="0123456789abcdef"),
        Code.ABORTED,
        "ETAG_MISMATCH",
        pool=True,
    ),
    Row(
        "delete-wrong-etag",
        "PoolService/DeletePool",
        ps.DeletePoolRequest(name=f"pools/{REG}", etag="0123456789abcdef"),
        Code.ABORTED,
        "ETAG_MISMATCH",
        pool=True,
    ),
    Row(
        "get-unknown",
        "PoolService/GetPool",
        ps.GetPoolRequest(name="pools/nope"),
        Code.NOT_FOUND,
        "POOL_NOT_FOUND",
    ),
    Row(
        "get-full-unknown",
        "PoolService/GetPool",
        ps.GetPoolRequest(name="pools/nope", view=pb.POOL_VIEW_FULL),
        Code.NOT_FOUND,
        "POOL_NOT_FOUND",
    ),
    Row(
        "update-unknown",
        "PoolService/UpdatePool",
        update("pools/nope", display_name="x"),
        Code.NOT_FOUND,
        "POOL_NOT_FOUND",
    ),
    Row(
        "delete-unknown",
        "PoolService/DeletePool",
        ps.DeletePoolRequest(name="pools/nope"),
        Code.NOT_FOUND,
        "POOL_NOT_FOUND",
    ),
    Row(
        "refresh-unknown",
        "PoolService/RefreshPool",
        ps.RefreshPoolRequest(name="pools/nope"),
        Code.NOT_FOUND,
        "POOL_NOT_FOUND",
    ),
    Row(
        "register-duplicate-name",
        REG_RPC,
        register_at(lambda bed: bed.unix, pool_id=REG),
        Code.ALREADY_EXISTS,
        "POOL_ALREADY_EXISTS",
        pool=True,
    ),
    Row(
        "register-duplicate-cluster",
        REG_RPC,
        register_at(lambda bed: bed.unix, pool_id="again"),
        Code.ALREADY_EXISTS,
        "CLUSTER_ALREADY_REGISTERED",
        pool=True,
    ),
    # --- endpoints that do not serve ---------------------------------------------------------
    Row(
        "unreachable-unix-socket",
        REG_RPC,
        register(endpoint=NOWHERE),
        Code.UNAVAILABLE,
        "CLUSTER_UNREACHABLE",
    ),
    Row(
        "unreachable-closed-tcp-port",
        REG_RPC,
        register_at(lambda bed: bed.closed_port()),
        Code.UNAVAILABLE,
        "CLUSTER_UNREACHABLE",
    ),
    Row(
        "tls-endpoint-without-credentials",
        REG_RPC,
        register_at(lambda bed: bed.tls),
        Code.FAILED_PRECONDITION,
        "ENDPOINT_REQUIRES_TLS",
    ),
    Row(
        "tls-wrong-client-cert-no-ca",
        REG_RPC,
        register_at(
            lambda bed: bed.tls,
            credentials={
                "cert_pem": lambda bed: bed.own("cert.pem"),
                "key_pem": lambda bed: bed.own("key.pem"),
            },
        ),
        Code.UNAUTHENTICATED,
        "CLUSTER_TLS_FAILED",
    ),
    Row(
        "tls-wrong-client-cert-right-ca",
        REG_RPC,
        register_at(
            lambda bed: bed.tls,
            credentials={
                "ca_pem": lambda bed: bed.pki("ca.pem"),
                "cert_pem": lambda bed: bed.own("cert.pem"),
                "key_pem": lambda bed: bed.own("key.pem"),
            },
        ),
        Code.UNAUTHENTICATED,
        "CLUSTER_TLS_FAILED",
    ),
    Row(
        "tls-no-client-cert",
        REG_RPC,
        register_at(lambda bed: bed.tls, credentials={"ca_pem": lambda bed: bed.pki("ca.pem")}),
        Code.UNAUTHENTICATED,
        "CLUSTER_TLS_FAILED",
    ),
    Row(
        "not-docker-grpc-port",
        REG_RPC,
        register_at(lambda bed: bed.grpc_port()),
        Code.FAILED_PRECONDITION,
        "NOT_A_DOCKER_ENGINE",
    ),
    # The store resets the connection on an HTTP request: indistinguishable from a network fault.
    Row(
        "not-docker-mongodb-port",
        REG_RPC,
        register_at(lambda bed: bed.mongo_port()),
        Code.UNAVAILABLE,
        "CLUSTER_UNREACHABLE",
    ),
    Row(
        "not-docker-html",
        REG_RPC,
        register_at(lambda bed: bed.http("<html>hello</html>", "text/html")),
        Code.FAILED_PRECONDITION,
        "NOT_A_DOCKER_ENGINE",
    ),
    Row(
        "not-docker-json-object",
        REG_RPC,
        register_at(lambda bed: bed.http('{"hello": "world"}')),
        Code.FAILED_PRECONDITION,
        "NOT_A_SWARM",
    ),
    Row(
        "not-docker-json-list",
        REG_RPC,
        register_at(lambda bed: bed.http("[]")),
        Code.FAILED_PRECONDITION,
        "NOT_A_DOCKER_ENGINE",
    ),
    Row(
        "silent-listener-client-deadline",
        REG_RPC,
        register_at(lambda bed: bed.silent()),
        Code.DEADLINE_EXCEEDED,
        None,
        deadline=2.0,
        limit=3.0,
        # Over a bare loopback the server's own answer at the deadline races the client's
        # timer (and is the wrong one: see the next row). Any real network puts the server's
        # copy of the deadline after the client's; 50 ms of link latency models that.
        latency=0.05,
    ),
    Row(
        "silent-listener-server-budget",
        REG_RPC,
        register_at(lambda bed: bed.silent()),
        Code.UNAVAILABLE,
        "CLUSTER_TIMEOUT",
        server_budget=2.0,
    ),
    # --- CreatePool (builds a swarm from bare engines) ------------------------------------------
    Row("create-no-pool", CREATE_RPC, ps.CreatePoolRequest(pool_id="c"), *_ia("MISSING_FIELD", "pool")),
    Row("create-no-engines", CREATE_RPC, create(), *_ia("MISSING_FIELD", "engines")),
    Row(
        "create-engine-no-endpoint",
        CREATE_RPC,
        create(pb.Engine()),
        *_ia("MISSING_FIELD", "engines[0].endpoint"),
    ),
    Row(
        "create-engine-http",
        CREATE_RPC,
        create(pb.Engine(endpoint="http://127.0.0.1:2375")),
        *_ia("UNSUPPORTED_ENDPOINT_SCHEME", "engines[0].endpoint"),
    ),
    Row(
        "create-engine-twice",
        CREATE_RPC,
        create(pb.Engine(endpoint=NOWHERE), pb.Engine(endpoint=NOWHERE)),
        *_ia("DUPLICATE_ENGINE", "engines[1].endpoint"),
    ),
    Row(
        "create-engine-role-9",
        CREATE_RPC,
        create(pb.Engine(endpoint=NOWHERE, role=9)),  # type: ignore[arg-type]
        *_ia("INVALID_ENUM_VALUE", "engines[0].role"),
    ),
    Row(
        "create-engine-bearer-token",
        CREATE_RPC,
        create(pb.Engine(endpoint="tcp://127.0.0.1:2376", credentials=pb.Credentials(bearer_token="t"))),
        *_ia("UNSUPPORTED_CREDENTIALS", "engines[0].credentials"),
    ),
    Row(
        "create-kubernetes",
        CREATE_RPC,
        ps.CreatePoolRequest(
            pool_id="c",
            pool=pb.Pool(driver=pb.DRIVER_KUBERNETES),
            engines=[pb.Engine(endpoint="https://127.0.0.1:6443")],
        ),
        Code.UNIMPLEMENTED,
        "CLUSTER_CREATION_UNSUPPORTED",
    ),
    Row(
        "create-engine-unreachable",
        CREATE_RPC,
        create(pb.Engine(endpoint=NOWHERE)),
        Code.UNAVAILABLE,
        "CLUSTER_UNREACHABLE",
    ),
    Row(
        "create-engine-already-in-swarm",
        CREATE_RPC,
        create_at(lambda bed: bed.unix),
        Code.FAILED_PRECONDITION,
        "ENGINE_ALREADY_IN_SWARM",
    ),
    Row(
        "create-engine-json-list",
        CREATE_RPC,
        create_at(lambda bed: bed.http("[]")),
        Code.FAILED_PRECONDITION,
        "NOT_A_DOCKER_ENGINE",
    ),
    Row(
        "create-engine-info-without-node-id",
        CREATE_RPC,
        create_at(lambda bed: bed.http('{"Swarm": {"LocalNodeState": "inactive"}}')),
        Code.FAILED_PRECONDITION,
        "NOT_A_DOCKER_ENGINE",
    ),
    # --- NodeService (built): names and list queries -------------------------------------------
    Row("nodes-parent-missing", NODES_RPC, ns.ListNodesRequest(), *_ia("MISSING_FIELD", "parent")),
    Row("nodes-parent-bad", NODES_RPC, ns.ListNodesRequest(parent="pool/x"), *_ia("INVALID_NAME", "parent")),
    Row(
        "nodes-parent-nested",
        NODES_RPC,
        ns.ListNodesRequest(parent="pools/-/x"),
        *_ia("INVALID_NAME", "parent"),
    ),
    Row(
        "nodes-parent-unknown",
        NODES_RPC,
        ns.ListNodesRequest(parent="pools/nope"),
        Code.NOT_FOUND,
        "POOL_NOT_FOUND",
    ),
    Row(
        "nodes-filter-field",
        NODES_RPC,
        ns.ListNodesRequest(parent="pools/-", filter="colour = red"),
        *_ia("UNSUPPORTED_FILTER_FIELD", "filter"),
    ),
    Row(
        "nodes-page-token",
        NODES_RPC,
        ns.ListNodesRequest(parent="pools/-", page_token="!!not-a-token!!"),
        *_ia("INVALID_PAGE_TOKEN", "page_token"),
    ),
    Row(
        "nodes-page-size",
        NODES_RPC,
        ns.ListNodesRequest(parent="pools/-", page_size=-5),
        *_ia("INVALID_PAGE_SIZE", "page_size"),
    ),
    Row(
        "node-name-pool-only",
        "NodeService/GetNode",
        ns.GetNodeRequest(name="pools/x"),
        *_ia("INVALID_NAME", "name"),
    ),
    Row(
        "node-name-wildcard",
        "NodeService/GetNode",
        ns.GetNodeRequest(name="pools/-/nodes/abc"),
        *_ia("WILDCARD_NOT_ALLOWED", "name"),
    ),
    Row(
        "node-unknown-pool",
        "NodeService/GetNode",
        ns.GetNodeRequest(name="pools/nope/nodes/abc"),
        Code.NOT_FOUND,
        "POOL_NOT_FOUND",
    ),
    Row(
        "node-update-no-node", "NodeService/UpdateNode", ns.UpdateNodeRequest(), *_ia("MISSING_FIELD", "node")
    ),
    Row(
        "node-import-no-engine",
        "NodeService/ImportNode",
        ns.ImportNodeRequest(parent="pools/x"),
        *_ia("MISSING_FIELD", "engine"),
    ),
    Row(
        "node-remove-bad-name",
        "NodeService/RemoveNode",
        ns.RemoveNodeRequest(name="pools/x/nodes"),
        *_ia("INVALID_NAME", "name"),
    ),
    # --- services not built yet ----------------------------------------------------------------
    *_later_rows(),
]


async def _other_filter(bed: Bed) -> Message:
    made_for = await bed.page_token("labels.env:* OR driver = SWARM")
    return ps.ListPoolsRequest(filter="driver = SWARM", page_size=1, page_token=made_for)


def _check_table() -> None:
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids)), "row ids are unique"
    for r in ROWS:
        assert (r.code == Code.INVALID_ARGUMENT) == (r.field is not None), r.id
        assert r.code not in (Code.INTERNAL, Code.UNKNOWN, Code.OK), r.id
        assert r.reason is not None or r.code == Code.DEADLINE_EXCEEDED, r.id


_check_table()


def _param(row: Row) -> Any:
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=row.bug)] if row.bug else []
    return pytest.param(row, id=row.id, marks=marks)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def own_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed client certificate and key the engine does not trust, and a second key."""
    where = tmp_path_factory.mktemp("own-certs")
    for args in (
        [
            *(
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=zanepool-stranger",
            ),
            *("-keyout", str(where / "key.pem"), "-out", str(where / "cert.pem")),
        ],
        [
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            str(where / "other-key.pem"),
        ],
    ):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    return where


@pytest.fixture
async def bed(server: RunningServer, tb: testbed.Testbed, own_certs: Path) -> AsyncIterator[Bed]:
    made = Bed(server, tb, own_certs)
    try:
        yield made
    finally:
        await made.aclose()


# --- the test -------------------------------------------------------------------------------------


async def _invoke(channel: grpc.aio.Channel, rpc: str, request: Message, deadline: float) -> None:
    service, method = rpc.split("/")
    descriptor = request.DESCRIPTOR.file.services_by_name[service].methods_by_name[method]
    call = getattr(STUBS[service](channel), method)(request, timeout=deadline)
    if descriptor.server_streaming:
        async for _ in call:
            pass
    else:
        await call


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
async def test_bad_input(row: Row, bed: Bed, monkeypatch: pytest.MonkeyPatch) -> None:
    if row.pool:
        await bed.pool()
    if row.server_budget is not None:
        # What --default-timeout sets: the longest the server works on any call.
        monkeypatch.setattr(CallSettings, "default_timeout", row.server_budget)
    request = row.request(bed) if callable(row.request) else row.request
    if inspect.isawaitable(request):
        request = await request
    channel = await bed.channel(row.latency)

    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _invoke(channel, row.rpc, request, row.deadline)
    elapsed = time.monotonic() - started
    err = caught.value
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    shown = f"{err.code().name}: {err.details()!r} {status}"

    assert err.code() not in (Code.INTERNAL, Code.UNKNOWN), shown
    assert err.code() == row.code, shown
    assert elapsed < row.limit, f"answered in {elapsed:.2f}s: {shown}"
    if row.reason is None:
        # The caller's own deadline answered: its status comes from the client library.
        assert status is None, shown
        return
    info = error_info(err)  # exactly one ErrorInfo
    assert info.domain == DOMAIN, shown
    assert info.reason == row.reason, shown
    bad = [d for d in details(err) if isinstance(d, error_details_pb2.BadRequest)]
    if row.code == Code.INVALID_ARGUMENT:
        assert len(bad) == 1, shown
        assert row.field in [v.field for v in bad[0].field_violations], shown
        assert info.metadata["field"] == row.field, shown
    else:
        assert not bad, shown


def test_the_table_is_large_enough() -> None:
    assert len(ROWS) >= 45


STOP_SCRIPT = """
import asyncio, os, sys, uuid
import grpc
from tests.support.servers import start_server
from zanepool.v1 import pool_service_pb2 as ps


def where(task):
    chain, coro = [], task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is None:
            break
        chain.append(f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
        inner = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
        if inner is not None and not hasattr(inner, "cr_frame") and not hasattr(inner, "ag_frame"):
            inner = getattr(frame.f_locals.get("self"), "gen", None)  # an async generator's athrow
        coro = inner
    return " -> ".join(chain)


async def main(uri, attempts):
    for attempt in range(1, attempts + 1):
        context = start_server(mongodb_uri=uri, database=f"zp_test_{uuid.uuid4().hex[:12]}")
        running = await context.__aenter__()
        try:  # refused before any store access: the monitor's first round is still reading
            await running.pools.GetPool(ps.GetPoolRequest(name="x"), timeout=5)
        except grpc.aio.AioRpcError:
            pass
        stopping = asyncio.ensure_future(context.__aexit__(None, None, None))
        done, _ = await asyncio.wait({stopping}, timeout=3.0)
        if not done:
            print(f"attempt {attempt}: stop() still running after 3 s at {where(stopping)}", flush=True)
            os._exit(1)
    print(f"{attempts} stops, none hung", flush=True)
    os._exit(0)


asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


async def test_stop_right_after_start(mongo_uri: str, repo_root: Path) -> None:
    """A server stopped right after it started (a SIGTERM during start-up) stops within 3 s.

    In a child process: a stop that hangs leaves tasks and sockets behind that must not
    leak into the rest of the run.
    """
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        STOP_SCRIPT,
        mongo_uri,
        "150",
        cwd=repo_root,
        env={**os.environ, "PYTHONPATH": str(repo_root), "PYTHONWARNINGS": "ignore"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(child.communicate(), timeout=90)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    lines = out.decode(errors="replace").strip().splitlines()
    assert child.returncode == 0, lines[-1] if lines else f"exit code {child.returncode}"
