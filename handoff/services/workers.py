"""Shared loop for lease-based workers: claim a conversation, drain it, repeat.

Wake-ups carry the conversation id that has new work ("hints"): an idle loop first tries to
lease exactly that conversation by primary key, which is far cheaper than searching, and
only one loop is woken per hint so a burst does not stampede the database. The pool also polls
on a timer, so a lost notification (or a lease left by a crashed process) only delays work
by about one poll interval.

A loop that found its work by searching (a backlog: after a restart, an outage) searches again
as soon as it is done; a loop woken by a hint goes back to waiting, because in steady state every
new item comes with a hint and the search would find nothing. The pool's tick wakes one idle
loop per poll interval to search (parked retries, expired leases, lost notifications). The one
hint that could fall between two chairs — new work for a conversation while a loop of this
process drains it, so the hinted claim fails on our own lease — is kept and claimed again when
that drain ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from handoff.adapters.bus import Bus, follow
from handoff.adapters.tasks import cancel_and_wait
from handoff.services.unit_of_work import WORK_TOPIC

log = logging.getLogger(__name__)

class Claimed(Protocol):
    """What a claim hands to the drain: the leased conversation (and its first item)."""

    @property
    def conversation_id(self) -> str: ...


W = TypeVar("W", bound=Claimed)


class LeaseWorkerPool(Generic[W]):
    """Runs `concurrency` loops of claim -> drain for one kind of work.

    `claim(owner, hint)` leases a conversation and, in the same transaction, takes its first
    item of work (one transaction fewer per item than leasing and reading apart); None when
    there is nothing to lease. `drain(claimed, owner)` carries on from there.
    """

    def __init__(
        self,
        name: str,
        claim: Callable[[str, str | None], Awaitable[W | None]],
        drain: Callable[[W, str], Awaitable[None]],
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
        self._draining: set[str] = set()  # conversations a loop of this process is draining
        self._after_drain: set[str] = set()  # hinted while being drained here: claim again after

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
        self._tasks.append(asyncio.create_task(self._tick()))

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
        search = True  # at start-up, look for what is already waiting
        while not self._stopping:
            wake.clear()
            hinted = self._hints.popleft() if self._hints else None
            if hinted is None and not search:
                await self._wait(index, wake)
                search = True  # woken without a hint, or the poll timer: look
                continue
            if hinted is not None and hinted in self._draining:
                self._after_drain.add(hinted)  # our own drain holds it: claimed when it ends
                continue
            try:
                claimed = await self._claim(owner, hinted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - database hiccup: back off and retry
                log.warning("%s claim failed: %s", self.name, type(exc).__name__)
                await asyncio.sleep(self._poll)
                continue
            if hinted is not None and hinted in self._draining and (
                    claimed is None or claimed.conversation_id != hinted):
                self._after_drain.add(hinted)  # a drain here began while we claimed: after it ends
            if claimed is None:
                if self._hints:
                    continue  # more hints queued: try them before sleeping
                search = False if hinted is not None else search
                if hinted is None:
                    await self._wait(index, wake)
                continue
            if self._hints or hinted is None:
                self.hint(None)  # more queued work, or a backlog found by searching: wake a sibling
            conv_id = claimed.conversation_id
            self._draining.add(conv_id)
            try:
                await self._drain(claimed, owner)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The lease expires and the work is retried; never log message content.
                log.exception("%s failed on a conversation; it will be retried", self.name)
                await asyncio.sleep(self._poll)
            finally:
                self._draining.discard(conv_id)
            if conv_id in self._after_drain:
                self._after_drain.discard(conv_id)
                self._hints.appendleft(conv_id)
            search = hinted is None  # found by searching: a backlog, search on

    async def _tick(self) -> None:
        """Every poll interval, wake one idle loop to search: one search per interval for the
        whole pool, whichever loops are busy (a dozen idle loops each searching every second
        cost more than the work they find). A search that finds work wakes a sibling, so a
        backlog is still taken by every loop."""
        while True:
            await asyncio.sleep(self._poll)
            self.hint(None)

    async def _wait(self, index: int, wake: asyncio.Event) -> None:
        """Idle until a hint or the pool's tick wakes this loop (ten poll intervals at most: a
        safety net)."""
        self._idle.append(index)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), self._poll * 10)
        with contextlib.suppress(ValueError):
            self._idle.remove(index)
