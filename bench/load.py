"""The client side: the same load code drives the real server, the baseline and the engine."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.procs import cpu_seconds

#: One call; the load never looks at the answer (its content is checked once, at set-up).
Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Cpu:
    """CPU seconds spent during a round by the process serving it, by the store, and by us."""

    server: float | None
    store: float | None
    client: float


class CpuMeter:
    def __init__(self, server_pid: int | None, store_pid: int | None) -> None:
        self._pids = (server_pid, store_pid)
        self._start: tuple[float | None, float | None, float] = (None, None, 0.0)

    def __enter__(self) -> CpuMeter:
        self._start = (cpu_seconds(self._pids[0]), cpu_seconds(self._pids[1]), time.process_time())
        self.result = Cpu(None, None, 0.0)
        return self

    def __exit__(self, *exc: object) -> None:
        server0, store0, client0 = self._start
        server1, store1 = cpu_seconds(self._pids[0]), cpu_seconds(self._pids[1])
        self.result = Cpu(
            None if server0 is None or server1 is None else server1 - server0,
            None if store0 is None or store1 is None else store1 - store0,
            time.process_time() - client0,
        )


@dataclass(frozen=True)
class Throughput:
    calls: int
    seconds: float
    cpu: Cpu

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds


@dataclass(frozen=True)
class Latency:
    samples: list[float]
    cpu: Cpu

    @property
    def calls(self) -> int:
        return len(self.samples)

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)


async def throughput(call: Call, *, concurrency: int, seconds: float, meter: CpuMeter) -> Throughput:
    """``concurrency`` callers, each calling back to back until ``seconds`` have passed."""
    start = time.perf_counter()
    stop_at = start + seconds

    async def caller() -> int:
        done = 0
        while time.perf_counter() < stop_at:
            await call()
            done += 1
        return done

    with meter:
        counts = await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return Throughput(sum(counts), elapsed, meter.result)


async def latency(call: Call, *, seconds: float, min_calls: int, meter: CpuMeter) -> Latency:
    """Sequential calls for ``seconds`` (and at least ``min_calls``), each one timed."""
    samples: list[float] = []
    stop_at = time.perf_counter() + seconds
    with meter:
        while time.perf_counter() < stop_at or len(samples) < min_calls:
            t0 = time.perf_counter()
            await call()
            samples.append(time.perf_counter() - t0)
    return Latency(samples, meter.result)
