"""Kubernetes pod log lines (``RFC3339Nano text``) into LogLines, whatever the chunks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zanepool_server.drivers.kubernetes.logs import _Lines
from zanepool_server.drivers.loglines import MAX_LINE
from zanepool_server.model import LogStream

BASE = int(datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()) * 1_000_000_000


def test_lines_split_anywhere_with_ranks_for_equal_times() -> None:
    data = (
        b"2024-05-01T12:00:00.000000001Z one\n"
        b"2024-05-01T12:00:00.000000001Z two\n"
        b"2024-05-01T12:00:01.5Z three \xff\r\n"
        b"2024-05-01T12:00:02Z four"
    )
    parser = _Lines("ns_pod_c", LogStream.STDOUT, "node-1")
    got = []
    for i in range(0, len(data), 7):
        got += parser.feed(data[i : i + 7], 0)
    got += parser.flush(0)
    assert [(x.ts_ns - BASE, x.index, x.text) for x in got] == [
        (1, 0, "one"),
        (1, 1, "two"),
        (1_500_000_000, 0, "three \ufffd"),
        (2_000_000_000, 0, "four"),
    ]
    assert all(x.source == "ns_pod_c" and x.node_id == "node-1" and x.stream is LogStream.STDOUT for x in got)
    assert parser.flush(0) == []


@pytest.mark.parametrize(
    "line",
    [
        b"unable to retrieve container logs for docker://abc",
        b"2024-05-01 12:00:00Z not RFC 3339",
        b"2024-13-01T12:00:00.1Z no such month",
        b"2024-05-01T12:00:00.1x5Z not a fraction",
        b"",
    ],
)
def test_a_line_without_a_timestamp_keeps_its_text_on_the_last_time(line: bytes) -> None:
    parser = _Lines("c", LogStream.TTY, "")
    first, odd = parser.feed(b"2024-05-01T12:00:00.25Z before\n" + line + b"\n", 0)
    assert first.ts_ns == BASE + 250_000_000
    assert (odd.ts_ns, odd.index, odd.text, odd.stream) == (first.ts_ns, 1, line.decode(), LogStream.TTY)


def test_an_endless_line_is_cut() -> None:
    parser = _Lines("c", LogStream.STDOUT, "")
    [cut] = parser.feed(b"x" * (MAX_LINE + 1), 0)
    assert len(cut.text) == MAX_LINE + 1 and parser.flush(0) == []
