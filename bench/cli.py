"""``python -m bench``: set up, measure in interleaved rounds, print the table, write the JSON."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from bench import report, servers
from bench.baseline import GET_FILE, LIST_FILE
from bench.engine import DirectEngine
from bench.load import Call, CpuMeter, Latency, Throughput, latency, throughput
from bench.procs import Child
from bench.report import Comparison, Goal
from bench.testbed import BenchError, Testbed, load
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import pool_service_pb2_grpc as ps_grpc
from zanepool.v1 import resources_pb2 as pb
from zanepool_server.store.mongo import Store

T = TypeVar("T")
POOL_ID = "bench"
PAGE_SIZE = 100
CALL_TIMEOUT = 10.0


@dataclass(frozen=True)
class Options:
    rounds: int
    seconds: float
    latency_seconds: float
    concurrency: int
    pools: int
    json: Path | None

    def to_json(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "seconds_per_throughput_round": self.seconds,
            "seconds_per_latency_round": self.latency_seconds,
            "concurrency": self.concurrency,
            "stored_pools": self.pools + 1,
            "page_size": PAGE_SIZE,
        }


def parse(argv: Sequence[str] | None) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Zane Pool against baselines in interleaved rounds; prints ratios (bench/README.md).",
    )
    p.add_argument("--rounds", type=int, default=5, help="rounds of each side per measure (default 5)")
    p.add_argument("--seconds", type=float, default=2.0, help="length of a throughput round (default 2)")
    p.add_argument(
        "--latency-seconds", type=float, default=1.5, help="length of a latency round (default 1.5)"
    )
    p.add_argument("--concurrency", type=int, default=16, help="concurrent callers on one channel (16)")
    p.add_argument(
        "--pools", type=int, default=PAGE_SIZE, help="pools stored besides the registered one (100)"
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    ns = p.parse_args(argv)
    if ns.rounds < 1 or ns.seconds <= 0 or ns.latency_seconds <= 0 or ns.concurrency < 1:
        p.error("--rounds, --seconds, --latency-seconds and --concurrency must be positive")
    if ns.pools < PAGE_SIZE:
        p.error(f"--pools must be at least {PAGE_SIZE}: ListPools reads full pages of {PAGE_SIZE}")
    return Options(ns.rounds, ns.seconds, ns.latency_seconds, ns.concurrency, ns.pools, ns.json)


def say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


# --- set-up ------------------------------------------------------------------------------------


async def preflight(tb: Testbed) -> None:
    """Both components answer, or a clear error says which does not."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(tb.mongodb_uri, serverSelectionTimeoutMS=5000)
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        raise BenchError(f"the store at {tb.mongodb_uri} does not answer: {exc}") from None
    finally:
        await client.close()
    engine = DirectEngine(tb.docker_unix)
    try:
        await asyncio.wait_for(engine.read(), 10)
    except Exception as exc:
        raise BenchError(f"the Docker engine at {tb.docker_unix} does not answer: {exc!r}") from None
    finally:
        await engine.aclose()


