"""The AIP-160 filter subset and order_by: pure logic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zanepool_server.domain.pools import FILTER_SPEC, ORDER_FIELDS
from zanepool_server.errors import InvalidArgument
from zanepool_server.query import And, Compare, Not, Or, matches, parse_filter, parse_order_by
from zanepool_server.store.mongo import POOL_PATHS
from zanepool_server.store.mongo_query import after, to_mongo


def test_parses_precedence_and_implicit_and() -> None:
    expr = parse_filter('driver = SWARM labels.env = "prod" OR NOT state = STATE_READY', FILTER_SPEC)
    assert expr == Or(
        (
            And((Compare("driver", "=", "SWARM"), Compare("labels", "=", "prod", "env"))),
            Not(Compare("state", "=", "READY")),
        )
    )


def test_label_presence_and_parentheses() -> None:
    expr = parse_filter("(labels.team:* AND -labels.env = dev)", FILTER_SPEC)
    assert expr == And((Compare("labels", ":", None, "team"), Not(Compare("labels", "=", "dev", "env"))))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("colour = red", "UNSUPPORTED_FILTER_FIELD"),
        ("labels = x", "UNSUPPORTED_FILTER_FIELD"),
        ("state = SLEEPY", "INVALID_FILTER_VALUE"),
        ("driver < SWARM", "UNSUPPORTED_FILTER_OPERATOR"),
        ("(state = READY", "INVALID_FILTER"),
        ("state =", "INVALID_FILTER"),
        ('name = "unterminated', "INVALID_FILTER"),
        ("create_time > yesterday", "INVALID_FILTER_VALUE"),
        ("x" * 3000, "FILTER_TOO_LONG"),
        ("NOT " * 40 + "state = READY", "INVALID_FILTER"),
    ],
)
def test_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_filter(text, FILTER_SPEC)
    assert err.value.reason == reason
    assert err.value.violations[0].field == "filter"


def test_matches_in_memory() -> None:
    values = {"driver": "SWARM", "state": "READY", "name": "alpha"}
    labels = {"env": "prod"}

    def get(field: str, key: str) -> object:
        return labels.get(key) if field == "labels" else values.get(field)

    assert matches(parse_filter('labels.env = prod AND name : "alp"', FILTER_SPEC), get)
    assert not matches(parse_filter("labels.team:*", FILTER_SPEC), get)
    assert matches(parse_filter("state != DEGRADED OR driver = KUBERNETES", FILTER_SPEC), get)


def test_to_mongo_labels_are_pairs() -> None:
    expr = parse_filter(
        'labels.env = "prod" AND labels.team:* AND create_time >= "2024-01-01T00:00:00Z"', FILTER_SPEC
    )
    assert to_mongo(expr, POOL_PATHS) == {
        "$and": [
            {"labels": {"$elemMatch": {"k": "env", "v": "prod"}}},
            {"labels": {"$elemMatch": {"k": "team"}}},
            {"create_time": {"$gte": datetime(2024, 1, 1, tzinfo=UTC)}},
        ]
    }


def test_order_by_and_keyset() -> None:
    order = parse_order_by("state desc, create_time", ORDER_FIELDS)
    assert order.keys == (("state", True), ("create_time", False), ("name", False))
    assert after(order, POOL_PATHS, ["READY", 5, "p"]) == {
        "$or": [
            {"state": {"$lt": "READY"}},
            {"state": "READY", "create_time": {"$gt": 5}},
            {"state": "READY", "create_time": 5, "_id": {"$gt": "p"}},
        ]
    }
    for bad, reason in (
        ("colour", "UNSUPPORTED_ORDER_BY"),
        ("name up", "INVALID_ORDER_BY"),
        ("name, name desc", "INVALID_ORDER_BY"),
    ):
        with pytest.raises(InvalidArgument) as err:
            parse_order_by(bad, ORDER_FIELDS)
        assert err.value.reason == reason
