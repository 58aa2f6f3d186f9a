"""``python -m bench logs``: StreamLogs against baselines measured in the same run.

1. Throughput. One subscriber reads one container's whole log (``--lines`` lines, without
   follow) through StreamLogs with ``max_batch_lines`` = ``--batch``, end to end.
   Baselines, in interleaved rounds: the same log read straight from the engine with
   aiodocker (``container.log``; goal: ratio >= 0.8), and a bare grpc.aio LogService that
   streams prebuilt StreamLogsResponse messages (copies of a real one from the middle of
   the log, as many as carry the same number of lines): what the gRPC messages alone cost
   on this machine, the most any server of this API could do here.
2. Fan-out. ``--subscribers`` subscribers follow one pool of ``--busy`` containers that
   write ``--rate`` lines a second each. Reported, not compared: the upstream reads open
   (one per container however many subscribers), how many were opened in all, the server's
   RSS growth and CPU per delivered line, lines delivered and lost, and how long the
   upstream reads take to stop once every subscriber has gone.

The server runs in a process of its own (``python -m bench.logs serve STATS ARGS``: the real
server, which also writes its log feeds' counters to STATS every 0.1 s), as does the bare
baseline (``python -m bench.logs bare MESSAGE COUNT PORTFILE``). The containers run on the
single-node test engine and are removed on the way out, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiodocker
import grpc

from bench.child import stop_when_parent_goes
from bench.cli import drop_database, preflight, run_and_report, say
from bench.load import CpuMeter, Throughput
from bench.procs import Child, cpu_seconds, free_port
from bench.report import Comparison, Goal
from bench.testbed import BenchError, Testbed, load
from zanepool.v1 import log_service_pb2 as ls
from zanepool.v1 import log_service_pb2_grpc as ls_grpc
from zanepool.v1 import pool_service_pb2 as ps
from zanepool.v1 import pool_service_pb2_grpc as ps_grpc
from zanepool.v1 import resources_pb2 as pb

POOL_ID = "bench"
IMAGE = "local/busybox:1"
LABEL = "zanepool.bench"
TRAP = "trap 'exit 0' TERM;"
IDLE = f"{TRAP} while true; do sleep 1 & wait $!; done"
TEXT = "the quick brown fox jumps over the lazy dog"
START_TIMEOUT = 30.0
STATS_EVERY = 0.1


@dataclass(frozen=True)
class Options:
    lines: int
    batch: int
    rounds: int
    subscribers: int
    busy: int
    rate: float
    seconds: float
    channels: int
    json: Path | None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "json"}


def parse(argv: Sequence[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m bench logs",
        description="StreamLogs throughput against aiodocker and a bare gRPC stream; fan-out.",
    )
    p.add_argument("--lines", type=int, default=200_000, help="lines of the container read (200000)")
    p.add_argument(
        "--batch", type=int, default=1000, help="max_batch_lines of the throughput reads (1000; 1: none)"
    )
    p.add_argument("--rounds", type=int, default=3, help="rounds of each side (default 3)")
    p.add_argument("--subscribers", type=int, default=100, help="subscribers following the pool (100)")
    p.add_argument("--busy", type=int, default=3, help="containers they follow (default 3)")
    p.add_argument("--rate", type=float, default=10.0, help="lines a second each busy container writes (10)")
    p.add_argument("--seconds", type=float, default=10.0, help="length of the fan-out measurement (10)")
    p.add_argument("--channels", type=int, default=4, help="channels the subscribers share (default 4)")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    ns = p.parse_args(argv)
    counts = (ns.lines, ns.batch, ns.rounds, ns.subscribers, ns.busy, ns.channels)
    if min(counts) < 1 or ns.rate <= 0 or ns.seconds <= 0:
        p.error("every count, --rate and --seconds must be positive")
    return Options(
        ns.lines, ns.batch, ns.rounds, ns.subscribers, ns.busy, ns.rate, ns.seconds, ns.channels, ns.json
    )


def main(argv: Sequence[str]) -> None:
    opts = parse(argv)
    title = (
        f"Zane Pool log benchmark: medians of {opts.rounds} interleaved rounds a side; "
        "ratio = median of the per-round ratios zanepool / baseline"
    )
    run_and_report(title, lambda context: run(opts, context), opts.json, opts.to_json())


# --- the server and the bare baseline, each in a process of its own -------------------------------


@dataclass
class Server:
    child: Child
    address: str
    stats: Path

    def counters(self) -> dict[str, int]:
        """The server's log feeds now: ``open`` upstream reads, ``opened_total`` since it started."""
        try:
            return dict(json.loads(self.stats.read_text()))
        except (OSError, ValueError):
            return {}

    def rss(self) -> int:
        for line in Path(f"/proc/{self.child.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0


async def start_server(tb: Testbed, database: str, folder: Path) -> Server:
    stats = folder / "stats.json"
    address = f"127.0.0.1:{free_port()}"
    child = await Child.start(
        "zanepool-server",
        "bench.logs",
        "serve",
        str(stats),
        f"--listen={address}",
        f"--mongodb-uri={tb.mongodb_uri}",
        f"--database={database}",
        "--monitor-interval=3600",  # no background syncs during the measurement
        "--shutdown-grace=1",
        log=folder / "zanepool-server.log",
    )
    await _until(lambda: stats.exists(), child, "the Zane Pool server")
    return Server(child, address, stats)


async def start_bare(message: ls.StreamLogsResponse, count: int, folder: Path) -> tuple[Child, str]:
    (folder / "message.bin").write_bytes(message.SerializeToString())
    port_file = folder / "bare.port"
    child = await Child.start(
        "bare-logs",
        "bench.logs",
        "bare",
        str(folder / "message.bin"),
        str(count),
        str(port_file),
        log=folder / "bare.log",
    )
    await _until(lambda: port_file.exists(), child, "the bare LogService")
    return child, f"127.0.0.1:{port_file.read_text().strip()}"


async def _until(ready: Any, child: Child, what: str) -> None:
    end = time.monotonic() + START_TIMEOUT
    while not ready():
        if not child.running or time.monotonic() > end:
            await child.stop()
            raise BenchError(f"{what} did not start:\n{child.log_tail()}")
        await asyncio.sleep(0.1)


class BareLogs(ls_grpc.LogServiceServicer):
    """Streams ``count`` copies of one prebuilt response, whatever the request."""

    def __init__(self, message: ls.StreamLogsResponse, count: int) -> None:
        self._message = message
        self._count = count

    async def StreamLogs(
        self, request: ls.StreamLogsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[ls.StreamLogsResponse]:
        for _ in range(self._count):
            yield self._message


async def _serve_bare(message_file: Path, count: int, port_file: Path) -> None:
    from zanepool_server.app import SERVER_OPTIONS

    server = grpc.aio.server(options=SERVER_OPTIONS)
    message = ls.StreamLogsResponse.FromString(message_file.read_bytes())
    ls_grpc.add_LogServiceServicer_to_server(BareLogs(message, count), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    port_file.write_text(str(port))
    try:
        await _signalled()
    finally:
        await server.stop(0.5)


async def _serve_with_stats(stats: Path, argv: Sequence[str]) -> None:
    from zanepool_server import config
    from zanepool_server.app import ZanePoolServer

    server = ZanePoolServer(config.parse(argv))
    await server.start()

    async def write() -> None:
        while True:
            live = server.logs.live if server.logs is not None else None
            counters = {"open": live.open_count, "opened_total": live.opened_total} if live else {}
            partial = stats.with_suffix(".tmp")
            partial.write_text(json.dumps(counters))
            partial.replace(stats)
            await asyncio.sleep(STATS_EVERY)

    writer = asyncio.create_task(write())
    try:
        await _signalled()
    finally:
        writer.cancel()
        await server.stop()


async def _signalled() -> None:
    """Until SIGTERM or SIGINT."""
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, done.set)
    await done.wait()


# --- set-up ----------------------------------------------------------------------------------------


@dataclass
class Engine:
    """The single-node test engine, and the containers the bench made on it."""

    docker: aiodocker.Docker
    run: str
    made: list[str] = field(default_factory=list)

    async def container(self, script: str, role: str) -> str:
        config = {"Image": IMAGE, "Cmd": ["sh", "-c", script], "Labels": {LABEL: f"{self.run}-{role}"}}
        made = await self.docker.containers.run(config, name=f"zp-bench-logs-{uuid.uuid4().hex[:8]}")
        self.made.append(made.id)
        return str(made.id)

    async def aclose(self) -> None:
        for cid in self.made:
            with contextlib.suppress(aiodocker.DockerError):
                await self.docker.containers.container(cid).delete(force=True)
        await self.docker.close()

    async def wait_lines(self, cid: str, count: int) -> None:
        """Until the container's log holds ``count`` lines (its last one says so)."""
        end = time.monotonic() + 120
        while time.monotonic() < end:
            last = await self.docker.containers.container(cid).log(stdout=True, stderr=True, tail=1)
            if last and last[-1].startswith(f"{count - 1:07d} "):
                return
            await asyncio.sleep(0.5)
        raise BenchError(f"the container did not write {count} lines in 120 s")

    async def read(self, cid: str) -> int:
        """The whole log, straight from the engine, the way aiodocker reads it: its line count."""
        return len(await self.docker.containers.container(cid).log(stdout=True, stderr=True, timestamps=True))


async def run(opts: Options, context: dict[str, Any]) -> list[Comparison]:
    tb = load()
    say(f"test bed from {tb.source}: store {tb.mongodb_uri}, engine {tb.docker_unix}")
    await preflight(tb)
    engine_pid = _engine_pid(tb.docker_unix)
    database = f"zp_bench_{uuid.uuid4().hex[:12]}"
    async with contextlib.AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="zanepool-bench-logs-")))
        stack.push_async_callback(drop_database, tb.mongodb_uri, database)
        engine = Engine(aiodocker.Docker(url=tb.docker_unix), uuid.uuid4().hex[:8])
        stack.push_async_callback(engine.aclose)
        children: list[Child] = []
        try:
            server = await start_server(tb, database, folder)
            children.append(server.child)
            stack.push_async_callback(server.child.stop)
            channel = await stack.enter_async_context(grpc.aio.insecure_channel(server.address))
            pool = pb.Pool(driver=pb.DRIVER_SWARM, endpoint=tb.docker_unix, display_name="Bench")
            await ps_grpc.PoolServiceStub(channel).RegisterPool(
                ps.RegisterPoolRequest(pool_id=POOL_ID, pool=pool), timeout=30
            )
            say(f"server at {server.address} (pid {server.child.pid}); writing {opts.lines:,} lines")
            awk = f"awk 'BEGIN{{for(i=0;i<{opts.lines};i++) printf \"%07d {TEXT}\\n\", i}}'"
            writer = await engine.container(f"{awk}; {IDLE}", "writer")
            await engine.wait_lines(writer, opts.lines)

            stub = ls_grpc.LogServiceStub(channel)
            parent = f"pools/{POOL_ID}/containers/{writer}"
            request = ls.StreamLogsRequest(parent=parent, max_batch_lines=opts.batch)
            sample = await _sample(stub, request, opts.lines)
            per_message = _lines_in(sample)
            bare, bare_address = await start_bare(sample, -(-opts.lines // per_message), folder)
            children.append(bare)
            stack.push_async_callback(bare.stop)
            bare_channel = await stack.enter_async_context(grpc.aio.insecure_channel(bare_address))
            bare_stub = ls_grpc.LogServiceStub(bare_channel)
            context |= {
                "testbed": {"source": tb.source, "store": tb.mongodb_uri, "engine": tb.docker_unix},
                "message_bytes": sample.ByteSize(),
                "lines_per_message": per_message,
                "versions": {"python": sys.version.split()[0], "grpcio": grpc.__version__},
            }
            comparisons = await throughput(
                opts, engine, writer, stub, bare_stub, request, server, bare, engine_pid
            )
            context["fanout"] = await fanout(opts, engine, server)
            print(fanout_table(context["fanout"]))
            return comparisons
        except Exception:
            for child in children:
                say(f"last lines of the {child.name} log:\n{child.log_tail()}")
            raise
    raise AssertionError("unreachable")


def _engine_pid(endpoint: str) -> int | None:
    """The test engine's dockerd, found by the socket it serves (its CPU goes in the table's
    ``store`` column); None when it cannot be seen."""
    wanted = f"-H {endpoint}".encode()
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit():
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                if b"dockerd" in command and wanted in command:
                    return int(entry.name)
    return None


def _lines_in(response: ls.StreamLogsResponse) -> int:
    kind = response.WhichOneof("payload")
    return 1 if kind == "entry" else len(response.batch.entries) if kind == "batch" else 0


async def _sample(
    stub: ls_grpc.LogServiceStub, request: ls.StreamLogsRequest, count: int
) -> ls.StreamLogsResponse:
    """A real response from the middle of the log (what the bare baseline streams: the
    fullest seen from there on, batches being fullest when lines queue up), and a check
    that the stream gives every line, in order."""
    got, middle = 0, None
    async for response in stub.StreamLogs(request, timeout=600):
        lines = [response.entry] if response.HasField("entry") else list(response.batch.entries)
        for n, entry in enumerate(lines, got):
            if not entry.line.startswith(f"{n:07d} "):
                raise BenchError(f"line {n} of the stream is {entry.line!r}")
        got += len(lines)
        if got >= count // 2 and (middle is None or _lines_in(response) > _lines_in(middle)):
            middle = response
    if got != count or middle is None:
        raise BenchError(f"StreamLogs gave {got} lines of {count}")
    return middle


# --- 1. throughput ---------------------------------------------------------------------------------


async def _lines_of(stub: ls_grpc.LogServiceStub, request: ls.StreamLogsRequest) -> int:
    got = 0
    async for response in stub.StreamLogs(request, timeout=600):
        got += _lines_in(response)
    return got


async def _timed(read: Any, expected: int | None, meter: CpuMeter) -> Throughput:
    """``expected`` None: whatever count the read gives (the bare stream's last message may
    carry more lines than the log has)."""
    start = time.perf_counter()
    with meter:
        got = await read()
        elapsed = time.perf_counter() - start
    if expected is not None and got != expected:
        raise BenchError(f"a read gave {got} lines, not {expected}")
    return Throughput(got, elapsed, meter.result)


async def throughput(
    opts: Options,
    engine: Engine,
    writer: str,
    stub: ls_grpc.LogServiceStub,
    bare_stub: ls_grpc.LogServiceStub,
    request: ls.StreamLogsRequest,
    server: Server,
    bare: Child,
    engine_pid: int | None,
) -> list[Comparison]:
    group = f"StreamLogs {opts.lines:,} lines, batch {opts.batch}"
    direct = Comparison(
        "logs_vs_aiodocker", group, "throughput", "lines/s", "aiodocker direct", Goal(">=", 0.8)
    )
    ceiling = Comparison(
        "logs_vs_bare_grpc", f"{group} (gRPC)", "throughput", "lines/s", "bare gRPC stream", None
    )
    say(f"{group}: {opts.rounds} rounds of aiodocker, bare gRPC and zanepool, one after another")
    for n in range(opts.rounds):
        d = await _timed(lambda: engine.read(writer), opts.lines, CpuMeter(None, engine_pid))
        b = await _timed(lambda: _lines_of(bare_stub, request), None, CpuMeter(bare.pid, None))
        z = await _timed(lambda: _lines_of(stub, request), opts.lines, CpuMeter(server.child.pid, engine_pid))
        for comparison, base in ((direct, d), (ceiling, b)):
            comparison.baseline.add(base.per_second, base.calls, base.cpu)
            comparison.subject.add(z.per_second, z.calls, z.cpu)
        rates = f"aiodocker {d.per_second:,.0f}, bare {b.per_second:,.0f}, zanepool {z.per_second:,.0f}"
        say(f"round {n + 1}: {rates} lines/s")
    return [direct, ceiling]


# --- 2. fan-out ------------------------------------------------------------------------------------


@dataclass
class Subscriber:
    lines: int = 0
    lost: int = 0
    sources: set[str] = field(default_factory=set)
    error: str = ""


async def _follow(stub: ls_grpc.LogServiceStub, request: ls.StreamLogsRequest, me: Subscriber) -> None:
    try:
        async for response in stub.StreamLogs(request):
            if response.HasField("batch"):
                me.lines += len(response.batch.entries)
                me.sources.update(entry.container for entry in response.batch.entries)
            elif response.HasField("gap"):
                me.lost += response.gap.dropped_lines
    except grpc.aio.AioRpcError as err:
        if err.code() != grpc.StatusCode.CANCELLED:
            me.error = f"{err.code().name}: {err.details()}"


async def fanout(opts: Options, engine: Engine, server: Server) -> dict[str, Any]:
    every = 1 / opts.rate
    pause = f"usleep {int(every * 1e6)}"
    busy = [
        await engine.container(
            f'{TRAP} i=0; while true; do echo "busy-{k} $i {TEXT}"; i=$((i+1)); {pause}; done', "busy"
        )
        for k in range(opts.busy)
    ]
    await asyncio.sleep(1)
    before = server.counters()
    rss_before = server.rss()
    request = ls.StreamLogsRequest(
        parent=f"pools/{POOL_ID}",
        filter=f'labels.{LABEL} = "{engine.run}-busy"',
        follow=True,
        tail_lines=1,
        max_batch_lines=opts.batch,
    )
    say(f"fan-out: {opts.subscribers} subscribers, {len(busy)} containers writing {opts.rate:g} lines/s each")
    subscribers = [Subscriber() for _ in range(opts.subscribers)]
    async with contextlib.AsyncExitStack() as stack:
        channels = [
            await stack.enter_async_context(grpc.aio.insecure_channel(server.address))
            for _ in range(opts.channels)
        ]
        stubs = [ls_grpc.LogServiceStub(c) for c in channels]
        tasks = [
            asyncio.create_task(_follow(stubs[i % len(stubs)], request, me))
            for i, me in enumerate(subscribers)
        ]
        try:
            end = time.monotonic() + 60
            while any(len(me.sources) < len(busy) for me in subscribers):
                if time.monotonic() > end or any(t.done() for t in tasks):
                    errors = {me.error for me in subscribers if me.error}
                    raise BenchError(f"the subscribers did not all get every container's lines: {errors}")
                await asyncio.sleep(0.1)
            say(f"every subscriber has every container; measuring for {opts.seconds:g} s")
            open_seen = []
            lines0, lost0 = sum(me.lines for me in subscribers), sum(me.lost for me in subscribers)
            cpu0, start = cpu_seconds(server.child.pid), time.monotonic()
            while time.monotonic() - start < opts.seconds:
                open_seen.append(server.counters().get("open", -1))
                await asyncio.sleep(0.5)
            cpu1, elapsed = cpu_seconds(server.child.pid), time.monotonic() - start
            delivered = sum(me.lines for me in subscribers) - lines0
            lost = sum(me.lost for me in subscribers) - lost0
            rss_during = server.rss()
            during = server.counters()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    # Every subscriber has gone: how long until the upstream reads stop?
    gone = time.monotonic()
    for _ in range(int(10 / STATS_EVERY)):
        if not server.counters().get("open", 0):
            break
        await asyncio.sleep(STATS_EVERY)
    stopped_after = time.monotonic() - gone
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    return {
        "subscribers": opts.subscribers,
        "containers": len(busy),
        "upstream_open": {"median": statistics.median(open_seen), "max": max(open_seen)},
        "upstream_opened_total": during.get("opened_total", 0) - before.get("opened_total", 0),
        "upstream_open_after_cancel": server.counters().get("open", -1),
        "seconds_to_close_upstreams": round(stopped_after, 2),
        "rss_before_bytes": rss_before,
        "rss_during_bytes": rss_during,
        "rss_growth_bytes": rss_during - rss_before,
        "seconds": round(elapsed, 2),
        "lines_delivered": delivered,
        "lines_per_second": round(delivered / elapsed),
        "lines_lost": lost,
        "server_cpu_seconds": cpu,
        "server_cpu_us_per_line": None if cpu is None or not delivered else round(cpu / delivered * 1e6, 1),
        "server_cpu_share": None if cpu is None else round(cpu / elapsed, 3),
        "errors": sorted({me.error for me in subscribers if me.error}),
    }


def _mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"


def fanout_table(f: dict[str, Any]) -> str:
    rows = [
        ("subscribers x containers", f"{f['subscribers']} x {f['containers']}"),
        (
            "upstream reads open (median, max)",
            f"{f['upstream_open']['median']:g}, {f['upstream_open']['max']}",
        ),
        ("upstream reads opened in all", str(f["upstream_opened_total"])),
        (
            "upstream reads open after every subscriber left",
            f"{f['upstream_open_after_cancel']} (after {f['seconds_to_close_upstreams']} s)",
        ),
        (
            "server RSS before -> during",
            " -> ".join(_mib(f[k]) for k in ("rss_before_bytes", "rss_during_bytes")),
        ),
        ("server RSS growth", _mib(f["rss_growth_bytes"])),
        ("lines delivered (per second)", f"{f['lines_delivered']:,} ({f['lines_per_second']:,}/s)"),
        ("lines lost (gaps)", f"{f['lines_lost']:,}"),
        (
            "server CPU per delivered line",
            f"{f['server_cpu_us_per_line']} µs ({(f['server_cpu_share'] or 0) * 100:.0f} % of a core)",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    return "\nfan-out (reported, not compared)\n" + "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


if __name__ == "__main__":
    stop_when_parent_goes()
    kind, *rest = sys.argv[1:]
    if kind == "serve":
        asyncio.run(_serve_with_stats(Path(rest[0]), rest[1:]))
    elif kind == "bare":
        asyncio.run(_serve_bare(Path(rest[0]), int(rest[1]), Path(rest[2])))
    else:
        raise SystemExit(f"python -m bench.logs serve|bare ...: not {kind!r}")
