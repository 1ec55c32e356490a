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
        self.deliver(topic, event)

    def deliver(self, topic: str, event: dict[str, Any]) -> None:
        """The fan-out itself (also used by the Redis bus's reader)."""
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


class RedisBus:
    """Redis pub/sub, so events reach WebSockets and workers on every hub replica.

    One Redis subscriber connection per process, whatever the number of local subscribers:
    each widget and staff socket subscribes to its topics here, and a single reader task fans
    Redis messages out to local queues (the in-process bus does that part). A connection per
    socket exhausted the client pool at a few dozen widgets, and publishes failed with it.
    Publishes use a small blocking pool: a burst waits for a free connection, it is not refused.
    """

    # Subscribed for the bus's whole life: redis-py's reader needs one subscription to read at
    # all, and this one carries nothing.
    _KEEPALIVE = "_bus"
    CONFIRM_SECONDS = 5.0

    def __init__(self, url: str, prefix: str = "atende:", publish_connections: int = 16) -> None:
        self.url = url
        self.prefix = prefix
        self._publish_connections = publish_connections
        self._redis: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._local = InProcessBus()
        self._counts: dict[str, int] = defaultdict(int)  # local subscribers per topic
        # Redis's confirmation per subscribed channel: a publish Redis handles before our SUBSCRIBE
        # is lost, so `subscribe` returns only once Redis has confirmed it.
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._changing = asyncio.Lock()  # SUBSCRIBE/UNSUBSCRIBE commands one at a time

    async def start(self) -> None:
        """Create the clients and the reader (connections open lazily, on first use)."""
        import redis.asyncio as aioredis

        pool = aioredis.BlockingConnectionPool.from_url(
            self.url, decode_responses=True, max_connections=self._publish_connections, timeout=5)
        self._redis = aioredis.Redis(connection_pool=pool)
        # Its own single connection (not from the publish pool), re-subscribed by redis-py on reconnect.
        self._pubsub = aioredis.Redis.from_url(self.url, decode_responses=True).pubsub()
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        """Stop the reader and close both clients."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
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
        """Subscribe for the duration of the `async with` block. Returns once Redis has confirmed
        the subscription of every topic (what is published after that reaches it); raises if
        Redis cannot be reached or does not confirm within `CONFIRM_SECONDS`."""
        async with contextlib.AsyncExitStack() as stack:
            sub = await stack.enter_async_context(self._local.subscribe(*topics))
            stack.push_async_callback(self._release, topics)
            async with self._changing:
                new = [t for t in topics if self._counts[t] == 0]
                for topic in topics:
                    self._counts[topic] += 1
                loop = asyncio.get_running_loop()
                for topic in new:
                    self._confirmed[self.prefix + topic] = loop.create_future()
                if new:
                    await self._pubsub.subscribe(*(self.prefix + t for t in new))
                waiting = [self._confirmed[self.prefix + t] for t in topics if self.prefix + t in self._confirmed]
            await asyncio.wait_for(asyncio.gather(*(asyncio.shield(f) for f in waiting)), self.CONFIRM_SECONDS)
            yield sub

    async def _release(self, topics: tuple[str, ...]) -> None:
        async with self._changing:
            gone = []
            for topic in topics:
                self._counts[topic] -= 1
                if self._counts[topic] <= 0:
                    del self._counts[topic]
                    gone.append(topic)
                    self._confirmed.pop(self.prefix + topic, None)
            if gone:
                with contextlib.suppress(Exception):  # a dead connection forgets them anyway
                    await self._pubsub.unsubscribe(*(self.prefix + t for t in gone))

    async def _read(self) -> None:
        """Fan every Redis message out to the local subscribers of its topic, forever.
        A lost connection is retried every second; redis-py re-subscribes on reconnect."""
        while True:
            try:
                if not self._pubsub.subscribed:
                    # Under the lock: the first command opens the connection, and two commands
                    # racing to open it would leave one subscription on a connection nobody reads.
                    async with self._changing:
                        if not self._pubsub.subscribed:
                            await self._pubsub.subscribe(self.prefix + self._KEEPALIVE)
                item = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: retried, the type only is logged
                log.warning("redis subscriber connection lost: %s", type(exc).__name__)
                await asyncio.sleep(1)
                continue
            if item and item.get("type") == "subscribe":
                confirmed = self._confirmed.get(str(item["channel"]))
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)
                continue
            if not item or item.get("type") != "message":
                continue
            try:
                event = json.loads(item["data"])
            except (TypeError, ValueError):
                continue
            self._local.deliver(str(item["channel"]).removeprefix(self.prefix), event)


def make_bus(redis_url: str | None) -> InProcessBus | RedisBus:
    """Redis bus when configured, else the in-process one."""
    return RedisBus(redis_url) if redis_url else InProcessBus()
