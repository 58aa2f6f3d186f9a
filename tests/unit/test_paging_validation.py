"""Page tokens and input checks: pure logic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zanepool_server.domain import paging, validation
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import Credentials, Driver


def test_page_token_round_trip_and_binding() -> None:
    when = datetime(2025, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    token = paging.encode("q1", ["READY", when, "p3"])
    assert paging.decode(token, "q1", 3) == ["READY", when, "p3"]
    assert paging.decode("", "q1", 3) is None
    with pytest.raises(InvalidArgument) as other:
        paging.decode(token, "q2", 3)
    assert other.value.reason == "PAGE_TOKEN_MISMATCH"
    for garbage in ("%%%", "bm90IGpzb24", paging.encode("q1", ["a"])[:-3] + "!!"):
        with pytest.raises(InvalidArgument) as err:
            paging.decode(garbage, "q1", 3)
        assert err.value.reason in ("INVALID_PAGE_TOKEN", "PAGE_TOKEN_MISMATCH")


@pytest.mark.parametrize("good", ["a", "pool-1", "a" * 63, "x9"])
def test_pool_ids_accepted(good: str) -> None:
    assert validation.pool_id(good) == good


@pytest.mark.parametrize("bad", ["", "1pool", "Pool", "pool-", "a" * 64, "po_ol", "pöol", "a.b"])
def test_pool_ids_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        validation.pool_id(bad)


@pytest.mark.parametrize(
    ("endpoint", "ok"),
    [
        ("unix:///var/run/docker.sock", True),
        ("tcp://127.0.0.1:2375", True),
        ("tcp://engine.example:2376", True),
        ("tcp://127.0.0.1", False),
        ("tcp://:2375", False),
        ("tcp://host:99999", False),
        ("http://127.0.0.1:2375", False),
        ("unix://relative.sock", False),
        ("unix:///", False),
        ("tcp://user@host:1", False),
        ("tcp://host:1/path", False),
        ("not a url", False),
    ],
)
def test_swarm_endpoints(endpoint: str, ok: bool) -> None:
    if ok:
        assert validation.endpoint(Driver.SWARM, endpoint) == endpoint
    else:
        with pytest.raises(InvalidArgument):
            validation.endpoint(Driver.SWARM, endpoint)


def test_labels_and_credentials() -> None:
    assert validation.labels({"example.com/team": "core", "env": ""}) == {
        "example.com/team": "core",
        "env": "",
    }
    for bad in (
        {"-x": "1"},
        {"UPPER": "1"},
        {"a" * 64: "1"},
        {"k": "v" * 257},
        {f"k{i}": "v" for i in range(65)},
        {"bad_prefix!/k": "v"},
    ):
        with pytest.raises(InvalidArgument):
            validation.labels(bad)
    with pytest.raises(InvalidArgument) as err:
        validation.credentials(Driver.SWARM, "unix:///x.sock", Credentials(ca_pem="-----BEGIN X"))
    assert err.value.reason == "UNSUPPORTED_CREDENTIALS"
    with pytest.raises(InvalidArgument) as err:
        validation.credentials(Driver.SWARM, "tcp://h:1", Credentials(cert_pem="-----BEGIN X"))
    assert err.value.reason == "INVALID_CREDENTIALS"
