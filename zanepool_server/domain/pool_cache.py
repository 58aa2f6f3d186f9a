"""An in-memory mirror of the pools collection, kept current by a change stream.

GetPool (BASIC) and ListPools are the hottest calls and are answered from the store's
data; reading that data from memory instead of a round trip per call is what makes them
fast. The mirror is authoritative only while its change stream is open: it is loaded
after the stream is opened (so no change in between is missed), every change of any
server replica arrives through the stream, and this replica's own writes are applied at
once (so a caller reads its own writes). When the stream breaks (the store went away) the
mirror stops answering, calls go to the store again (and get UNAVAILABLE while it is
down), and the mirror reloads once the stream can be opened again.
"""

from __future__ import annotations

import asyncio
import logging
import time

from zanepool_server import deadline, tasks
from zanepool_server.errors import ZanePoolError
from zanepool_server.model import Pool
from zanepool_server.store.mongo import Store

log = logging.getLogger(__name__)

RETRY_MAX = 5.0
#: The mirror answers only while the store was heard from this recently; after that, calls
#: go to the store (and get UNAVAILABLE if it is gone) until the stream is back.
FRESH_FOR = 1.5


class PoolCache:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._pools: dict[str, Pool] = {}
        self._ready = False
        self._heard = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self._ready and time.monotonic() - self._heard < FRESH_FOR

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the pool cache is already started")
        self._task = asyncio.create_task(self._follow(), name="pool-cache")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        self._ready = False
        await tasks.stop(task)

    async def _follow(self) -> None:
        delay = 0.2
        while True:
            try:
                async with self._store.watch_pools() as changes:
                    with deadline.detached(30):
                        pools = await self._store.all_pools()
                    self._pools = {p.pool_id: p for p in pools}
                    self._heard = time.monotonic()
                    self._ready = True
                    delay = 0.2
                    log.info("pool cache loaded", extra={"pools": len(pools)})
                    async for change in changes:
                        self._heard = time.monotonic()
                        if change is not None:
                            self._apply(*change)
            except ZanePoolError as exc:
                log.warning("pool cache paused, retrying in %.1fs: %s", delay, exc.message)
            self._ready = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    def _apply(self, pool_id: str, pool: Pool | None) -> None:
        if pool is None:
            self._pools.pop(pool_id, None)
        else:
            self._pools[pool_id] = pool

    def get(self, pool_id: str) -> Pool | None:
        return self._pools.get(pool_id) if self.ready else None

    def all(self) -> list[Pool] | None:
        """Every pool, or None when the mirror is not current (ask the store)."""
        return list(self._pools.values()) if self.ready else None

    def wrote(self, pool: Pool) -> None:
        """This replica stored ``pool``: show it at once."""
        self._apply(pool.pool_id, pool)

    def deleted(self, pool_id: str) -> None:
        self._apply(pool_id, None)
