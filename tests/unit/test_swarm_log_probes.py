"""Followed managed containers are looked at together: one look per interval for all of them."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any, cast

import pytest

from zanepool_server.drivers.swarm import logs as swarm_logs
from zanepool_server.drivers.swarm.containers import SwarmContainers
from zanepool_server.model import ContainerInfo, ContainerState


class Fake:
    def __init__(self) -> None:
        self.states = {"a": ContainerState.RUNNING, "b": ContainerState.RUNNING}
        self.looks: list[frozenset[str]] = []

    async def managed_states(self, names: Collection[str]) -> dict[str, ContainerInfo]:
        self.looks.append(frozenset(names))
        await asyncio.sleep(0.01)
        return {n: ContainerInfo(container_id=n, state=s) for n, s in self.states.items() if n in names}


async def test_probes_share_one_look_per_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(swarm_logs, "PROBE_INTERVAL", 0.2)
    fake = Fake()
    states = swarm_logs._ManagedStates(cast(SwarmContainers, cast(Any, fake)))
    assert await states.alive("a")
    assert await asyncio.gather(*(states.alive(n) for n in ("a", "b", "a", "b"))) == [True] * 4
    assert fake.looks == [{"a"}, {"a", "b"}], "a new name is looked at once, with the others"
    fake.states["b"] = ContainerState.EXITED
    del fake.states["a"]
    assert await asyncio.gather(states.alive("a"), states.alive("b")) == [True, True], "still recent"
    await asyncio.sleep(0.2)
    assert await asyncio.gather(states.alive("a"), states.alive("b")) == [False, False]
    assert len(fake.looks) == 3
