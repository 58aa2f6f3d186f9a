"""Building a new swarm from bare engines (CreatePool), and taking it apart again on failure.

The first engine initialises the swarm and is its manager; the others join with the
join token of their role, one after the other (raft membership changes go one at a
time). A failure at any step makes every engine that joined leave again, the first one
last, and reports which engine failed and at which step.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zanepool_server import deadline
from zanepool_server.drivers.swarm.engine import Engine
from zanepool_server.drivers.swarm.errors import translate
from zanepool_server.drivers.swarm.nodes import JOIN_CAP
from zanepool_server.errors import FailedPrecondition, ZanePoolError
from zanepool_server.model import EngineSpec, NodeRole

DEFAULT_LISTEN = "0.0.0.0:2377"


@dataclass(frozen=True)
class BuiltSwarm:
    manager_endpoint: str
    node_endpoints: dict[str, str]  # node id -> engine endpoint


def _step_failed(exc: ZanePoolError, index: int, engine: EngineSpec, step: str) -> ZanePoolError:
    """The same error, saying which engine failed at which step."""
    exc.message = f"engine {index} ({engine.endpoint}) failed to {step}: {exc.message}"
    exc.metadata |= {"engine_index": str(index), "engine_endpoint": engine.endpoint, "step": step}
    return exc


async def build(specs: Sequence[EngineSpec]) -> BuiltSwarm:
    engines = [Engine(s.endpoint, s.credentials) for s in specs]
    joined: list[int] = []
    try:
        # Inside the translation, a document of the wrong shape is NOT_A_DOCKER_ENGINE, a
        # domain error like any other, so what was built is undone for it too.
        with translate(specs[0].endpoint, "build a swarm"):
            return await _build(specs, engines, joined)
    except ZanePoolError:
        await _leave([engines[i] for i in reversed(joined)])
        raise
    finally:
        await asyncio.gather(*(e.aclose() for e in engines))


async def _build(specs: Sequence[EngineSpec], engines: list[Engine], joined: list[int]) -> BuiltSwarm:
    infos = await asyncio.gather(*(e.get("info") for e in engines), return_exceptions=True)
    for i, (spec, info) in enumerate(zip(specs, infos, strict=True)):
        if isinstance(info, ZanePoolError):
            raise _step_failed(info, i, spec, "answer")
        if isinstance(info, BaseException):
            raise info
        state = (info.get("Swarm") or {}).get("LocalNodeState", "")
        if state != "inactive":
            raise FailedPrecondition(
                f"engine {i} ({spec.endpoint}) is already in a swarm ({state})",
                reason="ENGINE_ALREADY_IN_SWARM",
                metadata={"engine_index": i, "engine_endpoint": spec.endpoint, "local_node_state": state},
            )
    first, manager = specs[0], engines[0]
    body: dict[str, Any] = {
        "ListenAddr": first.listen_address or DEFAULT_LISTEN,
        "AdvertiseAddr": first.advertise_address,
    }
    try:
        await manager.request("POST", "swarm/init", body=body, cap=JOIN_CAP)
    except ZanePoolError as exc:
        raise _step_failed(exc, 0, first, "initialise the swarm") from None
    joined.append(0)
    swarm, manager_info = await asyncio.gather(manager.get("swarm"), manager.get("info"))
    tokens = swarm.get("JoinTokens") or {}
    remotes = [m["Addr"] for m in (manager_info.get("Swarm") or {}).get("RemoteManagers") or []]
    node_endpoints = {manager_info["Swarm"]["NodeID"]: first.endpoint}
    for i, (spec, engine) in enumerate(zip(specs[1:], engines[1:], strict=True), start=1):
        join = {
            "ListenAddr": spec.listen_address or DEFAULT_LISTEN,
            "AdvertiseAddr": spec.advertise_address,
            "RemoteAddrs": remotes,
            "JoinToken": tokens["Manager" if spec.role is NodeRole.MANAGER else "Worker"],
        }
        try:
            await engine.request("POST", "swarm/join", body=join, cap=JOIN_CAP)
        except ZanePoolError as exc:
            raise _step_failed(exc, i, spec, "join the swarm") from None
        joined.append(i)
        node_endpoints[(await engine.get("info"))["Swarm"]["NodeID"]] = spec.endpoint
    return BuiltSwarm(first.endpoint, node_endpoints)


async def dissolve(specs: Sequence[EngineSpec]) -> None:
    """Make every engine leave the swarm, the first (the manager) last."""
    engines = [Engine(s.endpoint, s.credentials) for s in specs]
    try:
        await _leave(list(reversed(engines)))
    finally:
        await asyncio.gather(*(e.aclose() for e in engines))


async def _leave(engines: Sequence[Engine]) -> None:
    # Undoing must not be cut short because the call's own time ran out.
    with deadline.detached(30):
        for engine in engines:
            with contextlib.suppress(ZanePoolError):
                await engine.request("POST", "swarm/leave", {"force": "true"})
