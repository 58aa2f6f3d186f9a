"""Stream cursors: where a subscriber is in each of its sources, as an opaque token.

A position is (nanosecond timestamp, index among lines of the same timestamp) within one
source. A cursor holds the last position delivered for each source plus the time it was
made, so a new stream can continue after it: each known source from just after its
position, any other source from the cursor's time. Tokens are base64url JSON; garbage
is refused with INVALID_ARGUMENT.
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

    def advance(self, source: str, position: Position, now_ns: int) -> None:
        self.positions[source] = position
        self.made_ns = max(self.made_ns, now_ns)

    def after(self, source: str) -> Position | None:
        return self.positions.get(source)

    def encode(self, scope: str) -> str:
        doc = {"s": scope, "t": self.made_ns, "p": {k: list(v) for k, v in self.positions.items()}}
        raw = json.dumps(doc, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

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
