"""The deadline of the call being served, visible to every layer below the API.

The API layer opens a scope per RPC with the caller's remaining time capped by the
server's default; the store and the drivers bound every I/O by :func:`remaining`, so no
cluster or store call can outlive the caller or hang a call that has no deadline.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

# Monotonic instant by which the current call must be answered; None outside any call.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("zanepool_deadline", default=None)

#: Budget for work that runs outside any RPC (the monitor sets its own).
BACKGROUND_DEFAULT = 30.0


@contextmanager
def scope(seconds: float) -> Iterator[None]:
    """Run the block with a deadline ``seconds`` from now (never later than an enclosing one)."""
    new = time.monotonic() + max(seconds, 0.0)
    outer = _deadline.get()
    token = _deadline.set(new if outer is None else min(outer, new))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def detached(seconds: float) -> Iterator[None]:
    """A deadline of its own, not bounded by the enclosing one: for clean-up after a failure
    (undoing half-done work must not be cut short because the call's time ran out)."""
    token = _deadline.set(time.monotonic() + max(seconds, 0.0))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining(cap: float | None = None) -> float:
    """Seconds left in the current scope (at most ``cap``); never negative."""
    deadline = _deadline.get()
    left = BACKGROUND_DEFAULT if deadline is None else deadline - time.monotonic()
    if cap is not None:
        left = min(left, cap)
    return max(left, 0.0)
