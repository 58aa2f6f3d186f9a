"""One API server connection: bounded, translated JSON requests over kubernetes_asyncio.

Requests go through ``ApiClient.call_api`` (authentication, TLS, the library's errors)
and answer plain JSON documents: the parsers read the API's own field names, and the
typed models' deserialisation is skipped. Lists are read in pages (``limit`` and
``continue``), each page a bounded request. ``stream`` opens a response whose body the
caller reads as it comes (a watch, a followed log).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from zanepool_server import deadline
from zanepool_server.drivers.kubernetes import config
from zanepool_server.drivers.kubernetes.errors import not_kubernetes, translate
from zanepool_server.errors import AlreadyExists, NotFound
from zanepool_server.model import Credentials

#: The longest a single API request may take, whatever the caller's deadline.
REQUEST_CAP = 10.0
CONNECT_TIMEOUT = 5.0
#: Items per page of a list.
PAGE = 500
_JSON = {200: "object", 201: "object", 202: "object"}
_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT)

Doc = dict[str, Any]


def path(*segments: str) -> str:
    """An API path from segments, each quoted (names are DNS names, but keys come from callers)."""
    return "/" + "/".join(quote(s, safe="") for s in segments)


class Kube:
    """An API client for one server; reused across calls, closed once."""

    def __init__(self, endpoint: str, credentials: Credentials) -> None:
        self.endpoint = endpoint
        self._api = config.api_client(config.access(endpoint, credentials))
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        *,
        merge_patch: bool = False,
    ) -> Doc:
        """One request answering a JSON object, bounded by the call's deadline and ``REQUEST_CAP``."""
        headers = {"Accept": "application/json"}
        if merge_patch:
            headers["Content-Type"] = "application/merge-patch+json"
        what = f"{method} {url}"
        async with self._bounded(what):
            answer = await self._api.call_api(
                url,
                method,
                query_params=dict(query or {}),
                header_params=headers,
                body=body,
                response_types_map=_JSON,
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _request_timeout=_TIMEOUT,
            )
        if not isinstance(answer, dict):
            raise not_kubernetes(self.endpoint, what, f"the answer is not a JSON object: {answer!s:.100}")
        return answer

    async def create(
        self, url: str, namespace: str, body: Doc, *, dry_run: bool, taken: AlreadyExists
    ) -> Doc:
        """POST a new object into a namespace (``dry_run``: the server's dry run). Its name in
        use raises ``taken``; a namespace that does not exist, NAMESPACE_NOT_FOUND."""
        try:
            return await self.request("POST", url, {"dryRun": "All"} if dry_run else None, body)
        except AlreadyExists as exc:
            raise taken from exc
        except NotFound as exc:
            raise NotFound(
                f"namespace {namespace} does not exist",
                reason="NAMESPACE_NOT_FOUND",
                metadata={"namespace": namespace},
            ) from exc

    async def get(self, url: str, query: Mapping[str, str] | None = None) -> Doc:
        return await self.request("GET", url, query)

    async def items(self, url: str, query: Mapping[str, str] | None = None) -> list[Doc]:
        """Every item of a list, read page by page."""
        out: list[Doc] = []
        params = {**(query or {}), "limit": str(PAGE)}
        while True:
            page = await self.get(url, params)
            items = page.get("items") or []
            if not isinstance(items, list):
                raise not_kubernetes(self.endpoint, f"GET {url}", "its items are not a list")
            out.extend(i for i in items if isinstance(i, dict))
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return out
            params["continue"] = str(token)

    async def stream(
        self,
        url: str,
        query: Mapping[str, str] | None = None,
        *,
        accept: str = "application/json",
        read_timeout: float | None = None,
    ) -> aiohttp.ClientResponse:
        """A GET whose body is read as it arrives: the response once its headers are in (bounded
        by the call's deadline), for the caller to read and close; ``read_timeout`` bounds
        each read of the body (None: a watch or followed log may be silent for long). An
        error answer raises its domain error."""
        what = f"GET {url}"
        timeout = aiohttp.ClientTimeout(
            total=None, connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT, sock_read=read_timeout
        )
        async with self._bounded(what):
            response: Any = await self._api.call_api(
                url,
                "GET",
                query_params=dict(query or {}),
                header_params={"Accept": accept},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
            if not isinstance(response, aiohttp.ClientResponse):
                raise TypeError(f"the client answered {type(response).__name__}, not a response")
            if response.status < 300:
                return response
            try:
                body = await response.read()
            finally:
                response.close()
            failure = ApiException(status=response.status, reason=response.reason)
            failure.body = body
            raise failure  # translate makes it the domain error

    @contextlib.asynccontextmanager
    async def _bounded(self, what: str) -> AsyncIterator[None]:
        """The frame of one request: refused once closed, bounded by the call's deadline and
        ``REQUEST_CAP``, its failures translated to domain errors."""
        if self._closed:
            raise RuntimeError("the API server connection is closed")
        with translate(self.endpoint, what):
            async with asyncio.timeout(deadline.remaining(REQUEST_CAP)):
                yield

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._api.close()
