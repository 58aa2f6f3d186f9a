"""The node engines of a swarm, and the keys of the resources that live in them.

A manager's Engine API knows the swarm's nodes, services and swarm-scope networks, but
not what each node holds itself: images, volumes and local networks live in each node's
own engine. The engines this driver can read are the manager's (the pool's endpoint) and
the ones listed in ``Pool.node_endpoints``. Which node each engine is comes from the
engine's own ``/info`` (``Swarm.NodeID``), so a stale or wrong ``node_endpoints`` key
cannot attach one node's images to another; an engine whose node id is not among the
manager's ``/nodes`` (it left the swarm, or belongs to another) is ignored.

Nodes whose engine is unknown are not listed at all (a later change may reach them
another way); a node engine that does not answer is left out of lists and of "every
node" operations, and refused with UNAVAILABLE when a call names its node. The manager
failing fails the call. Every engine is asked at once: one ``/nodes`` and one ``/info``
per engine, then one request per engine per read, never one per object.

Keys: a node-local resource's key is ``{node_id}.{local}``, ``local`` being the image
id's hex digits, a volume name or a network name. Swarm node ids are 25 characters of
``[0-9a-z]`` (swarmkit's identity package), so the first ``.`` always ends the node id,
and the rest may hold dots of its own (``my.volume``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from zanepool_server.drivers.swarm.engine import Engine
from zanepool_server.drivers.swarm.nodes import not_found
from zanepool_server.errors import (
    ClusterUnavailable,
    FailedPrecondition,
    InvalidArgument,
    ZanePoolError,
)

if TYPE_CHECKING:
    from zanepool_server.drivers.swarm.driver import SwarmDriver

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

SEPARATOR = "."
_NODE_ID = re.compile(r"^[0-9a-z]{1,64}$")
#: What Docker allows in a volume name, and what a node-local key may hold after the node id.
LOCAL_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$")


@dataclass(frozen=True)
class NodeEngine:
    """A node's own engine, with the ``/info`` it answered (plugins, swarm state)."""

    node_id: str
    engine: Engine
    info: dict[str, Any]


@dataclass(frozen=True)
class Fleet:
    """The reachable engines of a swarm's nodes, by node id; the manager's node first."""

    manager_node: str
    members: frozenset[str]
    engines: dict[str, NodeEngine]
    #: Node ids whose engine is listed but did not answer, with the error it gave.
    unreachable: dict[str, ZanePoolError]

    def engine_of(self, node_id: str) -> NodeEngine:
        """The engine of one node; why not, precisely, when it cannot be reached."""
        meta = {"node": node_id}
        if node_id in self.engines:
            return self.engines[node_id]
        if node_id not in self.members:
            raise not_found(node_id)
        if node_id in self.unreachable:
            cause = self.unreachable[node_id]
            raise ClusterUnavailable(
                f"the engine of node {node_id} did not answer: {cause.message}",
                reason="NODE_ENGINE_UNREACHABLE",
                metadata=meta,
            ) from cause
        raise FailedPrecondition(
            f"the engine of node {node_id} is unknown: add it to the pool's node_endpoints",
            reason="NODE_ENGINE_UNKNOWN",
            metadata=meta,
        )


async def read_fleet(driver: SwarmDriver) -> Fleet:
    """Which engine is which node: the manager's ``/nodes`` and every engine's ``/info``, at once."""
    endpoints = list(dict.fromkeys([driver.endpoint, *driver.node_endpoints.values()]))
    engines = [driver.engine(e) for e in endpoints]
    nodes, *infos = await asyncio.gather(
        driver.manager.get("nodes"), *(e.get("info") for e in engines), return_exceptions=True
    )
    if isinstance(nodes, BaseException):
        raise nodes
    manager_info = infos[0]
    if isinstance(manager_info, BaseException):
        raise manager_info
    members = {n["ID"]: (n.get("Description") or {}).get("Hostname", "") for n in nodes}
    found: dict[str, NodeEngine] = {}
    failed: dict[str, ZanePoolError] = {}
    for endpoint, engine, info in zip(endpoints, engines, infos, strict=True):
        if isinstance(info, ZanePoolError):
            failed[endpoint] = info
        elif isinstance(info, BaseException):
            raise info
        else:
            node_id = (info.get("Swarm") or {}).get("NodeID", "")
            if node_id in members and node_id not in found:
                found[node_id] = NodeEngine(node_id, engine, info)
    manager_node = (manager_info.get("Swarm") or {}).get("NodeID", "")
    return Fleet(manager_node, frozenset(members), found, _unreachable(driver, members, failed))


