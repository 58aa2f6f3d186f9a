"""The direct path for GetPool(FULL): the Swarm driver's engine reads, made straight with aiodocker."""

from __future__ import annotations

import asyncio
from typing import Any

import aiodocker
import aiohttp

# The API version and connect timeout the driver pins (aiodocker would otherwise ask the engine first).
from zanepool_server.drivers.swarm.engine import API_VERSION, CONNECT_TIMEOUT

#: What SwarmDriver.snapshot reads, concurrently, for every FULL view.
READS: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("info", None),
    ("version", None),
    ("nodes", None),
    ("tasks", {"filters": '{"desired-state":["running"]}'}),
)


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
