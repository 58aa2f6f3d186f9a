"""The direct path for GetPool(FULL): the Swarm driver's engine reads, made straight with aiodocker."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import Any

import aiodocker
import aiohttp

#: What SwarmDriver.snapshot reads, concurrently, for every FULL view.
READS: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("info", None),
    ("version", None),
    ("nodes", None),
    ("tasks", {"filters": '{"desired-state":["running"]}'}),
)


def _driver_setting(name: str, default: Any) -> Any:
    """The Swarm driver's own setting, wherever the driver keeps it (it moves as it grows)."""
    for module in ("zanepool_server.drivers.swarm.engine", "zanepool_server.drivers.swarm"):
        with contextlib.suppress(ImportError):
            value = getattr(importlib.import_module(module), name, None)
            if value is not None:
                return value
    return default


#: Pinned like the driver pins it (aiodocker would otherwise ask the engine first).
API_VERSION: str = _driver_setting("API_VERSION", "v1.41")
CONNECT_TIMEOUT: float = _driver_setting("CONNECT_TIMEOUT", 5.0)


class DirectEngine:
    """One aiodocker session to the engine, opened like the driver opens it (plain, no TLS)."""

    def __init__(self, endpoint: str) -> None:
        if not endpoint.startswith("unix://"):
            raise ValueError(f"the direct path reads a unix:// endpoint, not {endpoint}")
        self._docker = aiodocker.Docker(
            url=endpoint,
            api_version=API_VERSION,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, connect=CONNECT_TIMEOUT),
        )

    async def read(self) -> list[Any]:
        """The four reads at once, as the driver makes them; the JSON is parsed, as in the driver."""
        return await asyncio.gather(
            *(self._docker._query_json(path, params=params) for path, params in READS)
        )

    async def aclose(self) -> None:
        await self._docker.close()
