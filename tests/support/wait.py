"""Waiting in tests: poll a condition until it holds, never sleep a fixed time and hope.

`eventually` polls a predicate (plain or async) until it returns something truthy and returns
that value; on timeout it fails with an `AssertionError` naming `what` and the last value seen,
so a test that waits still fails, and says what it was waiting for. `eventually_sync` is the
same for synchronous code (server start-up in fixtures, helpers run in threads).

`settled` waits for something that arrives in several parts with no end marker (a bot's turn
of several messages): until the observed sequence is non-empty and has not grown for `quiet`
seconds.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

TIMEOUT = 60.0  # generous: the machine running the tests is shared and slow
INTERVAL = 0.05


async def eventually(predicate: Callable[[], Any], timeout: float = TIMEOUT, interval: float = INTERVAL,
                     what: str = "condition") -> Any:
    """Poll `predicate` (sync, or returning an awaitable) until its value is truthy; return it."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        last = value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
        await asyncio.sleep(interval)  # the poll interval, not a guess at how long something takes


def eventually_sync(predicate: Callable[[], T], timeout: float = TIMEOUT, interval: float = INTERVAL,
                    what: str = "condition", exceptions: tuple[type[BaseException], ...] = ()) -> T:
    """Poll `predicate` until its value is truthy; return it. `exceptions` raised by the predicate
    count as "not yet" (a server that is still starting refuses connections)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = predicate()
        except exceptions as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
        time.sleep(interval)  # the poll interval, not a guess at how long something takes


async def settled(probe: Callable[[], Sequence[T] | Awaitable[Sequence[T]]], quiet: float,
                  timeout: float = TIMEOUT, interval: float = 0.2, what: str = "the answer") -> list[T]:
    """Poll `probe` until what it returns is non-empty and has not changed for `quiet` seconds;
    return it."""
    seen: list[T] = []
    since = time.monotonic()

    async def still() -> bool:
        nonlocal seen, since
        got = probe()
        current = list(await got if inspect.isawaitable(got) else got)
        if current != seen:
            seen, since = current, time.monotonic()
            return False
        return bool(seen) and time.monotonic() - since >= quiet

    await eventually(still, timeout=timeout, interval=interval, what=what)
    return seen
