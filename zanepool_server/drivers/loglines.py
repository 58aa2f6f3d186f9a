"""What the log lines of every driver have in common (pure, no I/O): cutting a stream of
bytes into lines, their text, and the RFC 3339 timestamp that starts every line an engine
or a kubelet sends (``2024-05-01T12:00:00.123456789Z text``).

Both drivers ask for timestamps, so every line of a log goes through here: the usual
form (nine fraction digits, UTC) is read straight from the bytes, and the date is parsed
once per second of log, not once per line. Anything else that is a valid RFC 3339 stamp
(fewer digits, an offset) takes the slow way; what is not a stamp is left to the caller.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime

#: b"2024-05-01T12:00:00.123456789Z " is 31 bytes: its '.', 'Z' and ' ' sit here.
DOT, ZULU, SPACE = 19, 29, 30
DOT_B, ZULU_B, SPACE_B = ord("."), ord("Z"), ord(" ")
#: The usual stamp and its space.
STAMP_LEN = 31


#: A line longer than this is cut (an engine itself splits its lines at 16 KiB).
MAX_LINE = 64 * 1024


def split_lines(pending: bytes, data: bytes) -> tuple[list[bytes], bytes]:
    """The whole lines of ``pending + data``, and the start of a line not ended yet (a line
    longer than MAX_LINE is cut and counts as whole)."""
    *complete, rest = (pending + data).split(b"\n") if pending else data.split(b"\n")
    if len(rest) > MAX_LINE:
        complete.append(rest)
        rest = b""
    return complete, rest


def line_text(body: bytes) -> str:
    """A line's text: invalid UTF-8 replaced, a trailing carriage return dropped."""
    text = body.decode("utf-8", "replace")
    return text.rstrip("\r") if text.endswith("\r") else text


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def timestamp_ns(text: str) -> int:
    """An RFC 3339 timestamp -> nanoseconds since the epoch (ValueError if it is not one)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    second, fraction, zone = match.groups()
    when = datetime.fromisoformat(second + ("+00:00" if zone == "Z" else zone))
    return int(when.timestamp()) * 1_000_000_000 + int(((fraction or "") + "000000000")[:9])


class StampReader:
    """Splits timestamped lines; remembers the last second it parsed."""

    def __init__(self) -> None:
        self._second = b"\xff"  # no second yet: matches no stamp
        self._second_ns = 0

    @property
    def second(self) -> bytes:
        """The second of the last stamp read (``b"2024-05-01T12:00:00"``; no stamp matches it
        before one is read)."""
        return self._second

    @property
    def second_ns(self) -> int:
        return self._second_ns

    def split(self, raw: bytes) -> tuple[int, bytes] | None:
        """``raw`` -> (nanoseconds, the rest of the line after the stamp and its space), or
        None when it does not start with a stamp."""
        if len(raw) > SPACE and raw[SPACE] == SPACE_B and raw[ZULU] == ZULU_B and raw[DOT] == DOT_B:
            second, fraction = raw[:DOT], raw[DOT + 1 : ZULU]
            if second == self._second:
                if fraction.isdigit():
                    return self._second_ns + int(fraction), raw[SPACE + 1 :]
            elif fraction.isdigit():
                try:
                    parsed = time.strptime(second.decode("ascii"), "%Y-%m-%dT%H:%M:%S")
                except (ValueError, UnicodeDecodeError):
                    return None
                self._second, self._second_ns = second, calendar.timegm(parsed) * 1_000_000_000
                return self._second_ns + int(fraction), raw[SPACE + 1 :]
        stamp, space, rest = raw.partition(b" ")
        if not stamp[:1].isdigit():
            return None
        try:
            return timestamp_ns(stamp.decode("ascii")), rest if space else b""
        except (ValueError, UnicodeDecodeError):
            return None
