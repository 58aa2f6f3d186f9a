"""``python -m bench crosspool``: ListContainers over every pool (``pools/-``), 1 pool against 5.

The fan-out over pools is concurrent, so listing 5 pools of the same size should cost little
more than listing 1 (goal: ratio <= 1.5). The pools are real: the Swarm test bed is grown to
enough bare engines (``BARE=5 tests/testbed/swarm/up.sh``), CreatePool makes each engine a
single-node swarm of its own, and ContainerService gives each the same number of one-replica
busybox services. Two server processes measure the same call: one with only pool 1
registered, one with all 5 (pool 1 is the same cluster in both), in interleaved rounds of
sequential calls; the ratio is the median of the per-round p50 ratios (5 pools / 1 pool).

Everything is undone on the way out, on success, failure, Ctrl-C and SIGTERM: the containers
are deleted, the servers stopped, their databases dropped, the engines leave their swarms
(reset-bare.sh) and the test bed gets back the size it had (or is stopped, if it was not up).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc

from bench import servers
from bench.cli import Round, drop_database, interleaved, latency_comparisons, run_and_report, say
from bench.load import CpuMeter, Latency, latency
from bench.procs import ROOT, Child, cpu_seconds
from bench.report import Comparison, Goal
from bench.testbed import BenchError, env_file, load, read_env
from zanepool.v1 import container_service_pb2 as cs
from zanepool.v1 import container_service_pb2_grpc as cs_grpc
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import pool_service_pb2_grpc as ps_grpc
from zanepool.v1 import resources_pb2 as pb

SCRIPTS = ROOT / "tests" / "testbed" / "swarm"
CALL_TIMEOUT = 30.0
SCRIPT_TIMEOUT = 240.0
#: Sleeps; ends at once on SIGTERM (a shell as PID 1 ignores it unless trapped).
SLEEPER = "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"
DEFAULT_LAYOUT = (3, 2)  # the test bed's NODES and BARE when nothing else is said


@dataclass(frozen=True)
class Options:
    pools: int
    containers: int
    rounds: int
    seconds: float
    json: Path | None
    even_if_tests_run: bool

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("json", "even_if_tests_run")}


def parse(argv: Sequence[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m bench crosspool",
        description="ListContainers pools/- with 1 pool registered against N pools of the same size.",
    )
    numbers: tuple[tuple[str, type, float, str], ...] = (
        ("--pools", int, 5, "pools in the large case (default 5, at most 9)"),
        ("--containers", int, 10, "containers per pool (default 10)"),
        ("--rounds", int, 7, "rounds of each side (default 7)"),
        ("--seconds", float, 1.0, "length of a round (default 1)"),
    )
    for flag, kind, default, text in numbers:
        p.add_argument(flag, type=kind, default=default, help=text)
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    p.add_argument(
        "--even-if-tests-run",
        action="store_true",
        help="take the swarm test bed even while pytest runs (its swarm tests may then fail)",
    )
    ns = p.parse_args(argv)
    if not 2 <= ns.pools <= 9:
        p.error("--pools must be 2..9 (one bare engine of the swarm test bed each)")
    if ns.containers < 1 or ns.rounds < 1 or ns.seconds <= 0:
        p.error("--containers, --rounds and --seconds must be positive")
    return Options(ns.pools, ns.containers, ns.rounds, ns.seconds, ns.json, ns.even_if_tests_run)


# --- the test bed's size ------------------------------------------------------------------------


def swarm_dir() -> Path:
    return env_file().parent / "swarm"


def layout() -> tuple[int, int] | None:
    """NODES and BARE of the swarm test bed now, or None when it is not up."""
    try:
        nodes, bare = (swarm_dir() / "layout").read_text().split()
        return int(nodes), int(bare)
    except (OSError, ValueError):
        return None


def tests_running() -> list[int]:
    """Pids of pytest processes: the swarm test bed's bare engines (or all of it, when it is rebuilt)
    would be pulled from under them."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if b"pytest" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


