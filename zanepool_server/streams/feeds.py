"""Shared upstream feeds: one upstream read per key, however many subscribers.

The first subscriber to a key starts its upstream; every item goes to every subscriber's
tap without waiting on any of them; the upstream is cancelled (closing its connection)
as soon as the last subscriber leaves. An upstream that ends or fails tells every
subscriber, and the next subscriber to that key starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from zanepool_server import tasks

log = logging.getLogger(__name__)

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Tap(Protocol[T_contra]):
    def offer(self, item: T_contra) -> None:
        """Take an item without blocking."""
        ...

    def ended(self, error: BaseException | None) -> None:
        """The upstream ended (``error`` None) or failed."""
        ...


@dataclass(eq=False)
class _Feed(Generic[T]):
    taps: set[Tap[T]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


class Feeds(Generic[T]):
    """Feeds by key. ``open_count`` is the number of upstream reads running now."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._feeds: dict[Hashable, _Feed[T]] = {}
        self.opened_total = 0

    @property
    def open_count(self) -> int:
        return sum(1 for f in self._feeds.values() if f.task is not None and not f.task.done())

    @contextlib.asynccontextmanager
    async def tap(
        self, key: Hashable, upstream: Callable[[], AsyncIterator[T]], tap: Tap[T]
    ) -> AsyncIterator[None]:
        feed = self._feeds.get(key)
        if feed is None or feed.task is None or feed.task.done():
            feed = _Feed()
            self._feeds[key] = feed
            feed.taps.add(tap)
            feed.task = asyncio.create_task(self._run(key, feed, upstream), name=f"{self._name}-feed")
            self.opened_total += 1
        else:
            feed.taps.add(tap)
        try:
            yield
        finally:
            feed.taps.discard(tap)
            if not feed.taps and feed.task is not None:
                await tasks.stop(feed.task)
                if self._feeds.get(key) is feed:
                    del self._feeds[key]

    async def _run(self, key: Hashable, feed: _Feed[T], upstream: Callable[[], AsyncIterator[T]]) -> None:
        error: BaseException | None = None
        try:
            async for item in upstream():
                for tap in list(feed.taps):
                    tap.offer(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc
            log.debug("%s feed %r failed: %r", self._name, key, exc)
        for tap in list(feed.taps):
            tap.ended(error)

    async def aclose(self) -> None:
        """Stop every upstream (server shutdown)."""
        running = [f.task for f in self._feeds.values() if f.task is not None]
        self._feeds.clear()
        await tasks.stop(running)
