"""The store: pools, their snapshots, monitor leases and Zane Pool's own events in MongoDB.

Plain MongoDB only (it must run against a real replica set as well as the embedded
engine). Every operation is bounded by the current call's deadline through PyMongo's
client-side timeout, and every PyMongo failure is translated here, once, into a domain
error: a store that is down gives StoreUnavailable, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pymongo
from bson import ObjectId
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from zanepool_server import deadline
from zanepool_server.errors import AlreadyExists, StoreUnavailable
from zanepool_server.model import (
    ClusterInfo,
    ClusterSnapshot,
    Credentials,
    Driver,
    NodeSummary,
    Pool,
    PoolState,
    dict_to_pairs,
    pairs_to_dict,
)
from zanepool_server.query import Expr, Order
from zanepool_server.store import mongo_query

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Filter field -> document path of the pools collection.
POOL_PATHS: Mapping[str, str] = {
    "name": "_id",
    "display_name": "display_name",
    "driver": "driver",
    "state": "state",
    "endpoint": "endpoint",
    "labels": "labels",
    "create_time": "create_time",
    "update_time": "update_time",
    "cluster_id": "cluster_id",
}

_INDEXES: dict[str, list[pymongo.IndexModel]] = {
    "pools": [
        pymongo.IndexModel([("cluster_id", 1)], name="cluster_id_unique", unique=True),
        pymongo.IndexModel([("create_time", 1), ("_id", 1)], name="create_time"),
        pymongo.IndexModel([("update_time", 1), ("_id", 1)], name="update_time"),
        pymongo.IndexModel([("display_name", 1), ("_id", 1)], name="display_name"),
        pymongo.IndexModel([("labels.k", 1), ("labels.v", 1)], name="labels"),
    ],
    "events": [
        pymongo.IndexModel([("pool", 1), ("time", 1)], name="pool_time"),
        pymongo.IndexModel([("time", 1), ("_id", 1)], name="time_id"),
    ],
}


#: How often an idle change stream proves that the store is still there.
WATCH_BEAT = 0.25

#: The longest one store operation may take: a store that has not answered by then is down.
STORE_CAP = 5.0


@contextlib.contextmanager
def _translated(what: str) -> Any:
    """Bound a store operation by the call's deadline and translate PyMongo's errors."""
    left = deadline.remaining(STORE_CAP)
    if left <= 0:
        raise StoreUnavailable(f"no time left for the store to {what}", metadata={"operation": what})
    try:
        with pymongo.timeout(left):
            yield
    except DuplicateKeyError:
        raise
    except PyMongoError as exc:
        why = "timed out" if exc.timeout else type(exc).__name__
        raise StoreUnavailable(f"the store could not {what}: {why}", metadata={"operation": what}) from exc


class Store:
    """The database behind the server. Open once with :meth:`open`, close with :meth:`aclose`."""

    def __init__(self, uri: str, *, database: str = "zanepool") -> None:
        # tz_aware: datetimes come back in UTC with tzinfo, as the domain writes them.
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri, tz_aware=True, connect=False, serverSelectionTimeoutMS=5000, appname="zanepool-server"
        )
        self._db = self._client[database]
        self._schema_task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pools(self) -> AsyncCollection[dict[str, Any]]:
        return self._db["pools"]

    async def open(self) -> None:
        """Create collections and indexes; retried in the background while the store is down."""
        if self._closed:
            raise RuntimeError("the store is closed")
        self._schema_task = asyncio.create_task(self._ensure_schema(), name="store-schema")

    async def _ensure_schema(self) -> None:
        delay = 0.2
        while True:
            try:
                with pymongo.timeout(10):
                    for coll, models in _INDEXES.items():
                        await self._db[coll].create_indexes(models)
                log.info("store schema ready")
                return
            except PyMongoError as exc:
                log.warning("store not ready, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _ready(self) -> None:
        """Writes that rely on unique indexes wait for them (bounded by the deadline)."""
        task = self._schema_task
        if task is None:
            raise RuntimeError("the store is not open")
        if not task.done():
            try:
                async with asyncio.timeout(deadline.remaining(STORE_CAP)):
                    await asyncio.shield(task)
            except TimeoutError:
                raise StoreUnavailable("the store is not ready yet (creating indexes)") from None

    async def ping(self) -> None:
        with _translated("answer a ping"):
            await self._client.admin.command("ping")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._schema_task is not None:
            self._schema_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._schema_task
        await self._client.close()

    # --- pools ---------------------------------------------------------------------------

    async def insert_pool(self, pool: Pool) -> None:
        await self._ready()
        try:
            with _translated("store the pool"):
                await self.pools.insert_one(pool_to_doc(pool))
        except DuplicateKeyError as exc:
            details = exc.details or {}
            key = details.get("keyPattern") or details.get("keyValue") or {}
            if "cluster_id" in key or "cluster_id" in str(exc):
                raise AlreadyExists(
                    f"the cluster {pool.cluster_id} is already registered as another pool",
                    reason="CLUSTER_ALREADY_REGISTERED",
                    metadata={"cluster_id": pool.cluster_id, "pool": pool.name},
                ) from exc
            raise AlreadyExists(
                f"{pool.name} already exists", reason="POOL_ALREADY_EXISTS", metadata={"pool": pool.name}
            ) from exc

    async def find_pool_by_cluster(self, cluster_id: str) -> str | None:
        with _translated("look up the cluster"):
            doc = await self.pools.find_one({"cluster_id": cluster_id}, {"_id": 1})
        return None if doc is None else str(doc["_id"])

    async def get_pool(self, pool_id: str) -> Pool | None:
        with _translated("read the pool"):
            doc = await self.pools.find_one({"_id": pool_id})
        return None if doc is None else pool_from_doc(doc)

    async def list_pools(
        self, expr: Expr | None, order: Order, after: Sequence[Any] | None, limit: int
    ) -> list[Pool]:
        query = mongo_query.to_mongo(expr, POOL_PATHS)
        if after is not None:
            query = {"$and": [query, mongo_query.after(order, POOL_PATHS, after)]}
        with _translated("list pools"):
            cursor = self.pools.find(query, sort=mongo_query.sort_spec(order, POOL_PATHS), limit=limit)
            return [pool_from_doc(doc) async for doc in cursor]

    async def replace_pool(self, pool: Pool, *, expected_etag: str) -> Pool | None:
        """Replace the user fields when the stored etag is ``expected_etag``; None when it is not."""
        fields = {
            "display_name": pool.display_name,
            "labels": dict_to_pairs(pool.labels),
            "endpoint": pool.endpoint,
            "credentials": pool.credentials.to_doc(),
            "node_endpoints": dict_to_pairs(pool.node_endpoints),
            "update_time": pool.update_time,
            "etag": pool.etag,
        }
        with _translated("update the pool"):
            doc = await self.pools.find_one_and_update(
                {"_id": pool.pool_id, "etag": expected_etag},
                {"$set": fields},
                return_document=ReturnDocument.AFTER,
            )
        return None if doc is None else pool_from_doc(doc)

    async def delete_pool(self, pool_id: str, *, expected_etag: str | None) -> bool:
        query: dict[str, Any] = {"_id": pool_id}
        if expected_etag:
            query["etag"] = expected_etag
        with _translated("delete the pool"):
            result = await self.pools.delete_one(query)
        return result.deleted_count == 1

    async def save_sync(
        self,
        pool_id: str,
        uid: str,
        *,
        state: PoolState,
        message: str,
        snapshot: ClusterSnapshot | None,
        synced_at: datetime,
    ) -> Pool | None:
        """Record a sync of the pool registered as ``uid`` (a re-registration is left alone).

        A failed sync (no snapshot) keeps the last snapshot and last_sync_time.
        """
        fields: dict[str, Any] = {"state": state.value, "state_message": message}
        if snapshot is not None:
            fields |= {
                "info": snapshot.info.to_doc(),
                "nodes": [n.to_doc() for n in snapshot.nodes],
                "last_sync_time": synced_at,
            }
        with _translated("record the sync"):
            doc = await self.pools.find_one_and_update(
                {"_id": pool_id, "uid": uid}, {"$set": fields}, return_document=ReturnDocument.AFTER
            )
        return None if doc is None else pool_from_doc(doc)

    async def all_pools(self) -> list[Pool]:
        with _translated("list pools"):
            return [pool_from_doc(doc) async for doc in self.pools.find({}, sort=[("_id", 1)])]

    @contextlib.asynccontextmanager
    async def watch_pools(self) -> AsyncIterator[AsyncIterator[tuple[str, Pool | None] | None]]:
        """Every later change to the pools, as (pool id, the pool now or None when deleted).

        Opened before a full read, so that nothing that changes in between is missed. While
        nothing changes it yields None every ``WATCH_BEAT`` seconds: proof that the store is
        still there. The stream ends with StoreUnavailable when the store goes away.
        """

        def change(doc: Mapping[str, Any]) -> tuple[str, Pool | None]:
            full = doc.get("fullDocument")
            return str(doc["documentKey"]["_id"]), None if full is None else pool_from_doc(full)

        async with self._watch(self.pools, "pools", change, full_document="updateLookup") as changes:
            yield changes

    @contextlib.asynccontextmanager
    async def _watch(
        self,
        collection: AsyncCollection[dict[str, Any]],
        what: str,
        convert: Callable[[Mapping[str, Any]], T],
        pipeline: Sequence[Mapping[str, Any]] = (),
        **options: Any,
    ) -> AsyncIterator[AsyncIterator[T | None]]:
        """A change stream on ``collection``: each change converted, None every ``WATCH_BEAT``
        seconds while nothing changes; StoreUnavailable when it cannot open or breaks."""
        try:
            stream = await collection.watch(
                list(pipeline), max_await_time_ms=int(WATCH_BEAT * 1000), **options
            )
        except PyMongoError as exc:
            raise StoreUnavailable(f"the store cannot watch {what}: {type(exc).__name__}") from exc

        async def changes() -> AsyncIterator[T | None]:
            try:
                while True:
                    change = await stream.try_next()
                    yield None if change is None else convert(change)
            except PyMongoError as exc:
                raise StoreUnavailable(f"the {what} change stream broke: {type(exc).__name__}") from exc

        try:
            yield changes()
        finally:
            with contextlib.suppress(PyMongoError):
                await stream.close()

    async def pool_ids(self) -> list[tuple[str, str]]:
        """(pool_id, uid) of every pool, for the monitor."""
        with _translated("list pools"):
            return [(str(d["_id"]), str(d["uid"])) async for d in self.pools.find({}, {"uid": 1})]

    # --- leases (one monitor per pool across server replicas) -----------------------------

    async def try_lease(self, key: str, owner: str, ttl: float) -> bool:
        """Take or renew the lease ``key`` for ``ttl`` seconds; False while another owner holds it."""
        now = datetime.now(UTC)
        try:
            with _translated("take a lease"):
                await self._db["leases"].find_one_and_update(
                    {"_id": key, "$or": [{"owner": owner}, {"expires": {"$lt": now}}]},
                    {"$set": {"owner": owner, "expires": now + timedelta(seconds=ttl)}},
                    upsert=True,
                )
        except DuplicateKeyError:
            return False  # the upsert lost: someone else holds an unexpired lease
        return True

    async def release_lease(self, key: str, owner: str) -> None:
        with _translated("release a lease"):
            await self._db["leases"].delete_one({"_id": key, "owner": owner})

    async def drop_lease(self, key: str) -> None:
        """Forget a lease whoever holds it (its pool is gone)."""
        with _translated("drop a lease"):
            await self._db["leases"].delete_one({"_id": key})

    # --- Zane Pool's own events -------------------------------------------------------------

    async def append_event(self, event: Mapping[str, Any]) -> None:
        with _translated("record an event"):
            await self._db["events"].insert_one(dict(event))

    async def events(self, pool: str | None = None) -> AsyncIterator[dict[str, Any]]:
        query = {} if pool is None else {"pool": pool}
        with _translated("read events"):
            async for doc in self._db["events"].find(query, sort=[("time", 1), ("_id", 1)]):
                yield doc

    async def event_page(
        self,
        *,
        pool: str | None,
        since: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` stored events in (time, id) order: of one pool (its name) or of all,
        at or after ``since``, and after ``after`` (the (time, id) of the last event of the
        page before). Ids come back as their hex text."""
        clauses: list[dict[str, Any]] = []
        if pool is not None:
            clauses.append({"pool": pool})
        if since is not None:
            clauses.append({"time": {"$gte": since}})
        if after is not None:
            when, oid = after[0], ObjectId(after[1])
            clauses.append({"$or": [{"time": {"$gt": when}}, {"time": when, "_id": {"$gt": oid}}]})
        query = {"$and": clauses} if clauses else {}
        with _translated("read events"):
            cursor = self._db["events"].find(query, sort=[("time", 1), ("_id", 1)], limit=limit)
            return [_event_from_doc(doc) async for doc in cursor]

    @contextlib.asynccontextmanager
    async def watch_events(self) -> AsyncIterator[AsyncIterator[dict[str, Any] | None]]:
        """Every event stored from now on (by any server replica), as ``event_page`` gives
        them; None every ``WATCH_BEAT`` seconds while there is none. Opened before a read of
        the stored ones, so that nothing stored in between is missed."""

        def inserted(change: Mapping[str, Any]) -> dict[str, Any]:
            return _event_from_doc(change["fullDocument"])

        inserts = [{"$match": {"operationType": "insert"}}]
        async with self._watch(self._db["events"], "events", inserted, inserts) as changes:
            yield changes