async def script(name: str, log: Path, **env: int) -> None:
    """Run a swarm test bed script (its output goes to ``log``); BenchError when it fails."""
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            str(SCRIPTS / name),
            env=os.environ | {k: str(v) for k, v in env.items()},
            stdout=out,
            stderr=out,
        )
        try:
            code = await asyncio.wait_for(proc.wait(), SCRIPT_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            code = -1
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise BenchError(f"tests/testbed/swarm/{name} {env} failed ({code}):\n{tail}")


@contextlib.asynccontextmanager
async def engines(count: int, folder: Path, *, even_if_tests_run: bool) -> AsyncIterator[list[pb.Engine]]:
    """``count`` bare engines of the swarm test bed, grown for the run and restored after it."""
    before = layout()
    nodes, bare = before or DEFAULT_LAYOUT
    wanted = (nodes, max(bare, count))
    log = folder / "testbed.log"
    if not even_if_tests_run and (pids := tests_running()):
        raise BenchError(
            f"pytest runs (pids {pids}), and this benchmark takes the swarm test bed's bare engines "
            f"(growing the bed to BARE={wanted[1]}): run it when the tests are done, or pass "
            "--even-if-tests-run"
        )
    try:
        if before != wanted:
            say(f"swarm test bed: NODES={nodes} BARE={wanted[1]} (was {before or 'not up'}); rebuilding it")
            started = time.monotonic()
            await script("up.sh", log, NODES=wanted[0], BARE=wanted[1])
            say(f"swarm test bed rebuilt in {time.monotonic() - started:.0f} s")
        values = read_env(swarm_dir() / "env")
        endpoints = values.get("ZANEPOOL_TB_SWARM_BARE", "").split()
        addresses = values.get("ZANEPOOL_TB_SWARM_BARE_ADDRS", "").split()
        if len(endpoints) < count or len(addresses) != len(endpoints):
            raise BenchError(f"the swarm test bed has {len(endpoints)} bare engines, not {count}")
        pairs = list(zip(endpoints, addresses, strict=True))[:count]
        yield [pb.Engine(endpoint=e, advertise_address=a) for e, a in pairs]
    finally:
        say("swarm test bed: the engines leave their swarms; restoring its size")
        started = time.monotonic()
        try:
            await script("reset-bare.sh", log)
        finally:
            if before is None:
                await script("down.sh", log)
            elif before != wanted:
                await script("up.sh", log, NODES=before[0], BARE=before[1])
        say(f"swarm test bed restored in {time.monotonic() - started:.0f} s")


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Side:
    """One server and its channel."""

    child: Child
    pools: ps_grpc.PoolServiceAsyncStub
    containers: cs_grpc.ContainerServiceAsyncStub

    async def list_every_pool(self) -> cs.ListContainersResponse:
        request = cs.ListContainersRequest(parent="pools/-", page_size=1000)
        return await self.containers.ListContainers(request, timeout=CALL_TIMEOUT)


async def start_side(stack: contextlib.AsyncExitStack, uri: str, folder: Path, children: list[Child]) -> Side:
    database = f"zp_bench_{uuid.uuid4().hex[:12]}"
    stack.push_async_callback(drop_database, uri, database)
    child, address = await servers.start_zanepool(uri, database, folder)
    children.append(child)
    stack.push_async_callback(child.stop)
    channel = await stack.enter_async_context(grpc.aio.insecure_channel(address))
    return Side(child, ps_grpc.PoolServiceStub(channel), cs_grpc.ContainerServiceStub(channel))


async def fill(side: Side, pools: Sequence[str], count: int, stack: contextlib.AsyncExitStack) -> None:
    """``count`` one-replica busybox services in each pool, all deleted again at the end."""
    names = [f"{pool}/containers/sleeper-{i}" for pool in pools for i in range(count)]

    async def delete(name: str) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError):
            request = cs.DeleteContainerRequest(name=name, force=True)
            await side.containers.DeleteContainer(request, timeout=CALL_TIMEOUT)

    async def delete_all() -> None:
        await asyncio.gather(*(delete(name) for name in names))

    async def create(name: str) -> None:
        pool, _, container_id = name.partition("/containers/")
        container = pb.Container(image="local/busybox:1", command=["sh", "-c", SLEEPER])
        request = cs.CreateContainerRequest(parent=pool, container_id=container_id, container=container)
        await side.containers.CreateContainer(request, timeout=60)

    stack.push_async_callback(delete_all)
    await asyncio.gather(*(create(name) for name in names))


def check(answer: cs.ListContainersResponse, pools: int, containers: int, side: str) -> None:
    seen = {c.name.split("/containers/")[0] for c in answer.containers}
    running = [c for c in answer.containers if c.state == pb.Container.STATE_RUNNING]
    if answer.unreachable or len(seen) != pools or len(running) != pools * containers:
        raise BenchError(
            f"{side}: ListContainers pools/- gave {len(running)} running containers of {len(seen)} "
            f"pools (unreachable: {list(answer.unreachable)}), not {pools * containers} of {pools}"
        )


