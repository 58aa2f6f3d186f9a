"""One Docker Engine API connection: bounded, translated JSON requests over aiodocker."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiodocker
import aiohttp

from zanepool_server import deadline
from zanepool_server.drivers.swarm.errors import translate
from zanepool_server.drivers.tls import client_context
from zanepool_server.model import Credentials

#: The longest a single Engine API request may take, whatever the caller's deadline.
REQUEST_CAP = 10.0
CONNECT_TIMEOUT = 5.0
# The Engine API version we speak: Docker 20.10 and every later engine serve it.
API_VERSION = "v1.41"


def since_param(ns: int) -> str:
    """The Engine API's ``since``: seconds since the epoch with a nanosecond fraction."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def engine_url(endpoint: str, tls: bool) -> str:
    """The URL aiodocker should use for a validated ``unix://`` or ``tcp://`` endpoint."""
    if endpoint.startswith("tcp://"):
        return ("https://" if tls else "http://") + endpoint[len("tcp://") :]
    return endpoint


class Engine:
    """An Engine API client for one endpoint; reused across calls, closed once."""

    def __init__(self, endpoint: str, credentials: Credentials) -> None:
        self.endpoint = endpoint
        tls = endpoint.startswith("tcp://") and bool(credentials.cert_pem or credentials.ca_pem)
        self.docker = aiodocker.Docker(
            url=engine_url(endpoint, tls),
            ssl_context=client_context(credentials) if tls else None,
            api_version=API_VERSION,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, connect=CONNECT_TIMEOUT),
        )
        self._closed = False
        self._streams: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        *,
        cap: float = REQUEST_CAP,
    ) -> Any:
        """One JSON request, bounded by the call's deadline and ``cap``; errors translated."""
        if self._closed:
            raise RuntimeError("the engine connection is closed")
        with translate(self.endpoint, f"{method} /{path}"):
            async with asyncio.timeout(deadline.remaining(cap)):
                return await self.docker._query_json(path, method, params=params, data=body)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params)

    async def stream(
        self, path: str, params: dict[str, str], limits: aiohttp.ClientTimeout
    ) -> aiohttp.ClientResponse:
        """``GET`` a body that streams (a log), once its headers are in; errors raised as
        aiodocker's DockerError, for the caller's ``translate``.

        Asked over HTTP/1.0: the engine then sends the body as it is written, without the
        chunked framing of HTTP/1.1, and closes the connection at its end. A log is
        written a frame (a line) at a time and each HTTP chunk costs aiohttp a round of
        Python work, so that framing alone would double the cost of reading a log.
        """
        if self._closed:
            raise RuntimeError("the engine connection is closed")
        if self._streams is None:  # on the same connections (and TLS settings) as the rest
            self._streams = aiohttp.ClientSession(
                connector=self.docker.session.connector,
                connector_owner=False,
                version=aiohttp.HttpVersion10,
            )
        url = self.docker._canonicalize_url(path, versioned_api=True)
        response = await self._streams.get(url, params=params, timeout=limits)
        if response.status >= 400:
            try:
                what = await response.read()
            finally:
                response.close()
            try:
                message = str(json.loads(what)["message"])
            except (ValueError, KeyError, TypeError):
                message = what.decode("utf-8", "replace")
            raise aiodocker.DockerError(response.status, message)
        return response

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            if self._streams is not None:
                await self._streams.close()
            await self.docker.close()