def _event_from_doc(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {**doc, "_id": str(doc["_id"])}


def pool_to_doc(pool: Pool) -> dict[str, Any]:
    return {
        "_id": pool.pool_id,
        "uid": pool.uid,
        "driver": pool.driver.value,
        "endpoint": pool.endpoint,
        "display_name": pool.display_name,
        "labels": dict_to_pairs(pool.labels),
        "credentials": pool.credentials.to_doc(),
        "state": pool.state.value,
        "state_message": pool.state_message,
        "cluster_id": pool.cluster_id,
        "info": pool.info.to_doc(),
        "nodes": [n.to_doc() for n in pool.nodes],
        "create_time": pool.create_time,
        "update_time": pool.update_time,
        "last_sync_time": pool.last_sync_time,
        "etag": pool.etag,
        "node_endpoints": dict_to_pairs(pool.node_endpoints),
    }


def pool_from_doc(doc: Mapping[str, Any]) -> Pool:
    return Pool(
        pool_id=str(doc["_id"]),
        uid=str(doc["uid"]),
        driver=Driver(doc["driver"]),
        endpoint=doc["endpoint"],
        display_name=doc.get("display_name", ""),
        labels=pairs_to_dict(doc.get("labels")),
        credentials=Credentials.from_doc(doc.get("credentials")),
        state=PoolState(doc.get("state", "READY")),
        state_message=doc.get("state_message", ""),
        cluster_id=doc.get("cluster_id", ""),
        info=ClusterInfo.from_doc(doc.get("info")),
        nodes=tuple(NodeSummary.from_doc(n) for n in doc.get("nodes") or ()),
        create_time=doc.get("create_time"),
        update_time=doc.get("update_time"),
        last_sync_time=doc.get("last_sync_time"),
        etag=doc.get("etag", ""),
        node_endpoints=pairs_to_dict(doc.get("node_endpoints")),
    )
