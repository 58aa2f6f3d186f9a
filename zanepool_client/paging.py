"""Paging: the request for the page after a response."""

from __future__ import annotations

from typing import Any, TypeVar

from google.protobuf.message import Message

Req = TypeVar("Req", bound=Message)


def next_request(request: Req, response: Any) -> Req | None:
    """The same request with the response's next_page_token; None after the last page."""
    token: str = response.next_page_token
    if not token:
        return None
    if token == getattr(request, "page_token"):  # noqa: B009 - every paged request has it
        raise RuntimeError(f"the server answered page token {token!r} with itself")
    following = type(request)()
    following.CopyFrom(request)
    following.page_token = token  # type: ignore[attr-defined]
    return following