def _unreachable(
    driver: SwarmDriver, members: dict[str, str], failed: dict[str, ZanePoolError]
) -> dict[str, ZanePoolError]:
    """The nodes of the engines that did not answer, named by their node_endpoints key (id or hostname)."""
    out: dict[str, ZanePoolError] = {}
    for key, endpoint in driver.node_endpoints.items():
        if endpoint in failed:
            node_ids = [key] if key in members else [n for n, host in members.items() if host == key]
            for node_id in node_ids:
                out[node_id] = failed[endpoint]
            log.warning("node engine did not answer", extra={"endpoint": endpoint, "node": key})
    return out


async def known_drivers(node: NodeEngine, kind: str) -> frozenset[str]:
    """The ``Volume`` or ``Network`` drivers an engine has: built in or loaded (its ``/info``)
    and enabled managed plugins. The engine would spend 15 s looking for an unknown one
    before it says so; a legacy plugin never used on the engine yet is not known here."""
    capability = {"Volume": "volumedriver", "Network": "networkdriver"}[kind]
    plugins = await node.engine.get("plugins", {"filters": json.dumps({"capability": [capability]})})
    names = {str(p["Name"]) for p in plugins if p.get("Enabled")}
    names |= {n.removesuffix(":latest") for n in names}  # `vieux/sshfs` is `vieux/sshfs:latest`
    names.update((node.info.get("Plugins") or {}).get(kind) or ())
    return frozenset(names)


def check_driver(known: frozenset[str], driver: str, noun: str) -> None:
    """FAILED_PRECONDITION ``{NOUN}_DRIVER_NOT_FOUND`` unless the node has the driver."""
    if driver not in known:
        raise FailedPrecondition(
            f"{noun}.driver: the node has no {noun} driver {driver!r}; it has {', '.join(sorted(known))}",
            reason=f"{noun.upper()}_DRIVER_NOT_FOUND",
            metadata={"driver": driver},
        )


async def awaited(aw: Awaitable[Any]) -> Any:
    """For ``gather_all`` over requests of different kinds: ``gather_all([...], awaited)``."""
    return await aw


async def gather_all(items: Iterable[T], call: Callable[[T], Awaitable[R]]) -> list[R]:
    """``call`` on every item at once; the first error is raised once all have finished, so no
    request is left running behind the caller's back."""
    results = await asyncio.gather(*(call(i) for i in items), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]  # no exceptions left


async def read_each(driver: SwarmDriver, read: Callable[[NodeEngine], Awaitable[Sequence[R]]]) -> list[R]:
    """Every reachable node engine's items, read at once and concatenated."""
    fleet = await read_fleet(driver)
    return [item for items in await gather_all(fleet.engines.values(), read) for item in items]


def node_key(node_id: str, local: str) -> str:
    return f"{node_id}{SEPARATOR}{local}"


def split_key(key: str, what: str) -> tuple[str, str]:
    """``{node_id}.{local}`` -> (node id, local name); INVALID_ARGUMENT when it is not one."""
    node_id, sep, local = key.partition(SEPARATOR)
    if not sep or not _NODE_ID.match(node_id) or not LOCAL_NAME.match(local):
        raise InvalidArgument.field(
            "name",
            f"a Swarm {what} id is {{node id}}{SEPARATOR}{{{what} name}}",
            reason="INVALID_NAME",
            metadata={"value": key[:200]},
        )
    return node_id, local
