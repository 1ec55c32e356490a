"""Fixtures for the agenda adapter tests: a real Radicale CalDAV server for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.radicale_server import RadicaleServer


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    """One Radicale process on a free local port; tests make their own calendars in it."""
    server = RadicaleServer().start()
    try:
        yield server
    finally:
        server.close()
