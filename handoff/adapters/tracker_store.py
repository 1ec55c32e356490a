"""The bot's dialogue state in Rasa's SQL tracker store: deleting a conversation's events (LGPD erasure).

Rasa's `SQLTrackerStore` keeps every event of a dialogue in the table `events`, keyed by
`sender_id`. The hub talks to Rasa with the hub conversation id as the sender
(`adapters/rasa.py`, `bot/hub_channel.py`), so a conversation's dialogue state is the rows
`events.sender_id = <conversation id>`. `RASA_TRACKER_STORE_URL` is a SQLAlchemy URL of that
database (`make run`: the SQLite file `var/rasa-tracker.db`; compose: database `rasa` on the
hub's PostgreSQL); sync driver names are mapped to the async drivers the hub ships.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import bindparam, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchTableError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine

log = logging.getLogger(__name__)


def async_url(url: str) -> str:
    """The same database through the hub's async drivers (aiosqlite, asyncpg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported tracker store database: {backend}")


class TrackerStore:
    """Deletes dialogue state by sender id; a missing SQLite file or table means nothing stored."""

    def __init__(self, url: str | None) -> None:
        self.url = url

    def _sqlite_missing(self) -> bool:
        parsed = make_url(self.url or "")
        return parsed.get_backend_name() == "sqlite" and (
            not parsed.database or not Path(parsed.database).exists())

    async def delete_senders(self, sender_ids: Sequence[str], before: float | None = None) -> int:
        """Delete every event of these senders (only those with `timestamp` < `before`, a Unix
        time, when given: retention); returns how many rows went."""
        if not self.url or not sender_ids or self._sqlite_missing():
            return 0
        engine = create_async_engine(async_url(self.url))
        try:
            async with engine.begin() as conn:
                sql = "DELETE FROM events WHERE sender_id IN :ids"
                params: dict[str, object] = {"ids": list(sender_ids)}
                if before is not None:
                    sql += " AND timestamp < :before"
                    params["before"] = before
                stmt = text(sql).bindparams(bindparam("ids", expanding=True))
                result = await conn.execute(stmt, params)
                return int(result.rowcount or 0)
        except (NoSuchTableError, OperationalError, ProgrammingError) as exc:
            if "events" in str(exc) and ("no such table" in str(exc) or "does not exist" in str(exc)):
                return 0  # Rasa never stored a dialogue here
            raise
        finally:
            await engine.dispose()
