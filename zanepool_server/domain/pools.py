"""Pools: registration, reads, updates, deregistration and syncs with their clusters."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from zanepool_server import deadline
from zanepool_server.domain import paging, validation
from zanepool_server.domain.connections import Connections
from zanepool_server.domain.events import EventLog
from zanepool_server.domain.listing import select
from zanepool_server.domain.pool_cache import PoolCache
from zanepool_server.drivers.base import ClusterDriver, DriverFactory
from zanepool_server.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ZanePoolError,
)
from zanepool_server.model import (
    Capability,
    ClusterSnapshot,
    Credentials,
    Driver,
    EngineSpec,
    Pool,
    PoolState,
)
from zanepool_server.query import (
    And,
    Compare,
    Expr,
    Field,
    Kind,
    Not,
    Or,
    parse_filter,
    parse_order_by,
)
from zanepool_server.store.mongo import Store

log = logging.getLogger(__name__)

FILTER_SPEC: Mapping[str, Field] = {
    "name": Field(Kind.STRING),
    "display_name": Field(Kind.STRING),
    "endpoint": Field(Kind.STRING),
    "driver": Field(Kind.ENUM, tuple(d.value for d in Driver), "DRIVER_"),
    "state": Field(Kind.ENUM, tuple(s.value for s in PoolState), "STATE_"),
    "labels": Field(Kind.MAP),
    "create_time": Field(Kind.TIMESTAMP),
    "update_time": Field(Kind.TIMESTAMP),
}
ORDER_FIELDS = ("name", "display_name", "create_time", "update_time", "state", "driver")
MUTABLE = ("display_name", "labels", "endpoint", "credentials", "node_endpoints")

#: How long a FULL view waits on the cluster before it answers with the last snapshot.
FULL_VIEW_CAP = 5.0
#: How long a registration or refresh waits on the cluster.
CONTACT_CAP = 15.0
#: How long building a new cluster may take, and how many engines one call may bring.
CREATE_CAP = 120.0
MAX_CREATE_ENGINES = 50


@dataclass(frozen=True)
class PoolDraft:
    """What a caller gives to register a pool."""

    driver: Driver
    endpoint: str
    display_name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    credentials: Credentials = field(default_factory=Credentials)
    node_endpoints: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PoolPatch:
    """An UpdatePool: the new values and the mask paths that say which to apply."""

    paths: tuple[str, ...]
    values: PoolDraft
    etag: str = ""


@dataclass(frozen=True)
class Page:
    pools: list[Pool]
    next_page_token: str


def _now() -> datetime:
    # MongoDB keeps milliseconds: round here so what we return equals what we store.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _etag() -> str:
    return uuid.uuid4().hex[:16]


class Pools:
    """The pool domain. Owns the per-pool driver connections."""

    def __init__(self, store: Store, drivers: DriverFactory, *, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._drivers = drivers
        self._connections = Connections(drivers)
        self._events = EventLog(store)
        self._clock = clock
        self.cache = PoolCache(store)

    def start(self) -> None:
        """Start following the store (the in-memory mirror that answers reads)."""
        self.cache.start()

    async def aclose(self) -> None:
        await self.cache.aclose()
        await self._connections.aclose()

    # --- reads --------------------------------------------------------------------------------

    async def get(self, pool_id: str) -> Pool:
        # A miss may be a pool another replica registered a moment ago: ask the store.
        pool = self.cache.get(pool_id) or await self._store.get_pool(pool_id)
        if pool is None:
            raise NotFound(
                f"pools/{pool_id} does not exist",
                reason="POOL_NOT_FOUND",
                metadata={"pool": f"pools/{pool_id}"},
            )
        return pool

    async def targets(self, pool_id: str) -> list[Pool]:
        """The pools a child list reads: one pool, or every pool for ``-``."""
        if pool_id != "-":
            return [await self.get(pool_id)]
        cached = self.cache.all()
        return (
            sorted(cached, key=lambda p: p.pool_id) if cached is not None else await self._store.all_pools()
        )

    def driver(self, pool: Pool) -> ClusterDriver:
        """The pool's open driver connection."""
        return self._connections.for_pool(pool)

    async def get_full(self, pool_id: str) -> Pool:
        """The stored pool merged with a live read; the last snapshot when the cluster is slow or down."""
        pool = await self.get(pool_id)
        try:
            with deadline.scope(deadline.remaining(FULL_VIEW_CAP)):
                snap = await self._connections.for_pool(pool).snapshot()
            self._check_identity(pool, snap)
        except ZanePoolError as exc:
            seen = pool.last_sync_time.isoformat() if pool.last_sync_time else "never"
            return pool.with_changes(
                state=PoolState.UNREACHABLE,
                state_message=f"live read failed ({exc.message}); showing the snapshot of {seen}",
            )
        state, message = snap.state()
        return pool.with_changes(
            info=snap.info, nodes=snap.nodes, state=state, state_message=message, last_sync_time=self._clock()
        )

    async def list(self, *, filter_text: str, order_by: str, page_size: int, page_token: str) -> Page:
        size = validation.page_size(page_size)
        expr = _pool_ids_in(parse_filter(filter_text, FILTER_SPEC))
        order = parse_order_by(order_by, ORDER_FIELDS)
        query = paging.fingerprint("pools", filter_text, order.text())
        after = paging.decode(page_token, query, len(order.keys))
        cached = self.cache.all()
        if cached is not None:
            pools, last = select(cached, _column, expr, order, after, size)
            return Page(pools, "" if last is None else paging.encode(query, last))
        # One more than asked tells whether a next page exists without a second query.
        pools = await self._store.list_pools(expr, order, after, size + 1)
        token = ""
        if len(pools) > size:
            pools = pools[:size]
            token = paging.encode(query, [_column(pools[-1], f, "") for f, _ in order.keys])
        return Page(pools, token)

    # --- registration ---------------------------------------------------------------------------

    async def register(self, pool_id: str, draft: PoolDraft, *, validate_only: bool = False) -> Pool:
        validation.pool_id(pool_id)
        draft = _checked(draft)
        if await self._store.get_pool(pool_id) is not None:
            raise AlreadyExists(
                f"pools/{pool_id} already exists",
                reason="POOL_ALREADY_EXISTS",
                metadata={"pool": f"pools/{pool_id}"},
            )
        driver = self._drivers.open(draft.driver, draft.endpoint, draft.credentials, draft.node_endpoints)
        adopted = False
        try:
            with deadline.scope(deadline.remaining(CONTACT_CAP)):
                snap = await driver.snapshot()
            if not snap.cluster_id:
                raise FailedPrecondition(
                    f"{draft.endpoint} reports no cluster id",
                    reason="NO_CLUSTER_ID",
                    metadata={"endpoint": draft.endpoint},
                )
            existing = await self._store.find_pool_by_cluster(snap.cluster_id)
            if existing is not None:
                raise AlreadyExists(
                    f"this cluster is already registered as pools/{existing}",
                    reason="CLUSTER_ALREADY_REGISTERED",
                    metadata={"cluster_id": snap.cluster_id, "pool": f"pools/{existing}"},
                )
            now = self._clock()
            state, message = snap.state()
            pool = Pool(
                pool_id=pool_id,
                uid=str(uuid.uuid4()),
                driver=draft.driver,
                endpoint=draft.endpoint,
                display_name=draft.display_name,
                labels=draft.labels,
                credentials=draft.credentials,
                node_endpoints=draft.node_endpoints,
                state=state,
                state_message=message,
                cluster_id=snap.cluster_id,
                info=snap.info,
                nodes=snap.nodes,
                create_time=now,
                update_time=now,
                last_sync_time=now,
                etag=_etag(),
            )
            if validate_only:
                return pool
            await self._store.insert_pool(pool)
            self.cache.wrote(pool)
            self._connections.adopt(pool, driver)
            adopted = True
        finally:
            if not adopted:
                await driver.aclose()
        await self._events.record(
            pool.name,
            "registered",
            {"driver": pool.driver.value, "endpoint": pool.endpoint, "state": state.value},
        )
        return pool

    async def create(
        self, pool_id: str, draft: PoolDraft, engines: Sequence[EngineSpec], *, validate_only: bool = False
    ) -> Pool:
        """Build a new cluster from bare engines, then register it; undo the cluster if that fails."""
        validation.pool_id(pool_id)
        if not engines:
            raise InvalidArgument.field("engines", "name at least one engine", reason="MISSING_FIELD")
        if len(engines) > MAX_CREATE_ENGINES:
            raise InvalidArgument.field(
                "engines", f"at most {MAX_CREATE_ENGINES} engines", reason="TOO_MANY_ENGINES"
            )
        seen: set[str] = set()
        for i, engine in enumerate(engines):
            validation.endpoint(draft.driver, engine.endpoint, f"engines[{i}].endpoint")
            validation.credentials(
                draft.driver, engine.endpoint, engine.credentials, f"engines[{i}].credentials"
            )
            if engine.endpoint in seen:
                raise InvalidArgument.field(
                    f"engines[{i}].endpoint", "is given twice", reason="DUPLICATE_ENGINE"
                )
            seen.add(engine.endpoint)
        first = engines[0]
        draft = replace(draft, endpoint=first.endpoint, credentials=first.credentials)
        _checked(draft)
        if await self._store.get_pool(pool_id) is not None:
            raise AlreadyExists(
                f"pools/{pool_id} already exists",
                reason="POOL_ALREADY_EXISTS",
                metadata={"pool": f"pools/{pool_id}"},
            )
        if validate_only:
            return Pool(
                pool_id=pool_id,
                uid="",
                driver=draft.driver,
                endpoint=draft.endpoint,
                display_name=draft.display_name,
                labels=draft.labels,
                credentials=draft.credentials,
            )
        with deadline.scope(deadline.remaining(CREATE_CAP)):
            manager, node_endpoints = await self._drivers.create_cluster(draft.driver, engines)
        try:
            return await self.register(
                pool_id, replace(draft, endpoint=manager, node_endpoints=node_endpoints)
            )
        except ZanePoolError:
            await self._drivers.dissolve_cluster(draft.driver, engines)
            raise

    async def update(self, pool_id: str, patch: PoolPatch) -> Pool:
        current = await self.get(pool_id)
        if patch.etag and patch.etag != current.etag:
            raise Aborted(
                f"pools/{pool_id} has changed since etag {patch.etag} was read",
                reason="ETAG_MISMATCH",
                metadata={"pool": current.name, "etag": current.etag},
            )
        changed = _apply(current, patch)
        _checked(
            PoolDraft(
                changed.driver,
                changed.endpoint,
                changed.display_name,
                changed.labels,
                changed.credentials,
                changed.node_endpoints,
            )
        )
        if (changed.endpoint, changed.credentials) != (current.endpoint, current.credentials):
            await self._verify_same_cluster(changed)
        changed = changed.with_changes(update_time=self._clock(), etag=_etag())
        stored = await self._store.replace_pool(changed, expected_etag=current.etag)
        if stored is not None:
            self.cache.wrote(stored)
        if stored is None:
            raise Aborted(
                f"pools/{pool_id} was changed or deleted by another call; read it again",
                reason="CONCURRENT_MODIFICATION",
                metadata={"pool": current.name},
            )
        await self._events.record(stored.name, "updated", {"fields": ",".join(patch.paths)})
        return stored

    async def record_node_endpoint(self, pool: Pool, node_id: str, endpoint: str | None) -> None:
        """Remember (or, with None, forget) the engine endpoint of a node the server added or removed."""
        for _ in range(5):  # a concurrent UpdatePool changes the etag: read again and retry
            current = await self.get(pool.pool_id)
            endpoints = dict(current.node_endpoints)
            if endpoint is None:
                if endpoints.pop(node_id, None) is None:
                    return
            else:
                endpoints[node_id] = endpoint
            changed = current.with_changes(node_endpoints=endpoints, update_time=self._clock(), etag=_etag())
            stored = await self._store.replace_pool(changed, expected_etag=current.etag)
            if stored is not None:
                self.cache.wrote(stored)
                return
        raise Aborted(
            f"{pool.name} kept changing while recording node {node_id}'s engine; retry",
            reason="CONCURRENT_MODIFICATION",
            metadata={"pool": pool.name},
        )

    async def _verify_same_cluster(self, pool: Pool) -> None:
        driver = self._drivers.open(pool.driver, pool.endpoint, pool.credentials, pool.node_endpoints)
        try:
            with deadline.scope(deadline.remaining(CONTACT_CAP)):
                snap = await driver.snapshot()
        finally:
            await driver.aclose()
        self._check_identity(pool, snap)

    @staticmethod
    def _check_identity(pool: Pool, snap: ClusterSnapshot) -> None:
        if snap.cluster_id != pool.cluster_id:
            raise FailedPrecondition(
                f"{pool.endpoint} now answers for cluster {snap.cluster_id}, "
                f"not the registered {pool.cluster_id}",
                reason="CLUSTER_MISMATCH",
                metadata={
                    "endpoint": pool.endpoint,
                    "cluster_id": snap.cluster_id,
                    "registered_cluster_id": pool.cluster_id,
                },
            )

    async def delete(self, pool_id: str, etag: str = "") -> None:
        current = await self.get(pool_id)
        if etag and etag != current.etag:
            raise Aborted(
                f"pools/{pool_id} has changed since etag {etag} was read",
                reason="ETAG_MISMATCH",
                metadata={"pool": current.name, "etag": current.etag},
            )
        if not await self._store.delete_pool(pool_id, expected_etag=current.etag):
            raise Aborted(
                f"pools/{pool_id} was changed or deleted by another call; read it again",
                reason="CONCURRENT_MODIFICATION",
                metadata={"pool": current.name},
            )
        self.cache.deleted(pool_id)
        self._connections.forget(pool_id)
        await self._store.drop_lease(f"monitor:{pool_id}")
        await self._events.record(current.name, "deleted")

    # --- syncs ---------------------------------------------------------------------------------

    async def refresh(self, pool_id: str) -> Pool:
        pool = await self.get(pool_id)
        with deadline.scope(deadline.remaining(CONTACT_CAP)):
            return await self.sync(pool)

    async def sync(self, pool: Pool) -> Pool:
        """Read the cluster, store what was seen and move the state; never raises for the cluster."""
        snap: ClusterSnapshot | None = None
        try:
            snap = await self._connections.for_pool(pool).snapshot()
            self._check_identity(pool, snap)
            state, message = snap.state()
        except ZanePoolError as exc:
            snap = None
            state, message = PoolState.UNREACHABLE, exc.message
        stored = await self._store.save_sync(
            pool.pool_id, pool.uid, state=state, message=message, snapshot=snap, synced_at=self._clock()
        )
        if stored is None:
            self.cache.deleted(pool.pool_id)
            raise NotFound(
                f"{pool.name} was deleted during the sync",
                reason="POOL_NOT_FOUND",
                metadata={"pool": pool.name},
            )
        self.cache.wrote(stored)
        if stored.state != pool.state:
            log.info(
                "pool state changed",
                extra={"pool": pool.name, "old": pool.state.value, "new": stored.state.value, "why": message},
            )
            await self._events.record(
                pool.name,
                "state_changed",
                {"old_state": pool.state.value, "new_state": stored.state.value},
                message,
            )
        return stored

    async def sync_by_id(self, pool_id: str, uid: str) -> Pool | None:
        pool = await self._store.get_pool(pool_id)
        if pool is None or pool.uid != uid:
            return None
        return await self.sync(pool)

    def capabilities(self, kind: Driver) -> frozenset[Capability]:
        return self._drivers.capabilities(kind)


