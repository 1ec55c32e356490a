"""The lease worker pool's wake-up rules (services/workers.py) with an in-memory work list: a
hint for a conversation drained here is claimed again when that drain ends, the pool's tick
finds work that came without a hint, a backlog found by searching spreads over the loops, and a
loop woken by a hint does not search after its drain."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handoff.adapters.bus import InProcessBus
from handoff.services.unit_of_work import WORK_TOPIC
from handoff.services.workers import LeaseWorkerPool
from tests.support.wait import eventually


@dataclass(frozen=True)
class Leased:
    conversation_id: str


@dataclass
class Work:
    """Pending items per conversation, leases, and what the pool asked for."""

    pending: dict[str, int] = field(default_factory=dict)
    leased: set[str] = field(default_factory=set)
    searches: int = 0
    handled: list[str] = field(default_factory=list)
    drain_gate: asyncio.Event | None = None  # when set: drains wait for it
    after_last_read: Callable[[], Awaitable[None]] | None = None  # runs between the last read and the release
    concurrent: int = 0
    max_concurrent: int = 0

    async def claim(self, owner: str, hint: str | None) -> Leased | None:
        await asyncio.sleep(0)  # a round trip
        if hint is not None and hint not in self.leased and self.pending.get(hint):
            self.leased.add(hint)
            return Leased(hint)
        self.searches += 1
        for conv, n in self.pending.items():
            if n and conv not in self.leased:
                self.leased.add(conv)
                return Leased(conv)
        return None

    async def drain(self, claimed: Leased, owner: str) -> None:
        self.concurrent += 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            if self.drain_gate is not None:
                await self.drain_gate.wait()
            while self.pending.get(claimed.conversation_id):
                self.pending[claimed.conversation_id] -= 1
                self.handled.append(claimed.conversation_id)
                await asyncio.sleep(0)
            if self.after_last_read is not None:
                hook, self.after_last_read = self.after_last_read, None
                await hook()
        finally:
            self.concurrent -= 1
            self.leased.discard(claimed.conversation_id)  # the last read and the release: one step


async def _pool(work: Work, bus: InProcessBus, poll: float = 0.2, loops: int = 4) -> LeaseWorkerPool[Leased]:
    pool = LeaseWorkerPool("test", work.claim, work.drain, bus=bus, wake_kind="inbound", concurrency=loops,
                           poll_interval=poll)
    await pool.start()
    await asyncio.sleep(0.05)  # the listener subscribes
    return pool


async def test_a_hint_for_a_conversation_being_drained_here_is_claimed_when_that_drain_ends() -> None:
    work, bus = Work(), InProcessBus()

    async def message_lands_after_the_last_read() -> None:
        # Committed after the drain's last read, before its lease is given back: the hinted claim
        # of another loop fails on our own lease.
        work.pending["c1"] = 1
        await bus.publish(WORK_TOPIC, {"kind": "inbound", "conversation_id": "c1"})
        await asyncio.sleep(0.05)

    work.after_last_read = message_lands_after_the_last_read
    pool = await _pool(work, bus, poll=60)  # no tick within the test: only hints move work
    try:
        await eventually(lambda: work.searches >= 4, timeout=5, what="the start-up searches")
        work.pending["c1"] = 1
        await bus.publish(WORK_TOPIC, {"kind": "inbound", "conversation_id": "c1"})
        await eventually(lambda: work.handled == ["c1", "c1"], timeout=5, what="the item hinted mid-drain")
    finally:
        await pool.stop()


async def test_the_tick_finds_work_that_came_without_a_hint() -> None:
    work, bus = Work(), InProcessBus()
    pool = await _pool(work, bus, poll=0.5)  # a loop's own safety net would take 5 s
    try:
        await eventually(lambda: work.searches >= 4, timeout=5, what="the start-up searches")
        work.pending["parked"] = 1  # a retry whose time came, a lease that expired: no hint
        await eventually(lambda: work.handled == ["parked"], timeout=3, what="the unhinted item")
    finally:
        await pool.stop()


async def test_a_backlog_found_by_searching_spreads_over_the_loops() -> None:
    work, bus = Work(pending={f"c{i}": 1 for i in range(8)}), InProcessBus()
    work.drain_gate = asyncio.Event()
    pool = await _pool(work, bus, poll=0.1, loops=4)
    try:
        await eventually(lambda: work.concurrent == 4, timeout=5, what="four loops draining the backlog")
        work.drain_gate.set()
        await eventually(lambda: sorted(work.handled) == sorted(f"c{i}" for i in range(8)), timeout=5,
                         what="the whole backlog")
    finally:
        await pool.stop()
    assert work.max_concurrent == 4


async def test_hinted_work_costs_no_search() -> None:
    work, bus = Work(), InProcessBus()
    pool = await _pool(work, bus, poll=60)  # the start-up search only
    try:
        await eventually(lambda: work.searches >= 4, timeout=5, what="the start-up searches")
        before = work.searches
        for i in range(20):
            work.pending[f"h{i}"] = 1
            await bus.publish(WORK_TOPIC, {"kind": "inbound", "conversation_id": f"h{i}"})
            await eventually(lambda i=i: f"h{i}" in work.handled, timeout=5, what=f"h{i}")
        assert work.searches == before  # every item came by its hint; no loop searched after it
    finally:
        await pool.stop()
