"""Swarm keys and Engine API documents of images, volumes and networks: pure logic."""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from aiodocker.exceptions import DockerError

from zanepool_server.drivers.swarm import images, networks, volumes
from zanepool_server.drivers.swarm.errors import docker_error
from zanepool_server.drivers.swarm.fleet import node_key, split_key
from zanepool_server.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthenticated
from zanepool_server.model import Credentials, NetworkSpec

NODE = "bopp2cjvj5jgh59m38tvadler"  # a swarm node id: 25 of [0-9a-z]
HEX = "7847673aa9320038f15d2ce0c90627cceac3c8a7dd4968abfc865a2dfddc2b6c"


@pytest.mark.parametrize("local", [HEX, "data", "my.volume.v2", "a_b-c"])
def test_node_keys_round_trip(local: str) -> None:
    assert split_key(node_key(NODE, local), "volume") == (NODE, local)


@pytest.mark.parametrize("key", ["nodot", f"{NODE}.", f".{HEX}", f"UPPER.{HEX}", f"{NODE}.-x", f"{NODE}.a/b"])
def test_malformed_keys_are_invalid_names(key: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        split_key(key, "volume")
    assert err.value.reason == "INVALID_NAME" and err.value.violations[0].field == "name"


def test_image_from_the_list_and_from_inspect_agree() -> None:
    listed = {
        "Id": f"sha256:{HEX}",
        "Created": 1796400694,
        "RepoTags": ["local/busybox:1"],
        "RepoDigests": None,
        "Labels": None,
        "Size": 1984172,
    }
    inspected = {
        "Id": f"sha256:{HEX}",
        "Created": "2026-12-03T18:11:34.000000000Z",
        "RepoTags": ["local/busybox:1"],
        "RepoDigests": [],
        "Config": {"Labels": {"a": "b"}},
        "Size": 1984172,
    }
    uses = Counter({f"sha256:{HEX}": 2})
    one, two = images.image(listed, NODE, uses), images.image(inspected, NODE, uses)
    assert one.image_key == two.image_key == f"{NODE}.{HEX}"
    assert one.create_time == datetime.fromtimestamp(1796400694, UTC)
    assert two.create_time == datetime(2026, 12, 3, 18, 11, 34, tzinfo=UTC)
    assert (one.labels, two.labels) == ({}, {"a": "b"})
    assert one.containers == two.containers == 2 and one.size_bytes == 1984172


def test_untagged_images_name_no_tag() -> None:
    raw = {"Id": f"sha256:{HEX}", "RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"]}
    info = images.image(raw, NODE, Counter())
    assert info.repo_tags == () and info.repo_digests == () and info.containers == 0


@pytest.mark.parametrize(
    ("reference", "params"),
    [
        ("busybox", {"fromImage": "busybox", "tag": "latest"}),
        ("10.201.0.1:5000/hello", {"fromImage": "10.201.0.1:5000/hello", "tag": "latest"}),
        ("10.201.0.1:5000/hello:1", {"fromImage": "10.201.0.1:5000/hello:1"}),
        (f"x/y@sha256:{HEX}", {"fromImage": f"x/y@sha256:{HEX}"}),
    ],
)
def test_a_pull_never_asks_for_every_tag(reference: str, params: dict[str, str]) -> None:
    assert images._pull_params(reference) == params


def _auth(reference: str, token: str) -> dict[str, str]:
    header = images.registry_auth(reference, Credentials(bearer_token=token))["X-Registry-Auth"]
    return dict(json.loads(base64.urlsafe_b64decode(header)))


def test_registry_credentials() -> None:
    assert images.registry_auth("busybox", Credentials()) == {}
    assert _auth("reg.example:5000/app:1", "me:s3:cret") == {
        "username": "me",
        "password": "s3:cret",
        "serveraddress": "reg.example:5000",
    }
    assert _auth("library/busybox", "tok") == {
        "registrytoken": "tok",
        "serveraddress": "https://index.docker.io/v1/",
    }


def test_network_keys() -> None:
    overlay = {"Id": "rbltjqfd9lzaxb9jxg41xfaxm", "Name": "backend", "Scope": "swarm", "Driver": "overlay"}
    dotted = {**overlay, "Name": "my.net"}
    odd = {"Id": "e5e9ff3a3e10" * 4, "Name": "a:b c", "Scope": "local", "Driver": "bridge"}
    assert networks.network(overlay).network_key == "backend"
    # A dot marks node-local keys, and a key must be URL-safe: else the Docker id stands in.
    assert networks.network(dotted).network_key == "rbltjqfd9lzaxb9jxg41xfaxm"
    assert networks.network(odd, NODE).network_key == f"{NODE}.{odd['Id']}"
    bridge = {
        **odd,
        "Name": "bridge",
        "IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]},
    }
    info = networks.network(bridge, NODE)
    assert info.network_key == f"{NODE}.bridge" and info.node_id == NODE
    assert (info.subnets, info.gateways) == (("172.17.0.0/16",), ("172.17.0.1",))


def test_ipam_pairs_gateways_with_subnets_in_order() -> None:
    spec = NetworkSpec(subnets=("10.1.0.0/24", "10.2.0.0/24"), gateways=("10.1.0.254",))
    assert networks._ipam(spec)["Config"] == [
        {"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.254"},
        {"Subnet": "10.2.0.0/24"},
    ]


def test_volume_document() -> None:
    raw = {"Name": "data.v1", "Driver": "local", "Scope": "local", "CreatedAt": "2026-12-04T16:22:55Z"}
    info = volumes.volume(raw, NODE)
    assert info.volume_key == f"{NODE}.data.v1" and info.scope == "local"
    assert info.create_time == datetime(2026, 12, 4, 16, 22, 55, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "message", "cls", "reason"),
    [
        (
            404,
            "manifest for r/h:nope not found: manifest unknown: manifest unknown",
            NotFound,
            "IMAGE_NOT_FOUND_IN_REGISTRY",
        ),
        (
            0,
            "pull access denied for x, repository does not exist or may require 'docker login'",
            NotFound,
            "IMAGE_NOT_FOUND_IN_REGISTRY",
        ),
        (
            401,
            "Head https://r/v2/x/manifests/1: unauthorized: authentication required",
            Unauthenticated,
            "REGISTRY_UNAUTHENTICATED",
        ),
        (
            500,
            'Get "https://r:5000/v2/": http: server gave HTTP response to HTTPS client',
            FailedPrecondition,
            "REGISTRY_NOT_TRUSTED",
        ),
        (
            409,
            "conflict: unable to delete 7847 (cannot be forced) - image is being used by running container 1",
            FailedPrecondition,
            "IMAGE_IN_USE",
        ),
        (409, "remove v4: volume is in use - [66b0]", FailedPrecondition, "VOLUME_IN_USE"),
        (
            400,
            "rpc error: code = FailedPrecondition desc = network x is in use by task y",
            FailedPrecondition,
            "NETWORK_IN_USE",
        ),
        (
            403,
            "bridge is a pre-defined network and cannot be removed",
            FailedPrecondition,
            "PREDEFINED_NETWORK",
        ),
        (403, "Pool overlaps with other one on this address space", FailedPrecondition, "SUBNET_OVERLAPS"),
        (
            404,
            'create v: error looking up volume plugin nosuch: plugin "nosuch" not found',
            FailedPrecondition,
            "VOLUME_DRIVER_NOT_FOUND",
        ),
    ],
)
def test_engine_messages(status: int, message: str, cls: type, reason: str) -> None:
    error = docker_error(DockerError(status, {"message": message}), "unix:///e.sock", "op")
    assert isinstance(error, cls) and error.reason == reason
