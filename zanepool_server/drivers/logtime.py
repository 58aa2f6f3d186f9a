"""Reading the RFC 3339 timestamp that starts every log line an engine or a kubelet sends
(pure, no I/O): ``2024-05-01T12:00:00.123456789Z text``.

Both drivers ask for timestamps, so every line of a log goes through here: the usual
form (nine fraction digits, UTC) is read straight from the bytes, and the date is parsed
once per second of log, not once per line. Anything else that is a valid RFC 3339 stamp
(fewer digits, an offset) takes the slow way; what is not a stamp is left to the caller.
"""

from __future__ import annotations

import calendar
import time
from datetime import datetime

#: b"2024-05-01T12:00:00.123456789Z " is 31 bytes: its '.', 'Z' and ' ' sit here.
_DOT, _ZULU, _SPACE = 19, 29, 30
#: The usual stamp and its space.
STAMP_LEN = 31
_DOT_B, _ZULU_B, _SPACE_B = ord("."), ord("Z"), ord(" ")


def timestamp_ns(text: str) -> int:
    """An RFC 3339 timestamp -> nanoseconds since the epoch (ValueError if it is not one)."""
    head, dot, rest = text.partition(".")
    fraction = ""
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, zone = rest[:digits], rest[digits:]
        head += zone
    when = datetime.fromisoformat(head.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"no time zone in {text!r}")
    return int(when.timestamp()) * 1_000_000_000 + int((fraction + "000000000")[:9])


class StampReader:
    """Splits timestamped lines; remembers the last second it parsed."""

    def __init__(self) -> None:
        self._second = b"\xff"  # no second yet: matches no stamp
        self._second_ns = 0

    def same_second(self, data: bytes, at: int) -> int:
        """The nanoseconds of the usual stamp at ``data[at:]`` when it is in the second the
        last stamp read was in (most are), else -1: the fastest check there is, for a line
        known to be longer than a stamp."""
        if (
            data[at + _SPACE] == _SPACE_B
            and data[at + _ZULU] == _ZULU_B
            and data.startswith(self._second, at)
            and data[at + _DOT] == _DOT_B
        ):
            fraction = data[at + _DOT + 1 : at + _ZULU]
            if fraction.isdigit():
                return self._second_ns + int(fraction)
        return -1

    def split(self, raw: bytes) -> tuple[int, bytes] | None:
        """``raw`` -> (nanoseconds, the rest of the line after the stamp and its space), or
        None when it does not start with a stamp."""
        if len(raw) > _SPACE and raw[_SPACE] == _SPACE_B and raw[_ZULU] == _ZULU_B and raw[_DOT] == _DOT_B:
            second, fraction = raw[:_DOT], raw[_DOT + 1 : _ZULU]
            if second == self._second:
                if fraction.isdigit():
                    return self._second_ns + int(fraction), raw[_SPACE + 1 :]
            elif fraction.isdigit():
                try:
                    parsed = time.strptime(second.decode("ascii"), "%Y-%m-%dT%H:%M:%S")
                except (ValueError, UnicodeDecodeError):
                    return None
                self._second, self._second_ns = second, calendar.timegm(parsed) * 1_000_000_000
                return self._second_ns + int(fraction), raw[_SPACE + 1 :]
        stamp, space, rest = raw.partition(b" ")
        if not stamp[:1].isdigit():
            return None
        try:
            return timestamp_ns(stamp.decode("ascii")), rest if space else b""
        except (ValueError, UnicodeDecodeError):
            return None
