"""Decoding the Engine API's log streams into lines (pure, no I/O).

Without a TTY the engine multiplexes stdout and stderr into frames: an 8-byte header
(stream type, three zero bytes, a big-endian 32-bit length) then the payload. With a TTY
the stream is raw. We always ask for timestamps, so each line starts with an RFC 3339
timestamp with nanoseconds and a space. Frames and lines do not line up: a line may span
frames, a frame may hold several lines, so bytes are gathered per stream until a newline.
"""

from __future__ import annotations

import calendar
import struct
import time
from datetime import UTC, datetime

from zanepool_server.model import LogLine, LogStream

_HEADER = struct.Struct(">BxxxL")
_STREAMS = {1: LogStream.STDOUT, 2: LogStream.STDERR}
RANKS_KEPT = 64
#: A line longer than this is cut (the engine itself splits at 16 KiB).
MAX_LINE = 64 * 1024


def timestamp_ns(text: str) -> int:
    """``2024-05-01T12:00:00.123456789Z`` -> nanoseconds since the epoch."""
    head, _, frac = text.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp()
    return int(seconds) * 1_000_000_000 + int((frac + "000000000")[:9])


class LogDecoder:
    def __init__(self, source: str, *, tty: bool, node_id: str = "") -> None:
        self._source = source
        self._tty = tty
        self._node_id = node_id
        self._frames = b""
        self._partial: dict[LogStream, bytes] = {}
        self._last_ts = 0
        # The last whole second seen ("YYYY-MM-DDTHH:MM:SS") and its nanoseconds: lines of one
        # second share it, so most lines need no date parsing.
        self._second = ""
        self._second_ns = 0
        # Lines of one timestamp get ranks 0, 1, ...; stdout and stderr interleave slightly
        # out of time order, so ranks are kept for the last few timestamps, not just one.
        self._ranks: dict[int, int] = {}

    def feed(self, chunk: bytes) -> list[LogLine]:
        if self._tty:
            return self._lines(LogStream.TTY, chunk)
        frames = self._frames + chunk if self._frames else chunk
        out: list[LogLine] = []
        # Walk the frames by offset (cutting the buffer once, not once per frame).
        pos, end, head = 0, len(frames), _HEADER.size
        while end - pos >= head:
            kind, size = _HEADER.unpack_from(frames, pos)
            stop = pos + head + size
            if stop > end:
                break
            out += self._lines(_STREAMS.get(kind, LogStream.STDOUT), frames[pos + head : stop])
            pos = stop
        self._frames = frames[pos:]
        return out

    def flush(self) -> list[LogLine]:
        """The last line of each stream, when the log ended without a newline."""
        out: list[LogLine] = []
        for stream, rest in list(self._partial.items()):
            if rest:
                out += self._line(stream, rest)
        self._partial.clear()
        return out

    def _lines(self, stream: LogStream, data: bytes) -> list[LogLine]:
        partial = self._partial.get(stream)
        buffered = partial + data if partial else data
        *complete, rest = buffered.split(b"\n")
        if len(rest) > MAX_LINE:
            complete.append(rest)
            rest = b""
        self._partial[stream] = rest
        out: list[LogLine] = []
        for raw in complete:
            out += self._line(stream, raw)
        return out

    def _line(self, stream: LogStream, raw: bytes) -> list[LogLine]:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        stamp, sep, body = text.partition(" ")
        try:
            ts = self._stamp(stamp) if sep or stamp.endswith("Z") else None
        except ValueError:
            ts = None
        if ts is None:  # not a timestamped line: keep its text, on the last known time
            ts, body = self._last_ts, text
        self._last_ts = ts
        index = self._ranks.get(ts, -1) + 1
        self._ranks[ts] = index
        if len(self._ranks) > RANKS_KEPT:
            del self._ranks[next(iter(self._ranks))]
        return [LogLine(self._source, ts, index, body, stream, self._node_id)]

    def _stamp(self, stamp: str) -> int:
        """:func:`timestamp_ns`, with the engine's own form (nine digits, UTC) read fast."""
        if len(stamp) != 30 or stamp[19] != "." or stamp[29] != "Z" or not stamp[20:29].isdigit():
            return timestamp_ns(stamp)
        second = stamp[:19]
        if second != self._second:
            seconds = calendar.timegm(time.strptime(second, "%Y-%m-%dT%H:%M:%S"))
            self._second, self._second_ns = second, seconds * 1_000_000_000
        return self._second_ns + int(stamp[20:29])
