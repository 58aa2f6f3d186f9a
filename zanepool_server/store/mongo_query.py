"""Translation of list queries (zanepool_server.query) into MongoDB filters and sorts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from zanepool_server.query import And, Expr, Not, Or, Order

_CMP = {"=": "$eq", "!=": "$ne", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def to_mongo(expr: Expr | None, paths: Mapping[str, str]) -> dict[str, Any]:
    """``paths`` maps a filter field to its document path; map fields are [{k, v}] arrays."""
    if expr is None:
        return {}
    if isinstance(expr, And):
        return {"$and": [to_mongo(e, paths) for e in expr.items]}
    if isinstance(expr, Or):
        return {"$or": [to_mongo(e, paths) for e in expr.items]}
    if isinstance(expr, Not):
        return {"$nor": [to_mongo(expr.item, paths)]}
    path = paths[expr.field]
    if expr.key:
        if expr.value is None:
            return {path: {"$elemMatch": {"k": expr.key}}}
        if expr.op == ":":
            contains = {"$regex": re.escape(str(expr.value)), "$options": "i"}
            return {path: {"$elemMatch": {"k": expr.key, "v": contains}}}
        match = {path: {"$elemMatch": {"k": expr.key, "v": expr.value}}}
        return {"$nor": [match]} if expr.op == "!=" else match
    if expr.value is None:
        return {path: {"$exists": True, "$nin": ["", None]}}
    if expr.op == ":":
        return {path: {"$regex": re.escape(str(expr.value)), "$options": "i"}}
    return {path: {_CMP[expr.op]: expr.value}}


def sort_spec(order: Order, paths: Mapping[str, str]) -> list[tuple[str, int]]:
    return [(paths[f], -1 if desc else 1) for f, desc in order.keys]


def after(order: Order, paths: Mapping[str, str], values: Sequence[Any]) -> dict[str, Any]:
    """Keyset condition: documents strictly after ``values`` in ``order``."""
    branches = []
    for i, (field, desc) in enumerate(order.keys):
        cond: dict[str, Any] = {paths[f]: values[j] for j, (f, _) in enumerate(order.keys[:i])}
        cond[paths[field]] = {"$lt" if desc else "$gt": values[i]}
        branches.append(cond)
    return {"$or": branches}
