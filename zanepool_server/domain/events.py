"""Zane Pool's own events (pool registered, updated, deleted, state changed), kept in the store
so that a watcher on any server replica sees them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from zanepool_server.errors import ZanePoolError
from zanepool_server.store.mongo import Store

log = logging.getLogger(__name__)


class EventLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(
        self, pool: str, action: str, attributes: Mapping[str, str] | None = None, message: str = ""
    ) -> None:
        """Record an event. The change it reports has happened already, so a store failure here
        is logged rather than failing the call that made the change."""
        event = {
            "source": "ZANEPOOL",
            "pool": pool,
            "kind": "pool",
            "action": action,
            "resource": pool,
            "attributes": dict(attributes or {}),
            "time": datetime.now(UTC),
            "message": message,
        }
        try:
            await self._store.append_event(event)
        except ZanePoolError as exc:
            log.warning("could not record event %s of %s: %s", action, pool, exc.message)
