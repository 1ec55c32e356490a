"""The Redis bus on a real Redis: one subscriber connection per process whatever the number of
sockets, events from another replica reach every local subscriber, bursts of publishes are not
refused, and a dropped subscriber connection comes back with its topics."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from handoff.adapters.bus import RedisBus
from tests.conftest import REDIS_URL
from tests.support.wait import eventually


@pytest.fixture
async def buses() -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    """Two buses with a prefix of their own, as two hub replicas would hold them."""
    prefix = f"bus-test-{uuid.uuid4().hex[:8]}:"
    one, two = RedisBus(REDIS_URL, prefix=prefix), RedisBus(REDIS_URL, prefix=prefix)
    await one.start()
    await two.start()
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


async def _pubsub_clients(admin: Any) -> int:
    return len(await admin.client_list(_type="pubsub"))


async def _first(sub: Any) -> dict[str, Any]:
    async for event in sub:
        return dict(event)
    raise AssertionError("subscription ended")


async def test_many_subscribers_share_one_connection_and_hear_the_other_replica(
        buses: tuple[RedisBus, RedisBus]) -> None:
    local, other = buses
    admin = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        await other.ping()
        before = await _pubsub_clients(admin)
        topics = [f"conversation:{i}" for i in range(150)]
        async with asyncio.timeout(60):
            # 300 subscriptions (two sockets per topic), as 150 widgets and their inbox watchers.
            from contextlib import AsyncExitStack
            async with AsyncExitStack() as stack:
                subs = [(t, await stack.enter_async_context(local.subscribe(t))) for t in topics for _ in (0, 1)]
                # One more subscriber connection for the whole process, not one per subscription.
                assert await _pubsub_clients(admin) - before <= 1
                waiting = [asyncio.create_task(_first(s)) for _, s in subs]
                await asyncio.gather(*(other.publish(t, {"type": "message", "n": i}) for i, t in enumerate(topics)))
                got = await asyncio.gather(*waiting)
                assert [(e["topic"], e["n"]) for e in got] == [(t, topics.index(t)) for t, _ in subs]
            # Leaving unsubscribes at Redis once the last local subscriber of a topic is gone.
            numsub = await admin.pubsub_numsub(*(local.prefix + t for t in topics[:3]))
            assert [n for _, n in numsub] == [0, 0, 0]
    finally:
        await admin.aclose()


async def test_a_burst_of_publishes_waits_for_a_connection_instead_of_failing(
        buses: tuple[RedisBus, RedisBus], caplog: pytest.LogCaptureFixture) -> None:
    local, other = buses
    caplog.set_level(logging.WARNING, logger="handoff.adapters.bus")
    async with local.subscribe("burst") as sub:
        received: list[int] = []

        async def collect() -> None:
            async for event in sub:
                received.append(event["n"])
                if len(received) == 600:
                    return

        collecting = asyncio.create_task(collect())
        # 600 at once against a pool of 16 connections: the old pool raised MaxConnectionsError.
        await asyncio.gather(*(other.publish("burst", {"n": n}) for n in range(600)))
        await asyncio.wait_for(collecting, 30)
    assert sorted(received) == list(range(600))
    assert not [r for r in caplog.records if "publish failed" in r.getMessage()]


async def test_a_killed_subscriber_connection_comes_back_with_its_topics(buses: tuple[RedisBus, RedisBus]) -> None:
    local, other = buses
    admin = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        async with local.subscribe("survivor") as sub:
            events: list[dict[str, Any]] = []

            async def collect() -> None:
                async for event in sub:
                    events.append(event)

            collecting = asyncio.create_task(collect())
            await other.publish("survivor", {"n": 1})
            await eventually(lambda: len(events) == 1, timeout=10, what="the first event")
            # Drop every subscriber connection at Redis: ours must reconnect and re-subscribe.
            await admin.client_kill_filter(_type="pubsub")

            async def delivered_after_kill() -> bool:
                await other.publish("survivor", {"n": 2})
                await asyncio.sleep(0.2)
                return any(e["n"] == 2 for e in events)

            await eventually(delivered_after_kill, timeout=20, interval=0.3, what="an event after the kill")
            collecting.cancel()
    finally:
        await admin.aclose()
