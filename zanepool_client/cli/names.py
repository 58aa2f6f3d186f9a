"""Resource names from what a person types: ``prod`` is ``pools/prod``, ``prod/abc`` a child."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def pool(value: str) -> str:
    """``prod`` or ``pools/prod``; ``-`` is every pool (``pools/-``)."""
    if value.startswith("pools/"):
        return value
    if "/" in value:
        raise argparse.ArgumentTypeError(f"{value!r} is not a pool (give prod or pools/prod)")
    return f"pools/{value}"


def child(collection: str) -> Callable[[str], str]:
    """``pools/p/<collection>/id``, or the short ``p/id``."""

    def parse(value: str) -> str:
        if value.startswith("pools/"):
            return value
        parts = value.split("/")
        if len(parts) != 2 or not all(parts):
            raise argparse.ArgumentTypeError(
                f"{value!r} is not a {collection[:-1]} name (give pools/POOL/{collection}/ID or POOL/ID)"
            )
        return f"pools/{parts[0]}/{collection}/{parts[1]}"

    parse.__name__ = collection[:-1] + " name"
    return parse


def stream_parent(value: str) -> str:
    """A pool (``p``, ``pools/p``) or one container (``p/c``, ``pools/p/containers/c``)."""
    if value.startswith("pools/") or "/" not in value:
        return pool(value)
    return child("containers")(value)


def pairs(values: list[str] | None, what: str = "KEY=VALUE") -> dict[str, str]:
    """``k=v`` arguments as a dict."""
    out: dict[str, str] = {}
    for value in values or ():
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
        out[key] = val
    return out
