"""Every example of README.md marked ``<!-- example: KIND -->`` runs against a real server."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from tests.support import testbed
from tests.support.servers import RunningServer, swarm_pool
from zanepool.v1 import pool_service_pb2 as ps

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "clients" / "typescript"
EXAMPLE = re.compile(r"<!-- example: ([\w-]+) -->\s*```\w+\n(.*?)```", re.DOTALL)
EXAMPLES = dict(EXAMPLE.findall((ROOT / "README.md").read_text()))
#: What each example must print (besides exiting 0).
EXPECTED = {
    "python": ["pools/example STATE_READY", "pool pools/example 1", "node ", "NOT_FOUND POOL_NOT_FOUND"],
    "python-sync": ["pools/example 1 / 1"],
    "cli": ["pools/example", "manager", "Example", "deleted pools/example", "exit status 15"],
    "typescript": ["pool pools/example-ts", "nodes ", "error 5 POOL_NOT_FOUND pools/example-ts"],
}


def test_the_readme_has_every_example() -> None:
    assert sorted(EXAMPLES) == sorted(EXPECTED)


async def run(*argv: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, f"{argv} exited {proc.returncode}:\n{out.decode()}"
    return out.decode()


async def run_example(kind: str, tmp_path: Path, env: dict[str, str]) -> str:
    code = EXAMPLES[kind]
    if kind.startswith("python"):
        (tmp_path / "example.py").write_text(code)
        return await run(sys.executable, str(tmp_path / "example.py"), env=env)
    if kind == "cli":
        (tmp_path / "example.sh").write_text(code)
        path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
        return await run("bash", "-eo", "pipefail", str(tmp_path / "example.sh"), env={**env, "PATH": path})
    if not (TS / "node_modules").is_dir():
        testbed.missing("clients/typescript/node_modules (npm ci)")
    work = TS / ".readme"  # inside the package, so that "@zanepool/client" resolves to itself
    work.mkdir(exist_ok=True)
    (work / "example.ts").write_text(code)
    (work / "tsconfig.json").write_text(
        '{"extends": "../tsconfig.json", "compilerOptions": {"rootDir": ".", "outDir": "out"},'
        ' "include": ["example.ts"]}\n'
    )
    tsc = str(TS / "node_modules" / ".bin" / "tsc")
    await run(tsc, "-p", ".", cwd=TS)
    await run(tsc, "-p", ".readme", cwd=TS)
    return await run("node", str(work / "out" / "example.js"), env=env)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
async def test_readme_example_runs(server: RunningServer, swarm_unix: str, tmp_path: Path, kind: str) -> None:
    if kind == "python-sync":  # it lists pools: one to list
        await server.pools.RegisterPool(
            ps.RegisterPoolRequest(pool_id="example", pool=swarm_pool(swarm_unix))
        )
    printed = await run_example(
        kind, tmp_path, {"ZANEPOOL_SERVER": server.address, "DOCKER_HOST": swarm_unix}
    )
    for expected in EXPECTED[kind]:
        assert expected in printed, f"{expected!r} not in the {kind} example's output:\n{printed}"
