"""The two clients: the generated facade (:class:`~zanepool_client._api.Api`) over a convention."""

from __future__ import annotations

from zanepool_client._api import Api
from zanepool_client.aio import AsyncCalls
from zanepool_client.sync import SyncCalls


class ZanePoolClient(AsyncCalls, Api):
    """The asyncio client: ``await ZanePoolClient.connect("host:50051")`` or ``ZanePoolClient(channel)``.

    One method per RPC (``register_pool``, ``get_pool``, ``list_nodes``, ``stream_logs``, ...):
    the request message or its fields as keywords, plus ``timeout`` and ``metadata``. Unary
    methods return the response's resource (``None`` for deletes); ``list_*`` are async
    iterators over every page (``list_*_page`` returns one response); ``stream_logs`` and
    ``watch_events`` reconnect after the last cursor on UNAVAILABLE. Failures raise
    :class:`~zanepool_client.errors.ZanePoolRpcError` subclasses.
    """


class ZanePoolSyncClient(SyncCalls, Api):
    """The blocking twin of :class:`ZanePoolClient`, for scripts (``with`` instead of ``async with``)."""
