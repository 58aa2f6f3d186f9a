"""Access to the real components the testbed scripts started."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "testbed"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def state_dir() -> Path:
    return Path(os.environ.get("ZANEPOOL_TESTBED_DIR", "/var/tmp/zanepool-testbed"))


def missing(what: str) -> None:
    """Fail under CI (a missing component must never pass as a skip), else skip."""
    message = f"{what} is not available; start it with `make testbed-up` (or run `make test`)"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class Testbed:
    values: dict[str, str]

    def require(self, name: str) -> str:
        value = self.values.get(name) or os.environ.get(name)
        if not value:
            missing(name)
        return value  # type: ignore[return-value]


def load() -> Testbed:
    env_file = state_dir() / "env"
    values: dict[str, str] = {}
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.startswith("ZANEPOOL_TB_"):
                values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return Testbed(values)


def script(name: str, *args: str, timeout: float = 120) -> None:
    """Run a testbed script (for tests that stop and restart a component)."""
    subprocess.run(
        [str(SCRIPTS / name), *args],
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@dataclass(frozen=True)
class Cluster:
    """The multi-node swarm: engines in network namespaces, reached through unix sockets."""

    manager: str
    nodes: tuple[str, ...]  # unix endpoints, manager first
    node_addrs: tuple[str, ...]
    bare: tuple[str, ...]  # engines in no swarm, for ImportNode and CreatePool
    bare_addrs: tuple[str, ...]
    registry: str
    registry_image: str

    def hostname(self, endpoint: str) -> str:
        """The engine's hostname: its namespace's name, the folder of its socket."""
        return Path(endpoint.removeprefix("unix://")).parent.name

    def node_endpoints(self) -> dict[str, str]:
        return {self.hostname(e): e for e in self.nodes}


def cluster(tb: Testbed) -> Cluster:
    def words(name: str) -> tuple[str, ...]:
        return tuple(tb.require(name).split())

    return Cluster(
        manager=tb.require("ZANEPOOL_TB_SWARM_MANAGER"),
        nodes=words("ZANEPOOL_TB_SWARM_NODES"),
        node_addrs=words("ZANEPOOL_TB_SWARM_NODE_ADDRS"),
        bare=words("ZANEPOOL_TB_SWARM_BARE"),
        bare_addrs=words("ZANEPOOL_TB_SWARM_BARE_ADDRS"),
        registry=tb.require("ZANEPOOL_TB_REGISTRY"),
        registry_image=tb.require("ZANEPOOL_TB_REGISTRY_IMAGE"),
    )
