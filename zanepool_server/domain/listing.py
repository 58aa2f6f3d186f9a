"""Listing a pool's children (nodes, containers, images, ...), from one pool or every pool.

One mechanism for every List RPC below PoolService: read each pool's items live through
its driver (all pools at once for ``pools/-``, each bounded by a per-pool deadline),
filter them with the AIP-160 subset, order them, and page with a keyset token over the
full resource name, so that a page token works across pools. ``pools/-`` returns what
answered and names the pools that did not in ``unreachable``; one pool that fails fails
the call with its own error.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from zanepool_server import deadline
from zanepool_server.domain import paging, validation
from zanepool_server.errors import Unimplemented, ZanePoolError
from zanepool_server.model import Pool
from zanepool_server.query import Expr, Field, Order, matches, parse_filter, parse_order_by

T = TypeVar("T")
X = TypeVar("X")

WILDCARD = "-"
#: How long one pool may take to answer a list across every pool.
PER_POOL_CAP = 10.0


@dataclass(frozen=True)
class Item(Generic[T]):
    """An item and the pool it came from (its resource name starts with the pool's)."""

    pool: Pool
    value: T
    name: str


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[Item[T]]
    next_page_token: str
    unreachable: list[str]


@dataclass(frozen=True)
class Columns(Generic[T]):
    """How a resource is filtered and ordered.

    ``get(item, field, key)`` returns a field's value for filters and ordering (``key`` is
    the map key for map fields such as labels); values must be comparable within a field.
    """

    spec: Mapping[str, Field]
    order_fields: tuple[str, ...]
    get: Callable[[Item[T], str, str], Any]


def parse_parent(parent: str) -> str:
    """``pools/{pool}`` -> the pool id, or ``-`` for every pool."""
    if parent == f"pools/{WILDCARD}":
        return WILDCARD
    return validation.pool_name(parent, "parent")


async def list_children(
    pools: Callable[[str], Awaitable[list[Pool]]],
    read: Callable[[Pool], Awaitable[Sequence[T]]],
    name_of: Callable[[Pool, T], str],
    columns: Columns[T],
    *,
    kind: str,
    parent: str,
    filter_text: str,
    order_by: str,
    page_size: int,
    page_token: str,
) -> Page[T]:
    """One page of ``kind`` under ``parent``.

    ``pools(pool_id_or_wildcard)`` returns the pools to read; ``read(pool)`` reads one pool's
    items live; ``name_of(pool, item)`` is an item's full resource name.
    """
    size = validation.page_size(page_size)
    expr = parse_filter(filter_text, columns.spec)
    order = parse_order_by(order_by, columns.order_fields)
    query = paging.fingerprint(kind, parent, filter_text, order.text())
    after = paging.decode(page_token, query, len(order.keys))
    pool_id = parse_parent(parent)
    targets = await pools(pool_id)

    async def one(pool: Pool) -> list[Item[T]]:
        cap = PER_POOL_CAP if pool_id == WILDCARD else None
        with deadline.scope(deadline.remaining(cap)):
            return [Item(pool, v, name_of(pool, v)) for v in await read(pool)]

    results = await asyncio.gather(*(one(p) for p in targets), return_exceptions=True)
    items: list[Item[T]] = []
    unreachable: list[str] = []
    for pool, result in zip(targets, results, strict=True):
        if isinstance(result, BaseException):
            if pool_id != WILDCARD or not isinstance(result, ZanePoolError):
                raise result
            # Across pools: a kind of cluster without this resource contributes nothing; a
            # cluster that failed to answer is named, and the rest is still returned.
            if not isinstance(result, Unimplemented):
                unreachable.append(pool.name)
        else:
            items.extend(result)

    def column(item: Item[T], field: str, key: str) -> Any:
        return item.name if field == "name" else columns.get(item, field, key)

    chosen, last = select(items, column, expr, order, after, size)
    token = "" if last is None else paging.encode(query, last)
    return Page(chosen, token, sorted(unreachable))


def select(
    items: Sequence[X],
    column: Callable[[X, str, str], Any],
    expr: Expr | None,
    order: Order,
    after: Sequence[Any] | None,
    size: int,
) -> tuple[list[X], list[Any] | None]:
    """Filter, order and cut one page out of items held in memory.

    ``column(item, field, key)`` gives a field's value (``key`` for map fields). Returns the
    page and, when more items follow, the order key of its last item (for the next token).
    """

    def compare(a: Sequence[Any], b: Sequence[Any]) -> int:
        for (_, desc), x, y in zip(order.keys, a, b, strict=True):
            if x != y:
                # None sorts first ascending; values of one field are of one type otherwise.
                less = (x is None) if (x is None or y is None) else x < y
                return (1 if less else -1) if desc else (-1 if less else 1)
        return 0

    def key_of(item: X) -> list[Any]:
        return [column(item, f, "") for f, _ in order.keys]

    def by_key(a: tuple[list[Any], X], b: tuple[list[Any], X]) -> int:
        return compare(a[0], b[0])

    keyed = [(key_of(i), i) for i in items if matches(expr, functools.partial(column, i))]
    keyed.sort(key=functools.cmp_to_key(by_key))
    if after is not None:
        keyed = [k for k in keyed if compare(k[0], after) > 0]
    if len(keyed) <= size:
        return [i for _, i in keyed], None
    return [i for _, i in keyed[:size]], keyed[size - 1][0]
