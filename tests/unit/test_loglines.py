"""Log line timestamps: the engine's usual form read from bytes, the rest the slow way."""

from __future__ import annotations

import calendar
import time

import pytest

from zanepool_server.drivers.loglines import STAMP_LEN, StampReader, timestamp_ns

SECOND = calendar.timegm(time.strptime("2024-05-01T12:00:00", "%Y-%m-%dT%H:%M:%S")) * 1_000_000_000


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2024-05-01T12:00:00.000000001Z", SECOND + 1),
        ("2024-05-01T12:00:00.5Z", SECOND + 500_000_000),
        ("2024-05-01T12:00:00Z", SECOND),
        ("2024-05-01T14:00:00.25+02:00", SECOND + 250_000_000),
        ("2024-05-01T12:00:00.1234567891Z", SECOND + 123_456_789),
    ],
)
def test_rfc3339_stamps(text: str, ns: int) -> None:
    assert timestamp_ns(text) == ns
    assert StampReader().split(text.encode() + b" the line") == (ns, b"the line")


@pytest.mark.parametrize(
    "raw", [b"", b"no stamp here", b"2024-13-01T12:00:00.000000001Z x", b"2024-05-01 12:00"]
)
def test_what_is_not_a_stamp_is_left_alone(raw: bytes) -> None:
    assert StampReader().split(raw) is None


def test_the_second_is_remembered_for_readers_that_check_it_themselves() -> None:
    reader = StampReader()
    line = b"2024-05-01T12:00:00.000000007Z hello"
    assert len(b"2024-05-01T12:00:00.000000007Z ") == STAMP_LEN
    assert not line.startswith(reader.second), "no second yet: it matches no stamp"
    assert reader.split(line) == (SECOND + 7, b"hello")
    assert reader.second == b"2024-05-01T12:00:00" and reader.second_ns == SECOND
    assert reader.split(b"2024-05-01T12:00:00.00000004xZ bad") is None