async def drop_database(uri: str, database: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        await client.drop_database(database)
    except PyMongoError as exc:
        say(f"could not drop the database {database}: {exc}")
    finally:
        await client.close()


async def seed(uri: str, database: str, count: int) -> None:
    """``count`` more pools, copies of the registered one, written straight to the store."""
    store = Store(uri, database=database)
    await store.open()
    try:
        real = await store.get_pool(POOL_ID)
        if real is None:
            raise BenchError(f"pools/{POOL_ID} is not in the store after its registration")
        for i in range(count):
            await store.insert_pool(
                real.with_changes(
                    pool_id=f"{POOL_ID}-{i:04d}",
                    uid=f"{real.uid[:-4]}{i:04d}",
                    cluster_id=f"{real.cluster_id[:-4]}{i:04d}",
                    display_name=f"Bench pool {i}",
                    labels={**real.labels, "n": str(i)},
                )
            )
    finally:
        await store.aclose()


# --- rounds --------------------------------------------------------------------------------------


Round = Callable[[], Awaitable[Throughput | Latency]]


async def interleaved(rounds: int, baseline: Round, subject: Round, record: Callable[..., None]) -> None:
    """baseline, subject, baseline, subject, ...: noise that drifts hits both sides alike."""
    for _ in range(rounds):
        b = await baseline()
        s = await subject()
        record(b, s)


def throughput_comparison(
    key: str, group: str, kind: str, goal: Goal
) -> tuple[Comparison, Callable[..., None]]:
    comp = Comparison(key, group, "throughput", "calls/s", kind, goal)

    def record(b: Throughput, s: Throughput) -> None:
        comp.baseline.add(b.per_second, b.calls, b.cpu)
        comp.subject.add(s.per_second, s.calls, s.cpu)

    return comp, record


def latency_comparisons(
    key: str, group: str, kind: str, goal: Goal
) -> tuple[list[Comparison], Callable[..., None]]:
    """The p50 and the mean (ms) of ``group``, keyed ``<key>_p50`` and ``<key>_mean``, and the
    function recording a round of both sides."""
    p50 = Comparison(f"{key}_p50", group, "p50", "ms", kind, goal)
    mean = Comparison(f"{key}_mean", group, "mean", "ms", kind, goal)

    def record(b: Latency, s: Latency) -> None:
        p50.baseline.add(b.p50 * 1e3, b.calls, b.cpu)
        p50.subject.add(s.p50 * 1e3, s.calls, s.cpu)
        mean.baseline.add(b.mean * 1e3, b.calls, b.cpu)
        mean.subject.add(s.mean * 1e3, s.calls, s.cpu)

    return [p50, mean], record


async def run(opts: Options, context: dict[str, Any]) -> list[Comparison]:
    """Set up, measure, tear down; ``context`` receives what the JSON should say about the run."""
    tb = load()
    say(f"test bed from {tb.source}: store {tb.mongodb_uri}, engine {tb.docker_unix}")
    await preflight(tb)
    database = f"zp_bench_{uuid.uuid4().hex[:12]}"
    children: list[Child] = []
    async with contextlib.AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="zanepool-bench-")))
        stack.push_async_callback(drop_database, tb.mongodb_uri, database)
        try:
            # The real server, a pool registered from the unix endpoint, more pools in the store.
            real, real_address = await servers.start_zanepool(tb.mongodb_uri, database, folder)
            children.append(real)
            stack.push_async_callback(real.stop)
            real_channel = await stack.enter_async_context(grpc.aio.insecure_channel(real_address))
            real_stub = ps_grpc.PoolServiceStub(real_channel)
            await real_stub.RegisterPool(
                ps.RegisterPoolRequest(
                    pool_id=POOL_ID,
                    pool=pb.Pool(
                        driver=pb.DRIVER_SWARM,
                        endpoint=tb.docker_unix,
                        display_name="Bench",
                        labels={"env": "bench", "team": "core"},
                    ),
                ),
                timeout=30,
            )
            await seed(tb.mongodb_uri, database, opts.pools)
            say(f"server at {real_address} (pid {real.pid}); {opts.pools + 1} pools in database {database}")

            # What the real server answers, served back by the bare baseline.
            get_basic = ps.GetPoolRequest(name=f"pools/{POOL_ID}", view=pb.POOL_VIEW_BASIC)
            get_full = ps.GetPoolRequest(name=f"pools/{POOL_ID}", view=pb.POOL_VIEW_FULL)
            list_page = ps.ListPoolsRequest(page_size=PAGE_SIZE)
            got = await real_stub.GetPool(get_basic, timeout=CALL_TIMEOUT)
            listed = await real_stub.ListPools(list_page, timeout=CALL_TIMEOUT)
            if len(listed.pools) != PAGE_SIZE or not listed.next_page_token:
                raise BenchError(f"ListPools gave {len(listed.pools)} pools, not a full page of {PAGE_SIZE}")
            full = await real_stub.GetPool(get_full, timeout=CALL_TIMEOUT)
            if full.pool.state != pb.Pool.STATE_READY or not full.pool.nodes:
                raise BenchError(f"the FULL view is not a live read: {full.pool.state_message}")
            (folder / GET_FILE).write_bytes(got.SerializeToString())
            (folder / LIST_FILE).write_bytes(listed.SerializeToString())
            bare, bare_address = await servers.start_baseline(folder)
            children.append(bare)
            stack.push_async_callback(bare.stop)
            bare_channel = await stack.enter_async_context(grpc.aio.insecure_channel(bare_address))
            bare_stub = ps_grpc.PoolServiceStub(bare_channel)
            if (await bare_stub.GetPool(get_basic, timeout=CALL_TIMEOUT)) != got or (
                await bare_stub.ListPools(list_page, timeout=CALL_TIMEOUT)
            ) != listed:
                raise BenchError("the baseline does not answer what the real server answers")
            say(
                f"baseline at {bare_address} (pid {bare.pid}); GetPool answer {got.ByteSize()} B, "
                f"ListPools answer {listed.ByteSize()} B, FULL answer {full.ByteSize()} B"
            )
            context |= {
                "testbed": {"source": tb.source, "store": tb.mongodb_uri, "engine": tb.docker_unix},
                "answer_bytes": {
                    "get_pool_basic": got.ByteSize(),
                    "list_pools": listed.ByteSize(),
                    "get_pool_full": full.ByteSize(),
                },
                "engine_nodes": len(full.pool.nodes),
                "versions": {"python": platform.python_version(), "grpcio": grpc.__version__},
            }
            engine = DirectEngine(tb.docker_unix)
            stack.push_async_callback(engine.aclose)

            return await measure(
                opts, tb, real, bare, real_stub, bare_stub, engine, get_basic, get_full, list_page
            )
        except Exception:
            for child in children:
                say(f"last lines of the {child.name} log:\n{child.log_tail()}")
            raise
    raise AssertionError("unreachable")


