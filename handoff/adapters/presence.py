"""Live staff connections per agent: in this process, or in Redis across hub replicas.

An agent may have several inbox tabs open, on several replicas. Each open staff WebSocket is
one member of the agent's set; with Redis the member's score is its expiry time, refreshed
by the connection while it lives, so connections of a replica that died stop counting after
`ttl` seconds instead of keeping the agent "online" forever.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Protocol


class ConnectionCounter(Protocol):
    """Counts an agent's open staff connections."""

    ttl: float

    async def add(self, agent_id: int, conn_id: str) -> int: ...
    async def refresh(self, agent_id: int, conn_id: str) -> None: ...
    async def remove(self, agent_id: int, conn_id: str) -> int: ...
    async def count(self, agent_id: int) -> int: ...
    async def close(self) -> None: ...


class InProcessConnections:
    """Connections of this process only (the single-process SQLite mode)."""

    def __init__(self, ttl: float = 45.0) -> None:
        self.ttl = ttl
        self._conns: dict[int, set[str]] = defaultdict(set)

    async def add(self, agent_id: int, conn_id: str) -> int:
        """Register a connection; returns the agent's count."""
        self._conns[agent_id].add(conn_id)
        return len(self._conns[agent_id])

    async def refresh(self, agent_id: int, conn_id: str) -> None:
        """Nothing expires in process."""

    async def remove(self, agent_id: int, conn_id: str) -> int:
        """Forget a connection; returns the agent's remaining count."""
        conns = self._conns.get(agent_id)
        if conns is None:
            return 0
        conns.discard(conn_id)
        if not conns:
            del self._conns[agent_id]
            return 0
        return len(conns)

    async def count(self, agent_id: int) -> int:
        """Open connections of the agent."""
        return len(self._conns.get(agent_id, ()))

    async def close(self) -> None:
        """Nothing to close."""


class RedisConnections:
    """Connections of every replica: a sorted set per agent, member = connection, score = expiry."""

    def __init__(self, url: str, ttl: float = 45.0, prefix: str = "atende:presence:") -> None:
        import redis.asyncio as aioredis

        self.ttl = ttl
        self.prefix = prefix
        self._redis: Any = aioredis.from_url(url, decode_responses=True)

    def _key(self, agent_id: int) -> str:
        return f"{self.prefix}{agent_id}"

    async def add(self, agent_id: int, conn_id: str) -> int:
        """Register a connection; returns the agent's live count."""
        key, now = self._key(agent_id), time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {conn_id: now + self.ttl})
            pipe.zcard(key)
            pipe.expire(key, int(self.ttl * 4))
            result = await pipe.execute()
        return int(result[2])

    async def refresh(self, agent_id: int, conn_id: str) -> None:
        """Push the connection's expiry forward (called well within `ttl`)."""
        key = self._key(agent_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {conn_id: time.time() + self.ttl})
            pipe.expire(key, int(self.ttl * 4))
            await pipe.execute()

    async def remove(self, agent_id: int, conn_id: str) -> int:
        """Forget a connection; returns the agent's remaining live count."""
        key, now = self._key(agent_id), time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, conn_id)
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zcard(key)
            result = await pipe.execute()
        return int(result[2])

    async def count(self, agent_id: int) -> int:
        """Live connections of the agent on every replica."""
        return int(await self._redis.zcount(self._key(agent_id), time.time(), "+inf"))

    async def close(self) -> None:
        """Close the client."""
        await self._redis.aclose()


def make_connections(redis_url: str | None, namespace: str = "") -> InProcessConnections | RedisConnections:
    """Redis-backed when configured, else in process. `namespace` separates deployments
    (e.g. several databases) sharing one Redis."""
    if not redis_url:
        return InProcessConnections()
    return RedisConnections(redis_url, prefix=f"atende:presence:{namespace + ':' if namespace else ''}")
