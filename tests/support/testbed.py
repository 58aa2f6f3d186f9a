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
