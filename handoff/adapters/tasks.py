"""Background asyncio tasks: the pass-and-sleep loop every periodic worker runs, and the cancel
that stops them. Shared by services (workers, monitors, schedulers), adapters and the api's
WebSocket handlers, so it lives here rather than in services."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NoReturn


async def guarded(step: Callable[[], Awaitable[object]], on_error: Callable[[Exception], None]) -> None:
    """Run one pass of a worker; an error is handed to `on_error` (called inside the `except`, so
    `log.exception` still sees it) instead of ending the worker. Cancellation goes through."""
    try:
        await step()
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the next pass retries; `on_error` logs without personal data
        on_error(exc)


async def run_every(interval: float, step: Callable[[], Awaitable[object]],
                    on_error: Callable[[Exception], None]) -> NoReturn:
    """Run `step` (guarded) then sleep `interval` seconds, until cancelled."""
    while True:
        await guarded(step, on_error)
        await asyncio.sleep(interval)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any] | None]) -> None:
    """Cancel every task, then wait for each to end (its cancellation or last error is swallowed)."""
    live = [task for task in tasks if task is not None]
    for task in live:
        task.cancel()
    for task in live:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
