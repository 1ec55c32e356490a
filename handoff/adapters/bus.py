"""Event bus: in-process by default, Redis pub/sub when REDIS_URL is set (several replicas).

Events are published only after the transaction that produced them commits. The bus carries
notifications, never the only copy of anything: a subscriber that misses an event catches up
from the database (history on reconnect, workers polling on a timer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, NoReturn, Protocol

log = logging.getLogger(__name__)


class Subscription(Protocol):
    """A stream of events for the topics subscribed to."""

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...


class Bus(Protocol):
    """Publish JSON-able events to topics; subscribe to topics."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...
    def subscribe(self, *topics: str) -> Any: ...
    async def ping(self) -> None: ...


async def follow(bus: Bus, topic: str, on_event: Callable[[dict[str, Any]], None],
                 on_error: Callable[[Exception], None]) -> NoReturn:
    """Hand every event of `topic` to `on_event` until cancelled (a worker's wake-up listener).
    A failed subscription goes to `on_error` and is retried a second later; the worker's own
    timer keeps the work moving meanwhile."""
    while True:
        try:
            async with bus.subscribe(topic) as sub:
                async for event in sub:
                    on_event(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - retried; `on_error` logs the type only
            on_error(exc)
            await asyncio.sleep(1)


class _QueueSubscription:
    def __init__(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.queue = queue

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.queue.get()


class InProcessBus:
    """Fan-out to asyncio queues in this process (the embedded default)."""

    def __init__(self, max_queue: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._max_queue = max_queue

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to close."""

    async def ping(self) -> None:
        """Always reachable."""

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Deliver to every local subscriber of `topic`; a full (stuck) subscriber is skipped."""
        for queue in list(self._subscribers.get(topic, ())):
            try:
                queue.put_nowait({"topic": topic, **event})
            except asyncio.QueueFull:
                log.warning("bus subscriber queue full; dropping notification on %s", topic.split(":")[0])

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[_QueueSubscription]:
        """Subscribe for the duration of the `async with` block."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._max_queue)
        for topic in topics:
            self._subscribers[topic].add(queue)
        try:
            yield _QueueSubscription(queue)
        finally:
            for topic in topics:
                self._subscribers[topic].discard(queue)
                if not self._subscribers[topic]:
                    del self._subscribers[topic]


class _RedisSubscription:
    def __init__(self, pubsub: Any) -> None:
        self.pubsub = pubsub

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for item in self.pubsub.listen():
            if item.get("type") != "message":
                continue
            try:
                event = json.loads(item["data"])
            except (TypeError, ValueError):
                continue
            topic = item["channel"]
            yield {"topic": topic.decode() if isinstance(topic, bytes) else topic, **event}


class RedisBus:
    """Redis pub/sub, so events reach WebSockets and workers on every hub replica."""

    def __init__(self, url: str, prefix: str = "atende:") -> None:
        self.url = url
        self.prefix = prefix
        self._redis: Any = None

    async def start(self) -> None:
        """Create the client (connections open lazily)."""
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self.url, decode_responses=True)

    async def close(self) -> None:
        """Close the client."""
        if self._redis is not None:
            await self._redis.aclose()

    async def ping(self) -> None:
        """Round-trip to Redis."""
        await self._redis.ping()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Publish to every replica; failures are logged (the database stays the truth)."""
        try:
            await self._redis.publish(self.prefix + topic, json.dumps(event, default=str))
        except Exception as exc:  # noqa: BLE001 - notification only; workers also poll
            log.warning("redis publish failed: %s", type(exc).__name__)

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[Any]:
        """Subscribe for the duration of the `async with` block."""
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(*(self.prefix + t for t in topics))
        try:
            yield _PrefixStripping(_RedisSubscription(pubsub), self.prefix)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
                await pubsub.aclose()


class _PrefixStripping:
    def __init__(self, inner: _RedisSubscription, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for event in self.inner:
            event["topic"] = event["topic"].removeprefix(self.prefix)
            yield event


def make_bus(redis_url: str | None) -> InProcessBus | RedisBus:
    """Redis bus when configured, else the in-process one."""
    return RedisBus(redis_url) if redis_url else InProcessBus()
