"""Operation groups a driver does not have (yet): every call is UNIMPLEMENTED with a reason."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, NoReturn

from zanepool_server.errors import Unimplemented


class Unbuilt:
    """Stands in for an operation group (NodeOps, ContainerOps, ...) of a driver.

    ``reason`` is NOT_IMPLEMENTED_YET for work still to come, or a driver-specific reason
    (e.g. NO_NETWORK_CONCEPT) for what the cluster kind has no honest mapping for.
    """

    def __init__(
        self, driver: str, group: str, *, reason: str = "NOT_IMPLEMENTED_YET", why: str = ""
    ) -> None:
        self._driver, self._group, self._reason = driver, group, reason
        self._why = why or "not implemented yet"

    def __getattr__(self, operation: str) -> Any:
        error = Unimplemented(
            f"{self._driver} {self._group}.{operation}: {self._why}",
            reason=self._reason,
            metadata={"driver": self._driver, "operation": f"{self._group}.{operation}"},
        )
        return lambda *args, **kwargs: _Refusal(error)


class _Refusal:
    """What an unbuilt operation returns: awaiting it, or iterating it (for operations that
    stream), raises the refusal."""

    def __init__(self, error: Unimplemented) -> None:
        self._error = error

    def __await__(self) -> Generator[Any, None, NoReturn]:
        raise self._error
        yield  # pragma: no cover - makes this a generator

    def __aiter__(self) -> _Refusal:
        return self

    async def __anext__(self) -> NoReturn:
        raise self._error
