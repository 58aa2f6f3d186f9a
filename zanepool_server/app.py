"""Wiring and lifecycle: the store, the domain, the servicers, health, reflection, signals.

Start-up: the store (embedded engine when no URI is given), the domain, the gRPC server,
then the health monitor. Shutdown, in order: health NOT_SERVING, stop the monitor, drain
the server for ``shutdown_grace`` seconds, then close the drivers and the store, and
stop the embedded engine last.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

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
    node_service_pb2,
    node_service_pb2_grpc,
    pool_service_pb2,
    pool_service_pb2_grpc,
    volume_service_pb2,
    volume_service_pb2_grpc,
)
from zanepool_server import config, logsetup
from zanepool_server.api import unimplemented
from zanepool_server.api.container_servicer import ContainerServicer
from zanepool_server.api.event_servicer import EventServicer
from zanepool_server.api.image_servicer import ImageServicer
from zanepool_server.api.log_servicer import LogServicer
from zanepool_server.api.network_servicer import NetworkServicer
from zanepool_server.api.node_servicer import NodeServicer
from zanepool_server.api.pool_servicer import PoolServicer
from zanepool_server.api.status import CallSettings
from zanepool_server.api.volume_servicer import VolumeServicer
from zanepool_server.domain.containers import Containers
from zanepool_server.domain.logs import Logs, StreamSettings
from zanepool_server.domain.monitor import Monitor, MonitorSettings
from zanepool_server.domain.nodes import Nodes
from zanepool_server.domain.pools import Pools
from zanepool_server.domain.storage import Images, Networks, Volumes
from zanepool_server.domain.watch import Watches
from zanepool_server.drivers.base import DriverFactory
from zanepool_server.drivers.factory import Drivers
from zanepool_server.store.embedded import EmbeddedMongo
from zanepool_server.store.mongo import Store

log = logging.getLogger("zanepool_server")

POOL_SERVICE = pool_service_pb2.DESCRIPTOR.services_by_name["PoolService"]
LATER_SERVICES = tuple(
    module.DESCRIPTOR.services_by_name[name]
    for module, name in (
        (node_service_pb2, "NodeService"),
        (container_service_pb2, "ContainerService"),
        (image_service_pb2, "ImageService"),
        (volume_service_pb2, "VolumeService"),
        (network_service_pb2, "NetworkService"),
        (log_service_pb2, "LogService"),
        (event_service_pb2, "EventService"),
    )
)
SERVICE_NAMES = (POOL_SERVICE.full_name, *(s.full_name for s in LATER_SERVICES))

# Streams (logs, events) live for hours: keep connections alive through proxies and NATs.
SERVER_OPTIONS = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
)


def servicers(
    pools: Pools, logs: Logs, watches: Watches
) -> list[tuple[str, Callable[[grpc.aio.Server], None]]]:
    """The built services beside PoolService: (full name, adds the servicer to a server)."""
    built: list[tuple[Any, str, Callable[[Any, grpc.aio.Server], None], Any]] = [
        (
            node_service_pb2,
            "NodeService",
            node_service_pb2_grpc.add_NodeServiceServicer_to_server,
            NodeServicer(Nodes(pools)),
        ),
        (
            container_service_pb2,
            "ContainerService",
            container_service_pb2_grpc.add_ContainerServiceServicer_to_server,
            ContainerServicer(Containers(pools)),
        ),
        (
            image_service_pb2,
            "ImageService",
            image_service_pb2_grpc.add_ImageServiceServicer_to_server,
            ImageServicer(Images(pools)),
        ),
        (
            volume_service_pb2,
            "VolumeService",
            volume_service_pb2_grpc.add_VolumeServiceServicer_to_server,
            VolumeServicer(Volumes(pools)),
        ),
        (
            network_service_pb2,
            "NetworkService",
            network_service_pb2_grpc.add_NetworkServiceServicer_to_server,
            NetworkServicer(Networks(pools)),
        ),
        (
            log_service_pb2,
            "LogService",
            log_service_pb2_grpc.add_LogServiceServicer_to_server,
            LogServicer(logs),
        ),
        (
            event_service_pb2,
            "EventService",
            event_service_pb2_grpc.add_EventServiceServicer_to_server,
            EventServicer(watches),
        ),
    ]
    return [
        (module.DESCRIPTOR.services_by_name[name].full_name, functools.partial(add, servicer))
        for module, name, add, servicer in built
    ]


class ZanePoolServer:
    """One server process's worth of parts. ``start`` once, ``stop`` once (idempotent)."""

    def __init__(
        self, settings: config.Settings, *, drivers: DriverFactory | None = None, replica: str | None = None
    ) -> None:
        self.settings = settings
        self._drivers: DriverFactory = drivers or Drivers()
        self._replica = replica
        self._embedded: EmbeddedMongo | None = None
        self.store: Store | None = None
        self.pools: Pools | None = None
        self.monitor: Monitor | None = None
        self.logs: Logs | None = None
        self.watches: Watches | None = None
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self.port = 0
        self._stopped = asyncio.Event()
        self._stopping = False

    async def start(self) -> int:
        s = self.settings
        CallSettings.default_timeout = s.default_timeout
        uri = s.mongodb_uri
        if not uri:
            self._embedded = EmbeddedMongo(s.data_dir)
            uri = await self._embedded.start()
            log.info("embedded store ready", extra={"data_dir": str(s.data_dir)})
        self.store = Store(uri, database=s.database)
        await self.store.open()
        self.pools = Pools(self.store, self._drivers)
        self.pools.start()

        server = grpc.aio.server(options=SERVER_OPTIONS)
        pool_service_pb2_grpc.add_PoolServiceServicer_to_server(PoolServicer(self.pools), server)
        built = set()
        streams = StreamSettings(heartbeat=s.stream_heartbeat, buffer=s.stream_buffer)
        self.logs = Logs(self.pools, streams)
        self.watches = Watches(self.pools, self.store, streams)
        for name, add in servicers(self.pools, self.logs, self.watches):
            add(server)
            built.add(name)
        server.add_generic_rpc_handlers(
            [unimplemented.handler(svc) for svc in LATER_SERVICES if svc.full_name not in built]
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (
                *SERVICE_NAMES,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ),
            server,
        )
        self.port = server.add_insecure_port(s.listen)
        if self.port == 0:
            raise OSError(f"cannot listen on {s.listen}")
        await server.start()
        self._server = server
        for name in ("", *SERVICE_NAMES):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)

        self.monitor = Monitor(
            self.pools,
            self.store,
            MonitorSettings(
                interval=s.monitor_interval,
                concurrency=s.monitor_concurrency,
                pool_timeout=s.monitor_timeout,
            ),
            replica=self._replica,
        )
        self.monitor.start()
        host = s.listen.rsplit(":", 1)[0]
        log.info(
            "serving",
            extra={
                "address": f"{host}:{self.port}",
                "store": "embedded" if self._embedded else "mongodb",
                "monitor_interval": s.monitor_interval,
            },
        )
        return self.port

    async def stop(self) -> None:
        if self._stopping:
            await self._stopped.wait()
            return
        self._stopping = True
        log.info("shutting down", extra={"grace": self.settings.shutdown_grace})
        await self._health.enter_graceful_shutdown()
        if self.monitor is not None:
            await self.monitor.shutdown()
        if self.logs is not None:
            await self.logs.aclose()  # streams end with a status and a resume token, not a reset
        if self.watches is not None:
            await self.watches.aclose()
        if self._server is not None:
            await self._server.stop(self.settings.shutdown_grace)
        async with asyncio.TaskGroup() as tg:
            if self.pools is not None:
                tg.create_task(self.pools.aclose())
            if self.store is not None:
                tg.create_task(self.store.aclose())
        if self._embedded is not None:
            await self._embedded.stop()
        log.info("stopped")
        self._stopped.set()

    async def wait(self) -> None:
        await self._stopped.wait()


async def serve(settings: config.Settings) -> None:
    server = ZanePoolServer(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        await stop.wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> None:
    settings = config.parse(argv)
    logsetup.configure(settings.log_level, settings.log_format)
    try:
        asyncio.run(serve(settings))
    except OSError as exc:
        log.error("cannot start: %s", exc)
        raise SystemExit(1) from None
