"""ContainerService's checks and list columns: pure logic, whatever the cluster kind."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zanepool_server.domain import containers
from zanepool_server.domain.listing import Item
from zanepool_server.errors import InvalidArgument
from zanepool_server.model import (
    ContainerInfo,
    ContainerSpec,
    ContainerState,
    Driver,
    MountSpec,
    Pool,
    PortMapping,
    Resources,
)

POOL = Pool(pool_id="one", uid="u", driver=Driver.SWARM, endpoint="unix:///x.sock")
SPEC = ContainerSpec(image="local/busybox:1")


def test_a_good_spec_is_normalised() -> None:
    spec = replace(SPEC, target_node="pools/one/nodes/n1", ports=(PortMapping(80, 0, "UDP"),))
    checked = containers.checked_spec(POOL, "web-1", spec)
    assert checked.target_node == "n1" and checked.ports == (PortMapping(80, 0, "udp"),)
    assert containers.checked_spec(POOL, "", replace(SPEC, target_node="zpn2")).target_node == "zpn2"


@pytest.mark.parametrize(
    ("container_id", "changes", "reason"),
    [
        ("Web", {}, "INVALID_CONTAINER_ID"),
        ("-web", {}, "INVALID_CONTAINER_ID"),
        ("a" * 64, {}, "INVALID_CONTAINER_ID"),
        ("", {"image": ""}, "MISSING_FIELD"),
        ("", {"image": "no spaces"}, "INVALID_IMAGE_REFERENCE"),
        ("", {"labels": {"Bad Key": "x"}}, "INVALID_LABEL_KEY"),
        ("", {"env": {"A=B": "x"}}, "INVALID_ENV"),
        ("", {"ports": (PortMapping(70000),)}, "INVALID_PORT"),
        ("", {"ports": (PortMapping(80, protocol="icmp"),)}, "INVALID_PROTOCOL"),
        ("", {"mounts": (MountSpec("nfs", "/x"),)}, "INVALID_MOUNT"),
        ("", {"mounts": (MountSpec("volume", "rel"),)}, "INVALID_MOUNT"),
        ("", {"mounts": (MountSpec("tmpfs", "/x", "src"),)}, "INVALID_MOUNT"),
        ("", {"restart_policy": "never"}, "INVALID_RESTART_POLICY"),
        ("", {"resources": Resources(cpu_limit=-1)}, "INVALID_RESOURCES"),
        ("", {"replicas": -1}, "INVALID_REPLICAS"),
        ("", {"constraints": (" ",)}, "INVALID_CONSTRAINT"),
        ("", {"networks": ("../x",)}, "INVALID_NETWORK"),
        ("", {"target_node": "pools/two/nodes/n1"}, "NODE_NOT_IN_POOL"),
        ("", {"target_node": "a/b"}, "INVALID_NAME"),
    ],
)
def test_bad_specs_say_why(container_id: str, changes: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        containers.checked_spec(POOL, container_id, replace(SPEC, **changes))  # type: ignore[arg-type]
    assert err.value.reason == reason


def test_columns_give_resource_names_and_wire_enum_values() -> None:
    info = ContainerInfo("web", node_id="n1", state=ContainerState.RUNNING, labels={"team": "a"}, owner="web")
    item = Item(POOL, info, containers.container_name(POOL, info))
    assert item.name == "pools/one/containers/web"
    column = containers.COLUMNS.get
    assert column(item, "node", "") == "pools/one/nodes/n1" and column(item, "state", "") == "RUNNING"
    assert column(item, "labels", "team") == "a" and column(item, "owner", "") == "web"
    assert column(Item(POOL, ContainerInfo("x"), "pools/one/containers/x"), "node", "") is None
