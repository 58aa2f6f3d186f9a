"""One subscriber's stream, and the hand-over from its own history read to a shared live feed.

A Subscription is a mailbox, a cursor and the tasks that fill the mailbox: a task that
fails ends the stream with its error, and an error that ends the stream carries the
cursor's resume token. A Handover is a reader's tap on a shared feed (``feeds.Tap``): it
is tapped before the reader reads the history the subscriber asked for, holds the live
items back meanwhile, then passes them on through the reader's own check, which drops
what the history gave already: nothing is lost between the two and nothing repeated.
Subscriptions tracks the open streams so that a server shutdown ends each of them with
UNAVAILABLE and its resume token.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from typing import Any, Generic, TypeVar

from zanepool_server import tasks
from zanepool_server.errors import Unavailable, ZanePoolError
from zanepool_server.streams.cursor import Cursor
from zanepool_server.streams.mailbox import Closed, Idle, Mailbox

T = TypeVar("T")

SHUTTING_DOWN = "SERVER_SHUTTING_DOWN"


class Subscription:
    """One subscriber: what it is sent (``mailbox``), where it is (``cursor``, tied to ``scope``)
    and the tasks that read for it."""

    def __init__(self, mailbox: Mailbox[Any], cursor: Cursor, scope: str) -> None:
        self.mailbox = mailbox
        self.cursor = cursor
        self.scope = scope
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A task owned by this subscription: a failure ends the stream with it."""
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.mailbox.close(task.exception())

    async def stop(self) -> None:
        await tasks.stop(list(self.tasks))

    def token(self) -> str:
        return self.cursor.encode(self.scope)

    def resumable(self, error: BaseException) -> BaseException:
        """A stream that fails tells the caller where to resume."""
        if isinstance(error, ZanePoolError):
            error.metadata["resume_token"] = self.token()
        return error

    async def items(self, idle_after: float) -> AsyncIterator[Any]:
        """What the mailbox holds, in order (items and Gaps), None after ``idle_after`` seconds
        of nothing (time for a heartbeat); it ends when the mailbox is closed, raising the
        error that closed it (with the resume token)."""
        while True:
            item = await self.mailbox.next(idle_after)
            if isinstance(item, Closed):
                if item.error is not None:
                    raise self.resumable(item.error)
                return
            yield None if isinstance(item, Idle) else item


class Subscriptions:
    """The open streams of one service; :meth:`shut_down` ends them all (server shutdown)."""

    def __init__(self) -> None:
        self._open: set[Subscription] = set()
        self.closing = False

    def __iter__(self) -> Iterator[Subscription]:
        return iter(list(self._open))

    def admit(self) -> None:
        if self.closing:
            raise Unavailable("the server is shutting down", reason=SHUTTING_DOWN)

    @contextlib.asynccontextmanager
    async def running(self, sub: Subscription) -> AsyncIterator[None]:
        """While the stream runs; when it is over, or the client went away, every read stops at once."""
        self._open.add(sub)
        try:
            yield
        finally:
            self._open.discard(sub)
            await sub.stop()

    def shut_down(self) -> None:
        """Every stream ends with UNAVAILABLE and its resume token (after what its mailbox holds)."""
        self.closing = True
        for sub in list(self._open):
            sub.mailbox.close(
                Unavailable("the server is shutting down; resume elsewhere", reason=SHUTTING_DOWN)
            )


class Handover(Generic[T]):
    """A reader's end of a shared live feed: holds live items back until the reader has sent
    the history, then hands every item to ``pass_on`` (the reader's check against what the
    history gave). At most ``capacity`` items are held; beyond that each goes to ``overflow``."""

    def __init__(self, capacity: int, pass_on: Callable[[T], None], overflow: Callable[[T], None]) -> None:
        self._capacity = capacity
        self._pass_on = pass_on
        self._overflow = overflow
        self._staged: list[T] = []
        self._live = False
        self._done = asyncio.Event()
        self.error: BaseException | None = None

    @property
    def staged(self) -> Sequence[T]:
        """The live items held back so far."""
        return self._staged

    @property
    def done(self) -> bool:
        """The feed has ended (or failed)."""
        return self._done.is_set()

    def offer(self, item: T) -> None:
        if self._live:
            self._pass_on(item)
        elif len(self._staged) < self._capacity:
            self._staged.append(item)
        else:
            self._overflow(item)

    def ended(self, error: BaseException | None) -> None:
        """The feed ended (``error`` None) or failed; a reader that fails ends it the same way."""
        self.error = self.error or error
        self._done.set()

    async def go_live(self) -> None:
        """The history is sent: pass on what was held back, then everything; wait for the end."""
        self._live = True
        staged, self._staged = self._staged, []
        for item in staged:
            self._pass_on(item)
        await self._done.wait()

    async def wait_ended(self) -> None:
        await self._done.wait()