def _pool_ids_in(expr: Expr | None) -> Expr | None:
    """Filters name pools by resource name (`pools/x`); the store keys them by id (`x`)."""
    if expr is None:
        return None
    if isinstance(expr, Compare):
        if expr.field == "name" and isinstance(expr.value, str):
            return replace(expr, value=expr.value.removeprefix("pools/"))
        return expr
    if isinstance(expr, Not):
        return Not(_pool_ids_in(expr.item))  # type: ignore[arg-type]
    items = tuple(_pool_ids_in(e) for e in expr.items)
    return And(items) if isinstance(expr, And) else Or(items)  # type: ignore[arg-type]


def _column(pool: Pool, field: str, key: str) -> Any:
    """A pool's value for filters and ordering, as the store holds it (name is the pool id)."""
    if field == "labels":
        return pool.labels.get(key)
    if field == "name":
        return pool.pool_id
    value = getattr(pool, field)
    return value.value if isinstance(value, Driver | PoolState) else value


def _checked(draft: PoolDraft) -> PoolDraft:
    validation.endpoint(draft.driver, draft.endpoint)
    validation.display_name(draft.display_name)
    validation.labels(draft.labels)
    validation.credentials(draft.driver, draft.endpoint, draft.credentials)
    validation.node_endpoints(draft.driver, draft.node_endpoints)
    return draft


