"""Opaque page tokens: the keyset position after the last item, bound to its query.

A token is base64url JSON ``{"q": fingerprint, "a": [values]}``; the fingerprint ties it
to the filter and order it was made for, so a token reused with another query, or
garbage, is refused with INVALID_ARGUMENT rather than silently giving a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from zanepool_server.errors import InvalidArgument


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _encode_value(v: Any) -> Any:
    return {"t": v.isoformat()} if isinstance(v, datetime) else v


def _decode_value(v: Any) -> Any:
    return datetime.fromisoformat(v["t"]) if isinstance(v, dict) and set(v) == {"t"} else v


def _plain(value: Any) -> bool:
    """What an order key can hold: text, a time, or a number the store can compare (int64)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float | datetime):
        return True
    return isinstance(value, int) and -(2**63) <= value < 2**63


def encode(query: str, after: Sequence[Any]) -> str:
    raw = json.dumps({"q": query, "a": [_encode_value(v) for v in after]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str, query: str, width: int) -> list[Any] | None:
    """The position in ``token``; None for an empty token (the first page)."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = json.loads(raw)
        after = [_decode_value(v) for v in doc["a"]]
        q = doc["q"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidArgument.field(
            "page_token", "is not a page token this server made", reason="INVALID_PAGE_TOKEN"
        ) from None
    if not all(_plain(v) for v in after):
        raise InvalidArgument.field(
            "page_token", "is not a page token this server made", reason="INVALID_PAGE_TOKEN"
        )
    if q != query or len(after) != width:
        raise InvalidArgument.field(
            "page_token", "was made for another filter or order_by", reason="PAGE_TOKEN_MISMATCH"
        )
    return after
