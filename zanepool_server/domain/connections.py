"""One open driver per pool, reused across calls and closed when the pool goes or changes."""

from __future__ import annotations

import asyncio
import hashlib
import logging

from zanepool_server.drivers.base import ClusterDriver, DriverFactory
from zanepool_server.model import Pool

log = logging.getLogger(__name__)


def _key(pool: Pool) -> str:
    creds = pool.credentials
    material = "\x00".join(
        (
            *sorted(f"{k}={v}" for k, v in pool.node_endpoints.items()),
            pool.uid,
            pool.driver.value,
            pool.endpoint,
            creds.ca_pem,
            creds.cert_pem,
            creds.key_pem,
            creds.bearer_token,
            creds.kubeconfig,
        )
    )
    return hashlib.sha256(material.encode()).hexdigest()


class Connections:
    """Caches drivers by pool; a changed endpoint or credentials opens a new one."""

    def __init__(self, factory: DriverFactory) -> None:
        self._factory = factory
        self._open: dict[str, tuple[str, ClusterDriver]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    def for_pool(self, pool: Pool) -> ClusterDriver:
        if self._closed:
            raise RuntimeError("connections are closed")
        key = _key(pool)
        current = self._open.get(pool.pool_id)
        if current is not None and current[0] == key:
            return current[1]
        driver = self._factory.open(pool.driver, pool.endpoint, pool.credentials, pool.node_endpoints)
        self._open[pool.pool_id] = (key, driver)
        if current is not None:
            self._close_later(current[1])
        return driver

    def adopt(self, pool: Pool, driver: ClusterDriver) -> None:
        """Keep a driver opened for a registration as the pool's connection."""
        old = self._open.get(pool.pool_id)
        self._open[pool.pool_id] = (_key(pool), driver)
        if old is not None and old[1] is not driver:
            self._close_later(old[1])

    def forget(self, pool_id: str) -> None:
        entry = self._open.pop(pool_id, None)
        if entry is not None:
            self._close_later(entry[1])

    def _close_later(self, driver: ClusterDriver) -> None:
        # Another call may still be using it: close it without making this one wait.
        task = asyncio.create_task(driver.aclose(), name="close-driver")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        drivers = [d for _, d in self._open.values()]
        self._open.clear()
        results = await asyncio.gather(*(d.aclose() for d in drivers), *self._closing, return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                log.warning("closing a driver failed: %r", r)
