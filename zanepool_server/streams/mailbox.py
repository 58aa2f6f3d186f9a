"""One subscriber's bounded mailbox.

The policy for a subscriber too slow to keep up: the newest items are dropped (the sender
never waits, so one slow subscriber never slows the others or the shared upstream) and
the subscriber is told, in order, how many it lost and from which sources: a Gap takes
the place of the lost items. Memory per subscriber is bounded by ``capacity`` items plus
one Gap.

What only this subscriber reads (its history) is no reason to lose anything: its reader
waits for :meth:`Mailbox.room` instead, which slows that read alone. A reader that waited
is woken once the mailbox is down to half its capacity, not at every item taken (one
wake-up per half a mailbox, not per item).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class Sourced(Protocol):
    @property
    def source(self) -> Hashable: ...


T = TypeVar("T", bound=Sourced)


@dataclass
class Gap:
    """Items lost here because the subscriber was too slow."""

    dropped: int = 0
    sources: set[Hashable] = field(default_factory=set)


@dataclass(frozen=True)
class Idle:
    """Nothing arrived for a while: time for a heartbeat."""


@dataclass(frozen=True)
class Closed:
    """The mailbox is closed; ``error`` says why when it was not a normal end."""

    error: BaseException | None = None


class Mailbox(Generic[T]):
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: deque[T | Gap] = deque()
        self._count = 0  # items held, not counting Gap markers
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._low = capacity // 2
        self._closed: Closed | None = None
        self.dropped_total = 0

    def offer(self, item: T, *, force: bool = False) -> None:
        """Never blocks: a full mailbox counts the item as lost instead. ``force`` is for the
        few control items that must not be lost (a source joining or leaving)."""
        if self._closed is not None:
            return
        if self._count >= self.capacity and not force:
            self.lose(item.source)
            return
        self._items.append(item)
        self._count += 1
        if self._count >= self.capacity:
            self._room.clear()
        self._wake.set()

    def offer_all(self, items: list[T]) -> None:
        """:meth:`offer` of each item, in one go."""
        if self._closed is not None or not items:
            return
        room = max(self.capacity - self._count, 0)
        kept = items if len(items) <= room else items[:room]
        self._items.extend(kept)
        self._count += len(kept)
        if self._count >= self.capacity:
            self._room.clear()
        self._wake.set()
        for item in items[room:]:  # what did not fit is lost, after what did
            self.lose(item.source)

    def lose(self, source: Hashable, count: int = 1) -> None:
        """Count items lost before they reached the mailbox (they take a Gap's place here)."""
        if self._closed is not None:
            return
        self.dropped_total += count
        last = self._items[-1] if self._items else None
        gap = last if isinstance(last, Gap) else None
        if gap is None:
            gap = Gap()
            self._items.append(gap)
        gap.dropped += count
        gap.sources.add(source)
        self._wake.set()

    async def room(self) -> None:
        """Wait until the mailbox can take an item without losing it (or is closed)."""
        while self._count >= self.capacity and self._closed is None:
            await self._room.wait()

    def close(self, error: BaseException | None = None) -> None:
        """End the mailbox after what it holds; the first close wins."""
        if self._closed is None:
            self._closed = Closed(error)
            self._wake.set()
            self._room.set()

    @property
    def closed(self) -> bool:
        return self._closed is not None

    def __len__(self) -> int:
        return self._count

    async def next(self, idle_after: float) -> T | Gap | Idle | Closed:
        """The next item or Gap, Idle after ``idle_after`` seconds of nothing, or Closed."""
        while not self._items:
            if self._closed is not None:
                return self._closed
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), idle_after)
            except TimeoutError:
                return Idle()
        item = self._items.popleft()
        if not isinstance(item, Gap):
            self._count -= 1
            if self._count <= self._low:
                self._room.set()
        return item

    def take_while(self, wanted: Callable[[T | Gap], bool], limit: int) -> list[T]:
        """Up to ``limit`` items from the head, without waiting, for as long as ``wanted``
        says yes (it is asked once per item, in order; a Gap is never taken)."""
        items = self._items
        taken: list[T] = []
        while items and len(taken) < limit:
            head = items[0]
            if isinstance(head, Gap) or not wanted(head):
                break
            taken.append(head)
            items.popleft()
        if taken:
            self._count -= len(taken)
            if self._count <= self._low:
                self._room.set()
        return taken
