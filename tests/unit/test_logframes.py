"""Docker log stream decoding: frames, TTY streams, timestamps, split lines."""

from __future__ import annotations

import struct

from zanepool_server.drivers.loglines import timestamp_ns
from zanepool_server.drivers.swarm.logframes import LogDecoder
from zanepool_server.model import LogStream


def frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(payload)) + payload


def test_multiplexed_frames_split_anywhere() -> None:
    data = (
        frame(1, b"2024-05-01T12:00:00.000000001Z out one\n2024-05-01T12:00:00.000000001Z out tw")
        + frame(2, b"2024-05-01T12:00:01.5Z err \xff\n")
        + frame(1, b"o\n")
    )
    decoder = LogDecoder("c1", tty=False, node_id="n1")
    lines = []
    for i in range(0, len(data), 5):  # byte by byte would do too: frames are reassembled
        lines += decoder.feed(data[i : i + 5])
    lines += decoder.flush()
    assert [(line.stream, line.text) for line in lines] == [
        (LogStream.STDOUT, "out one"),
        (LogStream.STDERR, "err \ufffd"),
        (LogStream.STDOUT, "out two"),
    ]
    first, _, last = lines
    assert first.ts_ns == timestamp_ns("2024-05-01T12:00:00.000000001Z") and first.index == 0
    assert last.ts_ns == first.ts_ns and last.index == 1, "same timestamp: the next index"
    assert all(line.source == "c1" and line.node_id == "n1" for line in lines)


def test_tty_stream_is_raw() -> None:
    decoder = LogDecoder("c2", tty=True)
    lines = decoder.feed(b"2024-05-01T12:00:00.1Z hello\r\n2024-05-01T12:00:00.2Z no newline")
    lines += decoder.flush()
    assert [(line.stream, line.text) for line in lines] == [
        (LogStream.TTY, "hello"),
        (LogStream.TTY, "no newline"),
    ]
    assert lines[1].ts_ns - lines[0].ts_ns == 100_000_000


def test_the_usual_frames_and_the_others_agree() -> None:
    """The short way (one whole line a frame, in the last stamp's second) and the general way
    give the same lines, ranks included, whatever falls where."""
    stamps = [
        b"2024-05-01T12:00:00.000000001Z",
        b"2024-05-01T12:00:00.000000001Z",
        b"2024-05-01T12:00:01.000000000Z",
        b"2024-05-01T12:00:01.5Z",
        b"2024-05-01T12:00:01.000000000Z",
    ]
    payloads = [s + b" line " + str(n).encode() + b"\r\n" for n, s in enumerate(stamps)]
    payloads.append(b"no stamp\n")
    payloads.append(b"2024-05-01T12:00:02.000000000Z two\n2024-05-01T12:00:02.000000000Z lines\n")
    data = b"".join(frame(1 + n % 2, p) for n, p in enumerate(payloads))
    whole = LogDecoder("c", tty=False).feed(data)
    tiny = LogDecoder("c", tty=False)
    pieces = [line for i in range(len(data)) for line in tiny.feed(data[i : i + 1])]
    assert whole == pieces
    assert [(line.text, line.index) for line in whole] == [
        ("line 0", 0),
        ("line 1", 1),
        ("line 2", 0),
        ("line 3", 0),
        ("line 4", 1),
        ("no stamp", 2),
        ("two", 0),
        ("lines", 1),
    ]
    assert [line.stream for line in whole[:2]] == [LogStream.STDOUT, LogStream.STDERR]
