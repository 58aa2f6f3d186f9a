"""Results: per-round values, their medians and paired ratios; the table and the JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import Cpu


@dataclass(frozen=True)
class Goal:
    op: str  # ">=" or "<="
    value: float

    def met(self, ratio: float) -> bool:
        return ratio >= self.value if self.op == ">=" else ratio <= self.value

    def __str__(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass
class Side:
    """One side of a comparison: one value per round, and what each round cost."""

    values: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    cpu: list[Cpu] = field(default_factory=list)

    def add(self, value: float, calls: int, cpu: Cpu) -> None:
        self.values.append(value)
        self.calls.append(calls)
        self.cpu.append(cpu)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def cpu_us_per_call(self) -> dict[str, float | None]:
        total = sum(self.calls)

        def per_call(parts: list[float | None]) -> float | None:
            if not total or any(p is None for p in parts):
                return None
            return sum(p for p in parts if p is not None) / total * 1e6

        return {
            "server": per_call([c.server for c in self.cpu]),
            "store": per_call([c.store for c in self.cpu]),
            "client": per_call([c.client for c in self.cpu]),
        }


@dataclass
class Comparison:
    key: str
    #: What is measured ("GetPool BASIC"); comparisons of one group share their rounds.
    group: str
    #: Which number of it ("throughput", "p50", "mean").
    measure: str
    unit: str
    baseline_kind: str
    #: None: reported, not judged (a ceiling, say).
    goal: Goal | None
    baseline: Side = field(default_factory=Side)
    subject: Side = field(default_factory=Side)

    @property
    def ratios(self) -> list[float]:
        """subject / baseline of each round with the baseline run just before it."""
        return [s / b for s, b in zip(self.subject.values, self.baseline.values, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "measure": self.measure,
            "unit": self.unit,
            "baseline_kind": self.baseline_kind,
            "baseline": {
                "median": self.baseline.median,
                "rounds": self.baseline.values,
                "calls": sum(self.baseline.calls),
                "cpu_us_per_call": self.baseline.cpu_us_per_call(),
            },
            "zanepool": {
                "median": self.subject.median,
                "rounds": self.subject.values,
                "calls": sum(self.subject.calls),
                "cpu_us_per_call": self.subject.cpu_us_per_call(),
            },
            "ratio": self.ratio,
            "ratio_rounds": self.ratios,
            "goal": None
            if self.goal is None
            else {"op": self.goal.op, "value": self.goal.value, "met": self.goal.met(self.ratio)},
        }


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _cpu(value: float | None) -> str:
    """Microseconds: a tenth where a call costs little (a log line), whole ones above."""
    return _num(value, 1 if value is not None and value < 100 else 0)


def _columns(rows: list[list[str]], right_from: int) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [
            c.rjust(w) if i >= right_from else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def table(comparisons: list[Comparison]) -> str:
    """The ratios first, then what each call cost in CPU, per process."""
    rows = [["measure", "unit", "baseline is", "baseline", "zanepool", "ratio", "rounds", "goal", "met"]]
    for c in comparisons:
        digits = 2 if c.unit == "ms" else 0
        rows.append(
            [
                f"{c.group} {c.measure}",
                c.unit,
                c.baseline_kind,
                _num(c.baseline.median, digits),
                _num(c.subject.median, digits),
                f"{c.ratio:.2f}",
                f"{min(c.ratios):.2f}-{max(c.ratios):.2f}",
                "-" if c.goal is None else str(c.goal),
                "-" if c.goal is None else "yes" if c.goal.met(c.ratio) else "NO",
            ]
        )
    cpu_rows = [["CPU µs per call", "side", "server", "store", "client", "calls"]]
    seen: set[str] = set()
    for c in comparisons:
        if c.group in seen:
            continue
        seen.add(c.group)
        for name, side in ((c.baseline_kind, c.baseline), ("zanepool", c.subject)):
            cpu = side.cpu_us_per_call()
            cpu_rows.append(
                [
                    c.group,
                    name,
                    _cpu(cpu["server"]),
                    _cpu(cpu["store"]),
                    _cpu(cpu["client"]),
                    f"{sum(side.calls):,}",
                ]
            )
    return "\n".join([*_columns(rows, 3), "", *_columns(cpu_rows, 2)])


def write_json(path: Path, settings: dict[str, Any], comparisons: list[Comparison], elapsed: float) -> None:
    doc = {
        "settings": settings,
        "results": {c.key: c.to_json() for c in comparisons},
        "elapsed_seconds": round(elapsed, 1),
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
