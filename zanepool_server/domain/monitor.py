"""The health monitor: refreshes every pool on an interval and moves its state.

One supervisor task per server. Each round lists the pools, and for each one takes a
lease in the store before syncing it, so that several server replicas sharing one
database never refresh the same pool twice: the replica holding a pool's lease renews it
every round; when that replica stops, the lease expires and another takes the pool over.
Rounds are jittered so replicas drift apart; syncs run with bounded concurrency and a
per-pool timeout, so one slow cluster cannot hold up the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import Counter
from dataclasses import dataclass

from zanepool_server import deadline, tasks
from zanepool_server.domain.pools import Pools
from zanepool_server.errors import ZanePoolError
from zanepool_server.store.mongo import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitorSettings:
    interval: float = 10.0
    jitter: float = 0.2  # each round waits interval * (1 ± jitter)
    concurrency: int = 8
    pool_timeout: float = 5.0

    @property
    def lease_ttl(self) -> float:
        # Longer than the longest round gap plus a sync, so the holder renews before it lapses.
        return self.interval * (1 + self.jitter) * 2 + self.pool_timeout


class Monitor:
    """Owns the refresh loop; :meth:`shutdown` is idempotent and waits for it to stop."""

    def __init__(
        self, pools: Pools, store: Store, settings: MonitorSettings, *, replica: str | None = None
    ) -> None:
        self._pools = pools
        self._store = store
        self.settings = settings
        self.replica = replica or uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self._held: set[str] = set()
        self._stopping = asyncio.Event()
        #: Syncs done by this replica, per pool id (read by tests and logs).
        self.syncs: Counter[str] = Counter()

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the monitor is already started")
        self._task = asyncio.create_task(self._run(), name="pool-monitor")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.round()
            except ZanePoolError as exc:
                log.warning("monitor round failed: %s", exc.message)
            except Exception:
                log.exception("monitor round crashed; the next round runs as usual")
            s = self.settings
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), s.interval * random.uniform(1 - s.jitter, 1 + s.jitter)
                )

    async def round(self) -> None:
        with deadline.scope(self.settings.interval + self.settings.pool_timeout):
            pools = await self._store.pool_ids()
        gate = asyncio.Semaphore(self.settings.concurrency)
        async with asyncio.TaskGroup() as tg:
            for pool_id, uid in pools:
                tg.create_task(self._one(gate, pool_id, uid))
        # Pools deregistered since: stop renewing their leases.
        self._held &= {f"monitor:{p}" for p, _ in pools}

    async def _one(self, gate: asyncio.Semaphore, pool_id: str, uid: str) -> None:
        key = f"monitor:{pool_id}"
        async with gate:
            try:
                with deadline.scope(self.settings.pool_timeout):
                    if not await self._store.try_lease(key, self.replica, self.settings.lease_ttl):
                        self._held.discard(key)
                        return
                    self._held.add(key)
                    if await self._pools.sync_by_id(pool_id, uid) is not None:
                        self.syncs[pool_id] += 1
            except ZanePoolError as exc:
                log.warning("sync of pools/%s failed: %s", pool_id, exc.message)

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        await tasks.stop(task)
        # Hand the pools over at once rather than after the leases lapse.
        with deadline.detached(2.0):
            for key in list(self._held):
                with contextlib.suppress(ZanePoolError):
                    await self._store.release_lease(key, self.replica)
        self._held.clear()
