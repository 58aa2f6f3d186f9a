"""Where the test bed's components are: its env file, or the same variables in the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DOCKER_UNIX = "ZANEPOOL_TB_DOCKER_UNIX"
MONGODB_URI = "ZANEPOOL_TB_MONGODB_URI"
MONGO_PID = "ZANEPOOL_TB_MONGO_PID"


class BenchError(Exception):
    """A reason the benchmark cannot run (printed as is, exit status 2)."""


def env_file() -> Path:
    return Path(os.environ.get("ZANEPOOL_TESTBED_DIR", "/var/tmp/zanepool-testbed")) / "env"


def read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        if sep and key.startswith("ZANEPOOL_TB_"):
            values[key] = value.strip().strip("'\"")
    return values


@dataclass(frozen=True)
class Testbed:
    docker_unix: str
    mongodb_uri: str
    #: The store's process id, when known (its CPU time is reported, read from /proc).
    mongo_pid: int | None
    source: str


def _store_pid(value: str) -> int | None:
    """The store's pid if it still names the store (a restarted test bed leaves a stale one)."""
    if not value.isdigit():
        return None
    try:
        command = Path(f"/proc/{value}/cmdline").read_bytes()
    except OSError:
        return None
    return int(value) if b"secantusd" in command or b"mongod" in command else None


def load() -> Testbed:
    """The components to use: ZANEPOOL_TB_* from the environment, else from the env file."""
    path = env_file()
    values = read_env(path)
    values |= {k: v for k, v in os.environ.items() if k.startswith("ZANEPOOL_TB_") and v}
    missing = [name for name in (DOCKER_UNIX, MONGODB_URI) if not values.get(name)]
    if missing:
        where = f"{path} does not exist" if not path.is_file() else f"{path} lacks {', '.join(missing)}"
        verb = "is" if len(missing) == 1 else "are"
        raise BenchError(
            f"the test bed is not up: {where}, and {' and '.join(missing)} {verb} not set "
            "in the environment.\n"
            "Start it with `make testbed-up` (or run `make bench`, which starts and stops it)."
        )
    return Testbed(
        docker_unix=values[DOCKER_UNIX],
        mongodb_uri=values[MONGODB_URI],
        mongo_pid=_store_pid(values.get(MONGO_PID, "")),
        source=str(path) if path.is_file() else "environment",
    )
