"""Running the CLI in-process (in a thread, so that the in-process server keeps serving) and
normalising what changes from run to run (ids, hostnames, versions, times) for golden files."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from zanepool_client.cli import main
from zanepool_client.cli.output import table

GOLDEN = Path(__file__).with_name("golden")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
#: Fields whose values depend on the machine or the moment (capabilities: on what the server has built).
VOLATILE = {
    "uid", "etag", "cluster_id", "create_time", "update_time", "last_sync_time", "server_version",
    "api_version", "kernel_version", "os", "arch", "cpus", "memory_bytes", "containers_running",
    "containers_paused", "containers_stopped", "hostname", "address", "engine_version",
    "reserved_cpus", "reserved_memory_bytes", "engine_labels", "endpoint", "capabilities",
}  # fmt: skip


@dataclass
class Result:
    code: int
    out: str
    err: str


async def cli(server: str, *argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = await asyncio.to_thread(main, ["--server", server, *argv], out, err)
    return Result(code, out.getvalue(), err.getvalue())


@dataclass
class Normaliser:
    """Replaces known volatile strings (node ids, hostnames, ...) by placeholders."""

    names: dict[str, str]

    def text(self, value: str) -> str:
        for raw, placeholder in sorted(self.names.items(), key=lambda kv: -len(kv[0])):
            value = value.replace(raw, placeholder)
        return TIME.sub("<time>", value)

    def table(self, text: str) -> str:
        """Each cell normalised, then the columns aligned again as the CLI aligns them."""
        rows = [re.split(r" {2,}", line) for line in text.splitlines()]
        return table([[self.text(cell) for cell in row] for row in rows])

    def data(self, value: Any, key: str = "") -> Any:
        if key in VOLATILE:
            return f"<{key}>"
        if isinstance(value, dict):
            return {k: self.data(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return self.text(value) if isinstance(value, str) else value

    def json(self, text: str) -> str:
        return json.dumps(self.data(json.loads(text)), indent=2, sort_keys=True) + "\n"

    def yaml(self, text: str) -> str:
        return str(yaml.safe_dump(self.data(yaml.safe_load(text)), sort_keys=True))


def check_golden(name: str, actual: str) -> None:
    """Compare with tests/client/golden/<name>; ZANEPOOL_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("ZANEPOOL_UPDATE_GOLDEN") == "1":
        path.write_text(actual)
    assert actual == path.read_text(), f"{name} differs (ZANEPOOL_UPDATE_GOLDEN=1 rewrites it):\n{actual}"


def argv_id(argv: Sequence[str]) -> str:
    """``pools get pools/bed --full -o json`` -> ``pools_get_pools-bed_full``."""
    return "_".join(a.lstrip("-").replace("/", "-") for a in argv if a not in ("-o", "json", "yaml"))