async def run(opts: Options, context: dict[str, Any]) -> list[Comparison]:
    tb = load()
    children: list[Child] = []
    async with contextlib.AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="zanepool-crosspool-")))
        try:
            grown = engines(opts.pools, folder, even_if_tests_run=opts.even_if_tests_run)
            bare = await stack.enter_async_context(grown)
            one = await start_side(stack, tb.mongodb_uri, folder, children)
            many = await start_side(stack, tb.mongodb_uri, folder, children)
            say(f"servers: 1 pool (pid {one.child.pid}), {opts.pools} pools (pid {many.child.pid})")

            # Each bare engine becomes a single-node swarm of its own, registered with `many`.
            created = await asyncio.gather(
                *(
                    many.pools.CreatePool(
                        ps.CreatePoolRequest(
                            pool_id=f"crosspool-{i + 1}",
                            pool=pb.Pool(driver=pb.DRIVER_SWARM),
                            engines=[engine],
                        ),
                        timeout=90,
                    )
                    for i, engine in enumerate(bare)
                )
            )
            pools = [c.pool for c in created]
            started = time.monotonic()
            await fill(many, [p.name for p in pools], opts.containers, stack)
            took = time.monotonic() - started
            say(f"{opts.pools} pools x {opts.containers} containers made in {took:.0f} s")
            # Pool 1 again, in the other server's own database: the same cluster, alone there.
            first = pb.Pool(driver=pb.DRIVER_SWARM, endpoint=pools[0].endpoint)
            first.node_endpoints.update(pools[0].node_endpoints)
            await one.pools.RegisterPool(
                ps.RegisterPoolRequest(pool_id="crosspool-1", pool=first), timeout=30
            )

            alone = await one.list_every_pool()
            check(alone, 1, opts.containers, "1 pool")
            listed = await many.list_every_pool()
            check(listed, opts.pools, opts.containers, f"{opts.pools} pools")
            context |= {
                "answer_bytes": {
                    "one_pool": alone.ByteSize(),
                    "pools": listed.ByteSize(),
                },
                "engines": [e.endpoint for e in bare],
            }
            return await measure(opts, tb.mongo_pid, one, many, engine_pids(bare), context)
        except Exception:
            for child in children:
                say(f"last lines of the {child.name} log:\n{child.log_tail()}")
            raise
    raise AssertionError("unreachable")


def engine_pids(bare: Sequence[pb.Engine]) -> list[int | None]:
    """The dockerd of each engine (its pid file sits beside its socket)."""
    pids: list[int | None] = []
    for engine in bare:
        try:
            pids.append(
                int((Path(engine.endpoint.removeprefix("unix://")).parent / "dockerd.pid").read_text())
            )
        except (OSError, ValueError):
            pids.append(None)
    return pids


def engines_cpu(pids: Sequence[int | None]) -> float | None:
    seconds = [cpu_seconds(pid) for pid in pids]
    return None if any(s is None for s in seconds) else sum(s for s in seconds if s is not None)


async def measure(
    opts: Options,
    store_pid: int | None,
    one: Side,
    many: Side,
    pids: Sequence[int | None],
    context: dict[str, Any],
) -> list[Comparison]:
    group = f"ListContainers pools/- {opts.pools} pools"
    comparisons, record = latency_comparisons("crosspool_list_containers", group, "1 pool", Goal("<=", 1.5))

    # The engines answer the pools' reads on the same cores: their CPU is counted too.
    engine_cpu: dict[str, list[float]] = {"1 pool": [0.0, 0.0], f"{opts.pools} pools": [0.0, 0.0]}

    def timed(side: Side, label: str) -> Round:
        meter = CpuMeter(side.child.pid, store_pid)

        async def one_round() -> Latency:
            before = engines_cpu(pids)
            measured = await latency(side.list_every_pool, seconds=opts.seconds, min_calls=10, meter=meter)
            after = engines_cpu(pids)
            if before is not None and after is not None:
                engine_cpu[label][0] += after - before
                engine_cpu[label][1] += measured.calls
            return measured

        return one_round

    for _ in range(10):  # connections opened, caches warm
        await one.list_every_pool()
        await many.list_every_pool()
    say(f"ListContainers pools/-: {opts.rounds} x 2 rounds of {opts.seconds:g} s, sequential calls")
    await interleaved(opts.rounds, timed(one, "1 pool"), timed(many, f"{opts.pools} pools"), record)
    per_call = {k: round(cpu / calls * 1e6) for k, (cpu, calls) in engine_cpu.items() if calls}
    context["engines_cpu_us_per_call"] = per_call
    context["cpus"] = os.cpu_count()
    say(f"engines' CPU µs per call (dockerd of the pools read): {per_call}; {os.cpu_count()} CPUs")
    return comparisons


def main(argv: Sequence[str]) -> None:
    opts = parse(argv)
    title = (
        f"Zane Pool cross-pool benchmark: ListContainers pools/- with 1 pool registered (baseline) and "
        f"with {opts.pools} (zanepool), {opts.containers} containers each; medians of {opts.rounds} "
        "interleaved rounds a side; ratio = median of the per-round ratios"
    )
    run_and_report(title, lambda context: run(opts, context), opts.json, opts.to_json())
