"""Helpers for the bench's child processes (the servers it starts)."""

from __future__ import annotations

import os
import signal
import sys
import threading


def stop_when_parent_goes() -> None:
    """SIGTERM ourselves when stdin reaches EOF: the bench closed it, or died without cleaning up.

    The bench keeps the write end of our stdin open for as long as it wants us running, so
    even a bench killed with SIGKILL does not leave a server behind.
    """

    def watch() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