_SCALARS = ("display_name", "endpoint", "credentials")
_MAPS = ("labels", "node_endpoints")


def _apply(pool: Pool, patch: PoolPatch) -> Pool:
    """Apply an update mask (AIP-134): whole fields, or single keys of map fields."""
    if not patch.paths:
        raise InvalidArgument.field(
            "update_mask", f"name at least one field: {', '.join(MUTABLE)}", reason="MISSING_UPDATE_MASK"
        )
    changes: dict[str, Any] = {m: dict(getattr(pool, m)) for m in _MAPS}
    for path in patch.paths:
        base, _, key = path.partition(".")
        if path == "*":
            changes |= {f: getattr(patch.values, f) for f in (*_SCALARS, *_MAPS)}
        elif path in _SCALARS or path in _MAPS:
            changes[path] = getattr(patch.values, path)
        elif base in _MAPS and key:
            if base == "labels":
                validation.label_key(key, "update_mask")
            given = getattr(patch.values, base)
            if key in given:
                changes[base][key] = given[key]
            else:
                changes[base].pop(key, None)  # a masked key absent from the values is removed
        else:
            reason = "FIELD_NOT_MUTABLE" if base in _ALL_FIELDS else "UNKNOWN_FIELD"
            raise InvalidArgument.field(
                "update_mask",
                f"{path!r} cannot be updated; mutable: {', '.join(MUTABLE)}",
                reason=reason,
                metadata={"path": path},
            )
    return pool.with_changes(**changes)


_ALL_FIELDS = frozenset(
    {
        "name",
        "uid",
        "driver",
        "state",
        "state_message",
        "info",
        "nodes",
        "create_time",
        "update_time",
        "last_sync_time",
        "etag",
        "credentials_set",
        "cluster_id",
        "capabilities",
    }
)
