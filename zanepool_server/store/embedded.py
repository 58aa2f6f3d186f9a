"""The embedded store: a SecantusDB server (MongoDB wire protocol) run as a child process.

SecantusDB is GPL-2.0-only, so it is never imported: the server finds its
``secantusd-py`` program (next to the running Python, or on PATH, or where
ZANEPOOL_SECANTUSD points), starts it on a free loopback port over ``data_dir``,
waits until it answers, and stops it on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from zanepool_server.errors import StoreUnavailable

log = logging.getLogger(__name__)

PROGRAM = "secantusd-py"


def find_program() -> str:
    configured = os.environ.get("ZANEPOOL_SECANTUSD")
    if configured:
        return configured
    beside = Path(sys.executable).with_name(PROGRAM)
    if beside.exists():
        return str(beside)
    found = shutil.which(PROGRAM)
    if found:
        return found
    raise StoreUnavailable(
        f"no --mongodb-uri was given and the embedded engine ({PROGRAM}) is not installed; "
        "install zanepool[embedded] or pass --mongodb-uri",
        reason="EMBEDDED_STORE_MISSING",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedMongo:
    """One SecantusDB child process over ``data_dir``."""

    def __init__(self, data_dir: Path, *, program: str | None = None, port: int = 0) -> None:
        self.data_dir = data_dir
        self._program = program
        self._port = port
        self._proc: asyncio.subprocess.Process | None = None
        self._log_file: int | None = None

    @property
    def uri(self) -> str:
        # retryWrites=false: the engine's retryable-write bookkeeping slows writes as they accumulate.
        return f"mongodb://127.0.0.1:{self._port}/?retryWrites=false&directConnection=true"

    async def start(self, ready_within: float = 60.0) -> str:
        if self._proc is not None:
            raise RuntimeError("the embedded store is already started")
        program = self._program or find_program()
        store_dir = self.data_dir / "store"
        store_dir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        self._port = self._port or _free_port()
        self._log_file = os.open(self.data_dir / "store.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._proc = await asyncio.create_subprocess_exec(
            program,
            "--host",
            "127.0.0.1",
            "--port",
            str(self._port),
            "--storage-path",
            str(store_dir),
            "--log-level",
            "WARNING",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=self._log_file,
            start_new_session=True,  # a Ctrl-C at the terminal goes to the server, which stops it in order
        )
        (self.data_dir / "store.pid").write_text(str(self._proc.pid))
        log.info("embedded store starting", extra={"pid": self._proc.pid, "port": self._port})
        await self._wait_ready(ready_within)
        return self.uri

    async def _wait_ready(self, ready_within: float) -> None:
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(self.uri, serverSelectionTimeoutMS=300)
        try:
            async with asyncio.timeout(ready_within):
                while True:
                    if self._proc is not None and self._proc.returncode is not None:
                        raise StoreUnavailable(
                            f"the embedded store exited with {self._proc.returncode}; "
                            f"see {self.data_dir / 'store.log'}",
                            reason="EMBEDDED_STORE_FAILED",
                        )
                    try:
                        await client.admin.command("ping")
                        return
                    except PyMongoError:
                        await asyncio.sleep(0.1)
        except TimeoutError:
            await self.stop()
            raise StoreUnavailable(
                f"the embedded store did not answer within {ready_within:.0f}s",
                reason="EMBEDDED_STORE_FAILED",
            ) from None
        finally:
            await client.close()

    def _stop_leftover(self) -> None:
        """A server killed with -9 leaves its engine holding the data folder: stop that one."""
        pid_file = self.data_dir / "store.pid"
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            pid = int(pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if PROGRAM.encode() in cmdline and str(self.data_dir).encode() in cmdline:
                log.warning("stopping a leftover embedded store", extra={"pid": pid})
                os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)

    async def stop(self, grace: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), grace)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._log_file is not None:
            os.close(self._log_file)
            self._log_file = None
        (self.data_dir / "store.pid").unlink(missing_ok=True)
