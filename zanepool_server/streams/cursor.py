"""Stream cursors: where a subscriber is in each of its sources, as an opaque token.

A position is (nanosecond timestamp, index among lines of the same timestamp) within one
source. A cursor holds the last (the furthest) position delivered for each source plus the
time it was made, so a new stream can continue after it: each known source from just
after its position, any other source from the cursor's time. Tokens are base64url JSON;
garbage is refused with INVALID_ARGUMENT.

A stream sends a token with every message, so encoding is incremental: each source's
part of the JSON is kept as text and redone only when that source has advanced since the
last encoding (advancing is a dict update; a batch of lines costs one encoding).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field

from zanepool_server.errors import InvalidArgument

Position = tuple[int, int]


@dataclass
class Cursor:
    made_ns: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    # The JSON text of each source's position, and of the scope, as encode writes them.
    _parts: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _heads: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    # Sources whose position moved since their part was written (a dict: new sources keep
    # the order of ``positions`` in the text).
    _moved: dict[str, None] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for source, position in self.positions.items():
            self._parts[source] = _part(source, position)

    def advance(self, source: str, position: Position, now_ns: int) -> None:
        """``source`` was delivered up to ``position`` (a position behind the one held is
        ignored: lines of two output streams may arrive slightly out of order)."""
        held = self.positions.get(source)
        if held is None or position > held:
            self.positions[source] = position
            self._moved[source] = None
        if now_ns > self.made_ns:
            self.made_ns = now_ns

    def baseline(self, source: str, position: Position) -> None:
        """Where ``source`` starts, before anything of it is delivered: a stream resumed from
        this cursor reads it from there (not from the cursor's time)."""
        if source not in self.positions:
            self.positions[source] = position
            self._moved[source] = None

    def after(self, source: str) -> Position | None:
        return self.positions.get(source)

    def encode(self, scope: str) -> str:
        # The same text as json.dumps({"s": scope, "t": made_ns, "p": {...}}, separators=(",", ":")).
        if self._moved:
            for source in self._moved:
                self._parts[source] = _part(source, self.positions[source])
            self._moved.clear()
        head = self._heads.get(scope)
        if head is None:
            head = self._heads[scope] = '{"s":' + json.dumps(scope) + ',"t":'
        raw = f'{head}{self.made_ns},"p":{{{",".join(self._parts.values())}}}}}'
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, scope: str) -> Cursor:
        """``scope`` ties a token to the stream it came from (its parent and filter)."""
        if not token:
            return cls()
        try:
            doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            positions = {str(k): (int(v[0]), int(v[1])) for k, v in doc["p"].items()}
            made, made_for = int(doc["t"]), str(doc["s"])
        except (binascii.Error, ValueError, KeyError, TypeError, IndexError, AttributeError):
            raise InvalidArgument.field(
                "resume_token", "is not a cursor this server made", reason="INVALID_RESUME_TOKEN"
            ) from None
        if made_for != scope:
            raise InvalidArgument.field(
                "resume_token", "was made for another parent or filter", reason="RESUME_TOKEN_MISMATCH"
            )
        return cls(made, positions)


def _part(source: str, position: Position) -> str:
    return f"{json.dumps(source)}:[{position[0]},{position[1]}]"
