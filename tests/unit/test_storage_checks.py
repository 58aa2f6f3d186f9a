"""Checks of image, volume and network requests, and their list filters: pure logic."""

from __future__ import annotations

import pytest

from zanepool_server.domain import storage
from zanepool_server.domain.listing import Item, select
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import Credentials, Driver, ImageInfo, NetworkSpec, Pool
from zanepool_server.query import parse_filter, parse_order_by

POOL = Pool(pool_id="p", uid="u", driver=Driver.SWARM, endpoint="unix:///x.sock")


@pytest.mark.parametrize(
    "good",
    [
        "busybox",
        "library/busybox:1.36",
        "10.201.0.1:5000/hello:1",
        "localhost:5000/a/b_c__d-e:v1.0",
        "[::1]:5000/x",
        "ghcr.io/org/app@sha256:" + "a" * 64,
        "app:1@sha256:" + "0" * 64,
    ],
)
def test_image_references_accepted(good: str) -> None:
    assert storage.image_reference(good) == good


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("", "MISSING_FIELD"),
        ("Busybox", "INVALID_IMAGE_REFERENCE"),
        ("a b", "INVALID_IMAGE_REFERENCE"),
        ("app:", "INVALID_IMAGE_REFERENCE"),
        ("app@sha256:short", "INVALID_IMAGE_REFERENCE"),
        ("reg:5000/", "INVALID_IMAGE_REFERENCE"),
        ("a" * 600, "INVALID_IMAGE_REFERENCE"),
    ],
)
def test_image_references_refused(bad: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        storage.image_reference(bad)
    assert err.value.reason == reason and err.value.violations[0].field == "image"


def test_registry_credentials_are_a_token_only() -> None:
    assert storage.registry_credentials(Credentials(bearer_token="u:p")).bearer_token == "u:p"
    with pytest.raises(InvalidArgument) as err:
        storage.registry_credentials(Credentials(ca_pem="-----BEGIN x"))
    assert err.value.reason == "UNSUPPORTED_CREDENTIALS"


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        (NetworkSpec(subnets=("10.0.0.0/33",)), "network.subnets[0]", "INVALID_SUBNET"),
        (NetworkSpec(subnets=("10.0.0.1/24",)), "network.subnets[0]", "INVALID_SUBNET"),
        (NetworkSpec(subnets=("nope",)), "network.subnets[0]", "INVALID_SUBNET"),
        (
            NetworkSpec(subnets=("10.0.0.0/24",), gateways=("10.0.1.1",)),
            "network.gateways[0]",
            "INVALID_GATEWAY",
        ),
        (NetworkSpec(subnets=("10.0.0.0/24",), gateways=("x",)), "network.gateways[0]", "INVALID_GATEWAY"),
        (NetworkSpec(gateways=("10.0.0.1",)), "network.gateways", "INVALID_GATEWAY"),
        (
            NetworkSpec(subnets=tuple(f"10.{i}.0.0/24" for i in range(17))),
            "network.subnets",
            "TOO_MANY_SUBNETS",
        ),
    ],
)
def test_bad_subnets(spec: NetworkSpec, field: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        storage.subnets(spec)
    assert err.value.reason == reason and err.value.violations[0].field == field


def test_good_subnets() -> None:
    storage.subnets(NetworkSpec(subnets=("10.9.0.0/24", "fd00::/64"), gateways=("10.9.0.1", "fd00::1")))


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("pools/p/volumes/node1.data", ("p", "node1.data")),
        ("pools/p/volumes/backend", ("p", "backend")),
    ],
)
def test_child_names(name: str, parsed: tuple[str, str]) -> None:
    assert storage.parse_child_name(name, "volumes") == parsed


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "pools/p/volumes",
        "pools/p/images/x",
        "pools/p/volumes/a/b",
        "pools/-/volumes/x",
        "pools/p/volumes/%2F",
    ],
)
def test_bad_child_names(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        storage.parse_child_name(bad, "volumes")


def test_node_must_be_of_the_pool() -> None:
    assert storage.node_in_pool(POOL, "", "volume.node") == ""
    assert storage.node_in_pool(POOL, "pools/p/nodes/abc", "volume.node") == "abc"
    with pytest.raises(InvalidArgument) as err:
        storage.node_in_pool(POOL, "pools/q/nodes/abc", "volume.node")
    assert err.value.reason == "NODE_NOT_IN_POOL"


@pytest.mark.parametrize(
    ("check", "value", "reason"),
    [
        (storage.new_id, "", "MISSING_FIELD"),
        (storage.new_id, "-x", "INVALID_ID"),
        (storage.new_id, "a/b", "INVALID_ID"),
        (storage.driver_name, "bad driver", "INVALID_DRIVER"),
    ],
)
def test_ids_and_drivers(check: object, value: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        check(value, "f")  # type: ignore[operator]
    assert err.value.reason == reason
    assert storage.new_id("my.vol_1-a", "f") == "my.vol_1-a"
    assert storage.driver_name("vieux/sshfs:latest", "f") == "vieux/sshfs:latest"


def test_options_keys() -> None:
    assert storage.options({"type": "tmpfs"}, "volume.options") == {"type": "tmpfs"}
    with pytest.raises(InvalidArgument) as err:
        storage.options({"a b": "x"}, "volume.options")
    assert err.value.reason == "INVALID_OPTION"


def _images() -> list[Item[ImageInfo]]:
    infos = [
        ImageInfo("n1.a", "sha256:a", "n1", ("reg/hello:1", "reg/hello:latest"), size_bytes=30),
        ImageInfo("n2.b", "sha256:b", "n2", ("local/busybox:1",), size_bytes=10),
        ImageInfo("n2.c", "sha256:c", "n2", (), size_bytes=20, labels={"k": "v"}),
    ]
    return [Item(POOL, i, f"pools/p/images/{i.image_key}") for i in infos]


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ('repo_tags = "reg/hello:1"', ["n1.a"]),
        ('repo_tags = "reg/hello"', []),
        ("repo_tags: hello", ["n1.a"]),
        ("repo_tags:*", ["n1.a", "n2.b"]),
        ("NOT repo_tags:*", ["n2.c"]),
        ('node = "pools/p/nodes/n2"', ["n2.b", "n2.c"]),
        ("labels.k = v", ["n2.c"]),
    ],
)
def test_image_filters(text: str, keys: list[str]) -> None:
    columns = storage.IMAGE_COLUMNS

    def column(item: Item[ImageInfo], field: str, key: str) -> object:
        return item.name if field == "name" else columns.get(item, field, key)

    expr = parse_filter(text, columns.spec)
    chosen, _ = select(
        _images(), column, expr, parse_order_by("size_bytes desc", columns.order_fields), None, 10
    )
    assert [i.value.image_key for i in chosen] == [k for k in ("n1.a", "n2.c", "n2.b") if k in keys]
