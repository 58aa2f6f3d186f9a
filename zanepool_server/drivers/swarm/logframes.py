"""Decoding the Engine API's log streams into lines (pure, no I/O).

Without a TTY the engine multiplexes stdout and stderr into frames: an 8-byte header
(stream type, three zero bytes, a big-endian 32-bit length) then the payload. With a TTY
the stream is raw. We always ask for timestamps, so each line starts with an RFC 3339
timestamp with nanoseconds and a space. Frames and lines do not line up: a line may span
frames, a frame may hold several lines, so bytes are gathered per stream until a newline.

Every line of a log goes through here, so the engine's usual frame (one whole line, nothing
pending on its stream) takes a short way, and the timestamp is read from the bytes
(``drivers.loglines``).
"""

from __future__ import annotations

import struct

from zanepool_server.drivers.loglines import (
    DOT,
    DOT_B,
    SPACE,
    SPACE_B,
    STAMP_LEN,
    ZULU,
    ZULU_B,
    StampReader,
    line_text,
    split_lines,
)
from zanepool_server.model import LogLine, LogStream

_HEADER = struct.Struct(">BxxxL")
_STREAMS = {1: LogStream.STDOUT, 2: LogStream.STDERR}
_NEWLINE = ord("\n")
NL = b"\n"
#: Ranks are kept for at least this many recent timestamps (stdout and stderr interleave a
#: little out of time order), at most twice as many (plus one chunk's worth).
RANKS_KEPT = 64


class LogDecoder:
    def __init__(self, source: str, *, tty: bool, node_id: str = "") -> None:
        self._source = source
        self._tty = tty
        self._node_id = node_id
        self._frames = b""
        # Bytes of a line not yet ended, per stream (only streams that have some).
        self._partial: dict[LogStream, bytes] = {}
        self._stamps = StampReader()
        self._last_ts = 0
        # Lines of one timestamp get ranks 0, 1, ...
        self._ranks: dict[int, int] = {}

    def feed(self, chunk: bytes) -> list[LogLine]:
        if self._tty:
            return self._lines(LogStream.TTY, chunk)
        frames = self._frames + chunk if self._frames else chunk
        out: list[LogLine] = []
        # The loop below runs once per line of every log read: what it needs is in locals.
        append, unpack, find, ranks = out.append, _HEADER.unpack_from, frames.find, self._ranks
        source, node, stdout, stderr = self._source, self._node_id, LogStream.STDOUT, LogStream.STDERR
        stamps = self._stamps
        second, second_ns, last_ts = stamps.second, stamps.second_ns, self._last_ts
        # Walk the frames by offset (cutting the buffer once, not once per frame).
        pos, end = 0, len(frames)
        while end - pos >= 8:
            kind, size = unpack(frames, pos)
            start = pos + 8
            stop = start + size
            if stop > end:
                break
            pos = stop
            stream = stderr if kind == 2 else stdout
            # The usual frame: one whole line, nothing pending, its stamp in the second the
            # last one had (the engine's form: nine digits, UTC, then a space).
            if (
                size > STAMP_LEN
                and frames[stop - 1] == _NEWLINE
                and frames.startswith(second, start)
                and frames[start + ZULU] == ZULU_B
                and frames[start + SPACE] == SPACE_B
                and frames[start + DOT] == DOT_B
                and not self._partial
                and find(NL, start, stop - 1) < 0
            ):
                fraction = frames[start + DOT + 1 : start + ZULU]
                if fraction.isdigit():
                    last_ts = ts = second_ns + int(fraction)
                    text = line_text(frames[start + STAMP_LEN : stop - 1])
                    index = ranks[ts] = ranks.get(ts, -1) + 1
                    append(LogLine(source, ts, index, text, stream, node))
                    continue
            # Anything else, the general way.
            self._last_ts = last_ts
            out += self._lines(stream, frames[start:stop])
            second, second_ns, last_ts = stamps.second, stamps.second_ns, self._last_ts
        self._last_ts = last_ts
        self._frames = frames[pos:]
        if len(ranks) > 2 * RANKS_KEPT:
            self._ranks = dict(list(ranks.items())[-RANKS_KEPT:])
        return out

    def flush(self) -> list[LogLine]:
        """The last line of each stream, when the log ended without a newline."""
        out = [self._line(stream, rest) for stream, rest in self._partial.items()]
        self._partial.clear()
        return out

    def _lines(self, stream: LogStream, data: bytes) -> list[LogLine]:
        complete, rest = split_lines(self._partial.pop(stream, b""), data)
        if rest:
            self._partial[stream] = rest
        return [self._line(stream, raw) for raw in complete]

    def _line(self, stream: LogStream, raw: bytes) -> LogLine:
        split = self._stamps.split(raw)
        if split is None:  # not a timestamped line: keep its text, on the last known time
            ts, body = self._last_ts, raw
        else:
            ts, body = split
        self._last_ts = ts
        text = line_text(body)
        index = self._rank(ts)
        return LogLine(self._source, ts, index, text, stream, self._node_id)

    def _rank(self, ts: int) -> int:
        """Lines of one timestamp get ranks 0, 1, ..."""
        ranks = self._ranks
        index = ranks[ts] = ranks.get(ts, -1) + 1
        return index
