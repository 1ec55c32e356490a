"""Shared loop for lease-based workers: claim a conversation, drain it, repeat.

Wake-ups carry the conversation id that has new work ("hints"): an idle loop first tries to
lease exactly that conversation by primary key, which is far cheaper than searching, and
only one loop is woken per hint so a burst does not stampede the database. Loops also poll
on a timer, so a lost notification (or a lease left by a crashed process) only delays work
by one poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from handoff.adapters.bus import Bus, follow
from handoff.adapters.tasks import cancel_and_wait
from handoff.services.unit_of_work import WORK_TOPIC

log = logging.getLogger(__name__)

Claim = Callable[[str, str | None], Awaitable[str | None]]


class LeaseWorkerPool:
    """Runs `concurrency` loops of claim -> drain for one kind of work."""

    def __init__(
        self,
        name: str,
        claim: Claim,
        drain: Callable[[str, str], Awaitable[None]],
        *,
        bus: Bus,
        wake_kind: str,
        concurrency: int,
        poll_interval: float,
    ) -> None:
        self.name = name
        self.owner = f"{name}-{uuid.uuid4().hex[:12]}"
        self._claim = claim
        self._drain = drain
        self._bus = bus
        self._wake_kind = wake_kind
        self._concurrency = concurrency
        self._poll = poll_interval
        self._hints: deque[str] = deque(maxlen=10_000)
        # One event per loop, cleared by that loop *before* it looks for work, so a wake-up
        # that lands while it is querying is never lost.
        self._wakes: list[asyncio.Event] = []
        self._idle: deque[int] = deque()
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False

    def hint(self, conversation_id: str | None) -> None:
        """New work (for `conversation_id` if known): wake one idle loop."""
        if conversation_id:
            self._hints.append(conversation_id)
        while self._idle:
            index = self._idle.popleft()
            if not self._wakes[index].is_set():
                self._wakes[index].set()
                return

    async def start(self) -> None:
        """Start the loops and the wake-up listener."""
        self._wakes = [asyncio.Event() for _ in range(self._concurrency)]
        self._tasks = [asyncio.create_task(self._loop(i)) for i in range(self._concurrency)]
        self._tasks.append(asyncio.create_task(self._listen()))

    async def stop(self) -> None:
        """Stop claiming; in-flight drains are cancelled (their leases expire and resume elsewhere)."""
        self._stopping = True
        await cancel_and_wait(self._tasks)

    async def _listen(self) -> None:
        def on_event(event: dict[str, Any]) -> None:
            if event.get("kind") == self._wake_kind:
                self.hint(event.get("conversation_id"))

        # Polling keeps the work moving while the listener is down; `stop` cancels it.
        await follow(self._bus, WORK_TOPIC, on_event, lambda exc: log.warning(
            "%s wake listener failed (%s); retrying", self.name, type(exc).__name__))

    async def _loop(self, index: int) -> None:
        owner = f"{self.owner}-{index}"
        wake = self._wakes[index]
        while not self._stopping:
            wake.clear()
            hinted = self._hints.popleft() if self._hints else None
            try:
                conv_id = await self._claim(owner, hinted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - database hiccup: back off and retry
                log.warning("%s claim failed: %s", self.name, type(exc).__name__)
                await asyncio.sleep(self._poll)
                continue
            if conv_id is None:
                if self._hints:
                    continue  # more hints queued: try them before sleeping
                self._idle.append(index)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self._poll)
                with contextlib.suppress(ValueError):
                    self._idle.remove(index)
                continue
            if self._hints:
                self.hint(None)  # more queued work: let an idle sibling take it
            try:
                await self._drain(conv_id, owner)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The lease expires and the work is retried; never log message content.
                log.exception("%s failed on a conversation; it will be retried", self.name)
                await asyncio.sleep(self._poll)
