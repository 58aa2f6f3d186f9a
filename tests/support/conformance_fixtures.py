"""The conformance fixtures (``subject``: one pool of each kind, ``registered``, ``both``), for test
modules that name this module in ``pytest_plugins``; the adapters are in tests/support/conformance.py."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.support import conformance
from tests.support.conformance import KINDS, Subject
from tests.support.servers import RunningServer


@pytest.fixture
async def stack() -> AsyncIterator[contextlib.AsyncExitStack]:
    """What the test made, removed when it ends (before the server stops)."""
    async with contextlib.AsyncExitStack() as made:
        yield made


@pytest.fixture(params=KINDS)
def subject(
    request: pytest.FixtureRequest, server: RunningServer, stack: contextlib.AsyncExitStack
) -> Subject:
    """The pool under test, not registered yet: one of each kind."""
    return conformance.make(request.param, request.getfixturevalue, server, stack)


@pytest.fixture
async def registered(subject: Subject) -> Subject:
    await subject.register()
    return subject


@pytest.fixture
def both(
    request: pytest.FixtureRequest, server: RunningServer, stack: contextlib.AsyncExitStack
) -> tuple[Subject, Subject]:
    """A Swarm and a Kubernetes subject on the same server, for what spans kinds."""
    swarm, kube = (conformance.make(kind, request.getfixturevalue, server, stack) for kind in KINDS)
    return swarm, kube
