"""Folds the dashboard's cells (migration 0017) on a timer: every change to a rollup row adds
rows to its cells (writers only insert, so they never wait on one another), and this loop folds
each cell's rows into one, so the dashboard's month reads a few thousand rows. Runs with the
hub's worker loops (`HubRuntime.start_workers`); several hub processes may run it at once (the
fold takes an advisory lock). PostgreSQL only: on SQLite the dashboard reads the source tables."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from handoff.adapters.sql.database import Database
from handoff.adapters.sql.metrics_rollups import compact
from handoff.adapters.tasks import cancel_and_wait, run_every

log = logging.getLogger(__name__)


class MetricsCompactor:
    """The fold loop; `tick()` is one pass (tests and the benchmark call it directly)."""

    def __init__(self, db: Database, interval: float) -> None:
        self.db = db
        self.interval = interval
        self._task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        """Run `tick` every `interval` seconds until `stop` (nothing to do off PostgreSQL)."""
        if self.db.dialect == "postgresql":
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop."""
        await cancel_and_wait([self._task])

    async def _loop(self) -> None:
        # The next pass retries; the cells stay exact meanwhile (only more rows to read).
        await run_every(self.interval, self.tick,
                        lambda exc: log.warning("metrics cells fold failed: %s", type(exc).__name__))

    async def tick(self) -> int:
        """Fold every cell with new rows; returns how many rows were folded."""
        async with self.db.session() as session:
            folded = await compact(session)
            await session.commit()
        return folded
