"""Engine and transactions. Nothing connects until `Database.connect()` is called."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def utcnow() -> datetime:
    """Timezone-aware now in UTC (all timestamps are stored in UTC)."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored value is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_utc(moment: datetime) -> datetime:
    """A bound or value on its way to the database, in UTC (naive = already UTC). SQLite stores
    datetimes as naive UTC text and drops an offset when binding, so a value in another zone
    (e.g. a clinic midnight) would be compared as wall-clock text, hours off."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class Database:
    """Owns the async engine and hands out sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def connect(self) -> None:
        """Create the engine (lazy: connections open on first use)."""
        if self.dialect == "sqlite":
            # WAL lets readers (history, health) run while the pipeline writes; busy_timeout
            # makes concurrent writers in this one process wait instead of failing.
            # One connection: SQLite allows one writer at a time anyway, and queueing in
            # asyncio is far cheaper than several connections sleeping in SQLite's busy
            # handler (which backs off in growing steps and caused 0.5 s latency spikes).
            engine = create_async_engine(
                self.url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0, pool_timeout=60
            )

            @event.listens_for(engine.sync_engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()
                # Take over transaction control from the driver so BEGIN IMMEDIATE can be used.
                dbapi_conn.isolation_level = None

            @event.listens_for(engine.sync_engine, "begin")
            def _sqlite_begin_immediate(conn):  # type: ignore[no-untyped-def]
                # A deferred transaction that later writes can fail with "database is locked"
                # without waiting (SQLite's deadlock avoidance); IMMEDIATE takes the write
                # lock up front and so queues behind busy_timeout instead.
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        else:
            # No pre-ping: with asyncpg it costs a BEGIN / ";" / ROLLBACK round trip per
            # transaction (half of all statements in the ingest bench). A connection found dead
            # fails its one transaction, and SQLAlchemy then drops every pooled connection made
            # before that moment (a disconnect invalidates the pool), so after a restart or an
            # outage one transaction per process fails and is retried: workers claim again,
            # webhooks answer 5xx and the provider retries, the widget resends what was not acked.
            engine = create_async_engine(self.url, pool_size=20, max_overflow=10)
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @property
    def engine(self) -> AsyncEngine:
        """The engine; `connect()` must have been called."""
        if self._engine is None:
            raise RuntimeError("Database.connect() was not called")
        return self._engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        if self._sessions is None:
            raise RuntimeError("Database.connect() was not called")
        async with self._sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        """Round-trip to the database (raises when it is unreachable)."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Dispose of the pool."""
        if self._engine is not None:
            await self._engine.dispose()