async def measure(
    opts: Options,
    tb: Testbed,
    real: Child,
    bare: Child,
    real_stub: ps_grpc.PoolServiceAsyncStub,
    bare_stub: ps_grpc.PoolServiceAsyncStub,
    engine: DirectEngine,
    get_basic: ps.GetPoolRequest,
    get_full: ps.GetPoolRequest,
    list_page: ps.ListPoolsRequest,
) -> list[Comparison]:
    real_cpu = CpuMeter(real.pid, tb.mongo_pid)
    bare_cpu = CpuMeter(bare.pid, tb.mongo_pid)
    direct_cpu = CpuMeter(None, tb.mongo_pid)

    def loaded(call: Call, meter: CpuMeter) -> Round:
        return lambda: throughput(call, concurrency=opts.concurrency, seconds=opts.seconds, meter=meter)

    def timed(call: Call, meter: CpuMeter) -> Round:
        return lambda: latency(call, seconds=opts.latency_seconds, min_calls=10, meter=meter)

    async def warm(*calls: Call) -> None:
        for call in calls:
            await throughput(call, concurrency=opts.concurrency, seconds=0.3, meter=direct_cpu)

    comparisons: list[Comparison] = []

    # 1. GetPool(BASIC): throughput against the bare server's prebuilt answer.
    say(f"GetPool BASIC: {opts.rounds} x 2 rounds of {opts.seconds:g} s, {opts.concurrency} callers")
    basic, record = throughput_comparison(
        "get_pool_basic", "GetPool BASIC", "bare gRPC server", Goal(">=", 0.6)
    )
    real_basic: Call = lambda: real_stub.GetPool(get_basic, timeout=CALL_TIMEOUT)  # noqa: E731
    bare_basic: Call = lambda: bare_stub.GetPool(get_basic, timeout=CALL_TIMEOUT)  # noqa: E731
    await warm(bare_basic, real_basic)
    await interleaved(opts.rounds, loaded(bare_basic, bare_cpu), loaded(real_basic, real_cpu), record)
    comparisons.append(basic)

    # 2. ListPools, full pages of 100.
    say(f"ListPools {PAGE_SIZE}: {opts.rounds} x 2 rounds of {opts.seconds:g} s, {opts.concurrency} callers")
    paged, record = throughput_comparison(
        "list_pools_100", f"ListPools {PAGE_SIZE}", "bare gRPC server", Goal(">=", 0.6)
    )
    real_list: Call = lambda: real_stub.ListPools(list_page, timeout=CALL_TIMEOUT)  # noqa: E731
    bare_list: Call = lambda: bare_stub.ListPools(list_page, timeout=CALL_TIMEOUT)  # noqa: E731
    await warm(bare_list, real_list)
    await interleaved(opts.rounds, loaded(bare_list, bare_cpu), loaded(real_list, real_cpu), record)
    comparisons.append(paged)

    # 3. GetPool(FULL): sequential latency against the same engine reads made directly.
    say(f"GetPool FULL: {opts.rounds} x 2 rounds of {opts.latency_seconds:g} s, sequential")
    full, record_latency = latency_comparisons(
        "get_pool_full", "GetPool FULL", "aiodocker direct", Goal("<=", 1.3)
    )

    real_full: Call = lambda: real_stub.GetPool(get_full, timeout=CALL_TIMEOUT)  # noqa: E731
    for _ in range(10):
        await engine.read()
        await real_full()
    await interleaved(opts.rounds, timed(engine.read, direct_cpu), timed(real_full, real_cpu), record_latency)
    comparisons += full
    return comparisons


def guarded(work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` to its end: exit 2 on a BenchError, 130 on Ctrl-C or SIGTERM, which stop
    the run like Ctrl-C does (everything started is stopped on the way out)."""

    async def cancellable() -> T:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await work()

    try:
        return asyncio.run(cancellable())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("bench: interrupted; everything it started is stopped", file=sys.stderr)
        raise SystemExit(130) from None


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["crosspool"]:  # ListContainers over 1 pool and over 5 (bench/crosspool.py)
        from bench import crosspool

        crosspool.main(args[1:])
        return
    if args[:1] == ["logs"]:  # StreamLogs throughput and fan-out (bench/logs.py)
        from bench import logs

        logs.main(args[1:])
        return
    opts = parse(args)
    title = (
        f"Zane Pool benchmark: medians of {opts.rounds} interleaved rounds a side; "
        "ratio = median of the per-round ratios zanepool / baseline"
    )
    run_and_report(title, lambda context: run(opts, context), opts.json, opts.to_json())


def run_and_report(
    title: str,
    work: Callable[[dict[str, Any]], Awaitable[list[Comparison]]],
    json: Path | None,
    settings: dict[str, Any],
) -> None:
    """Run ``work(context)`` guarded, print its table and write the JSON (settings, then what
    ``work`` put in its context)."""
    started = time.monotonic()
    context: dict[str, Any] = {}
    comparisons = guarded(lambda: work(context))
    elapsed = time.monotonic() - started
    print(f"\n{title}\n")
    print(report.table(comparisons))
    print(f"\nwhole run: {elapsed:.0f} s")
    if json is not None:
        report.write_json(json, settings | context, comparisons, elapsed)
        print(f"JSON: {json}")
