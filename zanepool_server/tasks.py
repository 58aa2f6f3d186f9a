"""Stopping background tasks for sure.

A cancellation can be lost: PyMongo's async client, for one, lets an operation finish
when the cancellation lands in some phases of it, and the task runs on. So a task is
cancelled again until it has stopped, and loops also check a stop flag of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


async def stop(
    tasks: Iterable[asyncio.Task[object]] | asyncio.Task[object] | None,
    *,
    again_every: float = 0.5,
    give_up_after: float = 30.0,
) -> None:
    """Cancel the tasks and wait until each has ended, cancelling again while one runs on."""
    if tasks is None:
        return
    pending = {tasks} if isinstance(tasks, asyncio.Task) else set(tasks)
    waited = 0.0
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=again_every)
        waited += again_every
        if pending and waited >= give_up_after:
            log.error("tasks did not stop after %.0fs: %s", waited, [t.get_name() for t in pending])
            return
